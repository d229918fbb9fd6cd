"""Agent updates: update_many equals repeated update, determinism, targets, policy delay."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpcc.types import Batch

O, A, B, K = 3, 1, 16, 4


def random_batches(k, seed=0):
    rng = np.random.default_rng(seed)
    shape = (k, B)
    return Batch(
        obs=rng.normal(size=shape + (O,)).astype(np.float32),
        action=rng.uniform(-1, 1, size=shape + (A,)).astype(np.float32),
        reward=rng.normal(size=shape).astype(np.float32),
        next_obs=rng.normal(size=shape + (O,)).astype(np.float32),
        done=(rng.uniform(size=shape) < 0.1).astype(np.float32),
    )



def _agent(algo):
    from jaxpcc.agents import ALGOS

    return ALGOS[algo](O, A, (32, 32))


def leaves_equal(a, b):
    return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


@pytest.mark.parametrize("algo", ["ddpg", "td3", "sac"])
def test_update_many_equals_repeated_update(algo):
    agent = _agent(algo)
    batches = random_batches(K)
    state_a = agent.init(jax.random.PRNGKey(0))
    state_b = agent.init(jax.random.PRNGKey(0))
    per_step = []
    for i in range(K):
        state_a, m = agent.update(state_a, jax.tree.map(lambda x: x[i], batches))
        per_step.append(m)
    state_b, stacked = agent.update_many(state_b, batches)
    for x, y in zip(jax.tree.leaves(state_a), jax.tree.leaves(state_b)):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
    for key in stacked:
        np.testing.assert_allclose([m[key] for m in per_step], stacked[key], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("algo", ["ddpg", "td3", "sac"])
def test_same_seed_gives_bit_identical_metrics(algo):
    agent = _agent(algo)
    runs = []
    for _ in range(2):
        state = agent.init(jax.random.PRNGKey(3))
        state, metrics = agent.update_many(state, random_batches(K, seed=1))
        runs.append((state, metrics))
    assert leaves_equal(runs[0][0], runs[1][0])
    assert leaves_equal(runs[0][1], runs[1][1])


@pytest.mark.parametrize("algo", ["ddpg", "sac"])
def test_one_update_moves_online_params_and_targets_by_tau(algo):
    agent = _agent(algo)
    state = agent.init(jax.random.PRNGKey(0))
    before_critic = jax.tree.map(np.asarray, state.critic)
    before_target = jax.tree.map(np.asarray, state.target_critic)
    new, _ = agent.update(state, jax.tree.map(lambda x: x[0], random_batches(1)))
    tau = 1.0 - agent.config.polyak
    assert not leaves_equal(before_critic, new.critic)
    for old_t, online, new_t in zip(jax.tree.leaves(before_target), jax.tree.leaves(new.critic), jax.tree.leaves(new.target_critic)):
        np.testing.assert_allclose(new_t, old_t + tau * (np.asarray(online) - old_t), rtol=1e-5, atol=1e-7)


def test_td3_actor_and_targets_move_only_every_second_update():
    agent = _agent("td3")
    state = agent.init(jax.random.PRNGKey(0))
    batches = random_batches(2)
    actor0, target0 = jax.tree.map(np.asarray, state.actor), jax.tree.map(np.asarray, state.target_critic)
    state, m1 = agent.update(state, jax.tree.map(lambda x: x[0], batches))
    assert leaves_equal(actor0, state.actor) and leaves_equal(target0, state.target_critic)
    assert float(m1["actor/q1_value"]) == 0.0
    state, m2 = agent.update(state, jax.tree.map(lambda x: x[1], batches))
    assert not leaves_equal(actor0, state.actor) and not leaves_equal(target0, state.target_critic)
    assert float(m2["actor/q1_value"]) != 0.0


@pytest.mark.parametrize("first, block", [(0, 4), (1, 4), (0, 3)])
def test_td3_blocks_in_periods_or_not_equal_repeated_updates(first, block):
    """Aligned whole periods run without the per-step branch; misaligned or partial blocks with it."""
    agent = _agent("td3")
    batches = random_batches(first + block)
    state_a = agent.init(jax.random.PRNGKey(0))
    state_b = agent.init(jax.random.PRNGKey(0))
    per_step = []
    for i in range(first + block):
        state_a, m = agent.update(state_a, jax.tree.map(lambda x: x[i], batches))
        per_step.append(m)
    for i in range(first):
        state_b, _ = agent.update(state_b, jax.tree.map(lambda x: x[i], batches))
    block_batches = jax.tree.map(lambda x: x[first:], batches)
    assert agent.update_many.aligned(state_b, block_batches) == (first % 2 == 0 and block % 2 == 0)
    state_b, stacked = agent.update_many(state_b, block_batches)
    for x, y in zip(jax.tree.leaves(state_a), jax.tree.leaves(state_b)):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
    for key in stacked:
        np.testing.assert_allclose([m[key] for m in per_step[first:]], stacked[key], rtol=1e-5, atol=1e-6)


def test_td3_in_periods_is_the_scanned_program_without_branches():
    agent = _agent("td3")
    state, batches = agent.init(jax.random.PRNGKey(0)), random_batches(4)
    in_periods = agent.update_many.in_periods.lower(state, batches).as_text()
    scanned = agent.update_many.scanned.lower(state, batches).as_text()
    assert "stablehlo.case" not in in_periods and "stablehlo.case" in scanned


def test_sac_fixed_alpha_stays_fixed():
    from jaxpcc.agents import sac

    agent = sac.make_agent(O, A, (32, 32), alpha=0.2, autotune_alpha=False)
    state = agent.init(jax.random.PRNGKey(0))
    state, metrics = agent.update_many(state, random_batches(3))
    np.testing.assert_allclose(np.exp(state.log_alpha), 0.2, rtol=1e-6)
    np.testing.assert_allclose(metrics["alpha/value"], 0.2, rtol=1e-6)


def test_sac_logs_the_temperature_after_its_step():
    agent = _agent("sac")
    state = agent.init(jax.random.PRNGKey(0))
    state, metrics = agent.update(state, jax.tree.map(lambda a: a[0], random_batches(1)))
    assert float(metrics["alpha/value"]) != 1.0  # the initial alpha
    np.testing.assert_allclose(metrics["alpha/value"], np.exp(state.log_alpha), rtol=1e-6)


@pytest.mark.parametrize("algo", ["ddpg", "td3", "sac"])
def test_actions_lie_in_the_unit_box_and_deterministic_acting_ignores_key(algo):
    agent = _agent(algo)
    state = agent.init(jax.random.PRNGKey(0))
    obs = jnp.asarray(np.random.default_rng(0).normal(size=(64, O)) * 10, jnp.float32)
    noisy = agent.act(state, obs, jax.random.PRNGKey(1), deterministic=False)
    assert noisy.shape == (64, A) and float(jnp.max(jnp.abs(noisy))) <= 1.0
    d1 = agent.act(state, obs, jax.random.PRNGKey(1), deterministic=True)
    d2 = agent.act(state, obs, jax.random.PRNGKey(2), deterministic=True)
    np.testing.assert_array_equal(d1, d2)


def test_invalid_hyper_parameters_fail_at_construction():
    from jaxpcc.agents import sac, td3

    with pytest.raises(ValueError, match="polyak"):
        sac.make_agent(O, A, (8,), polyak=1.5)
    with pytest.raises(ValueError, match="policy_delay"):
        td3.make_agent(O, A, (8,), policy_delay=0)
