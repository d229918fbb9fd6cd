"""The reference-equivalence check's name mapping leaves no network parameter of an agent unchecked.

`checks/reference_equivalence.py` needs PyTorch and a reference checkout, so CI cannot run it;
what CI can check is that its mapping from jaxpcc's state to the reference's modules covers every
weight of every network (a layer added to jaxpcc and missing from the map would go uncompared).
"""

import functools

import jax
import numpy as np
import pytest

from checks import reference_equivalence as eq

NOT_NETWORKS = ("opt", "key", "step", "log_alpha", "actor_q_value")


@functools.lru_cache(maxsize=None)
def initial_state(algo: str):
    return eq.jaxpcc_agent(eq.Case(algo), eq.CHECK, alpha=1.0).init(jax.random.PRNGKey(0))


def network_elements(state) -> int:
    """Float elements in the state's networks (params and targets), optimizer state and counters excluded."""
    total = 0
    for path, leaf in jax.tree_util.tree_leaves_with_path(state):
        name = jax.tree_util.keystr(path)
        if not any(word in name.split("[")[0] for word in NOT_NETWORKS):
            total += np.size(leaf)
    return total


@pytest.mark.parametrize("algo", list(eq.PAIRINGS))
def test_every_network_weight_maps_to_a_reference_parameter(algo):
    pairing, state = eq.PAIRINGS[algo], initial_state(algo)
    mapped = eq.reference_weights(pairing, state)
    assert sum(np.size(a) for params in mapped.values() for a in params.values()) == network_elements(state)
    # the reference's layout: PyTorch keeps [out, in] weights, so the first critic layer reads obs + action
    first = mapped[pairing.critics[0]]["net.0.weight"]
    assert first.shape == (256, (50 if pairing.image else 256 if pairing.recurrent else eq.OBS_DIM) + eq.ACT_DIM)


@pytest.mark.parametrize("algo", ["rsac", "rsac_s", "td3", "csac"])
def test_recorded_gradients_map_to_the_optimizers_that_step(algo):
    # Gradients have their params' structure; the state's own params stand in for them.
    pairing, state = eq.PAIRINGS[algo], initial_state(algo)
    steps = {
        "rsac": lambda: [state.critic, state.actor, state.log_alpha],
        "rsac_s": lambda: [{"summarizer": state.summarizer, "head": state.critic}, state.actor, state.log_alpha],
        "td3": lambda: [state.critic, state.actor],
        "csac": lambda: [state.encoder, state.critic, state.actor, state.log_alpha],
    }[algo]()
    expected = {
        "rsac": {"Q1_summarizer", "Q2_summarizer", "Q1", "Q2", "actor_summarizer", "actor", "log_alpha"},
        "rsac_s": {"summarizer", "Q1", "Q2", "actor", "log_alpha"},
        "td3": {"Q1", "Q2", "actor"},
        "csac": {"cnn", "Q1", "Q2", "actor", "log_alpha"},
    }[algo]
    grads = eq.reference_gradients(pairing, steps)
    assert set(grads) == expected
    weights = eq.reference_weights(pairing, state)
    for network, params in grads.items():
        if network != "log_alpha":
            assert {k: v.shape for k, v in params.items()} == {k: v.shape for k, v in weights[network].items()}
