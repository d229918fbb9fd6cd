"""Recurrent summarizers: PyTorch cell equations (NumPy oracle), carried state, masks, init."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpcc.networks.recurrent import Summarizer, zero_carry
from recurrent_oracle import numpy_rnn

TYPES = ["lstm", "gru", "rnn"]


@pytest.mark.parametrize("recurrent_type", TYPES)
def test_matches_numpy_oracle(recurrent_type):
    net = Summarizer(hidden_dim=5, num_layers=2, recurrent_type=recurrent_type)
    obs = np.random.default_rng(0).normal(size=(3, 7, 4)).astype(np.float32)
    params = net.init(jax.random.PRNGKey(1), obs)
    summary, _ = jax.jit(net.apply)(params, obs)
    np.testing.assert_allclose(summary, numpy_rnn(params, obs, recurrent_type, 2), atol=1e-5)


@pytest.mark.parametrize("recurrent_type", TYPES)
def test_step_by_step_equals_whole_sequence(recurrent_type):
    net = Summarizer(hidden_dim=6, num_layers=2, recurrent_type=recurrent_type)
    obs = np.random.default_rng(2).normal(size=(9, 3)).astype(np.float32)
    params = net.init(jax.random.PRNGKey(0), obs[None])
    whole, whole_carry = net.apply(params, obs)  # unbatched: [T, O]
    carry = zero_carry(recurrent_type, 2, 6)
    step = jax.jit(lambda c, o: net.apply(params, o[None], c))
    steps = []
    for o in obs:
        out, carry = step(carry, o)
        steps.append(out[0])
    np.testing.assert_allclose(np.stack(steps), whole, atol=1e-6)
    for a, b in zip(carry, whole_carry):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_masked_steps_leave_the_carry_unchanged():
    net = Summarizer(hidden_dim=4, num_layers=2)
    rng = np.random.default_rng(3)
    obs = rng.normal(size=(2, 6, 3)).astype(np.float32)
    params = net.init(jax.random.PRNGKey(0), obs)
    mask = np.array([[0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 0, 1]], np.float32)  # left padding, as burn-in
    _, masked = net.apply(params, obs, None, mask)
    _, first = net.apply(params, obs[:1, 2:])
    _, second = net.apply(params, obs[1:, 5:])
    for m, a, b in zip(masked, first, second):
        np.testing.assert_allclose(m[:, 0], a[:, 0], atol=1e-6)
        np.testing.assert_allclose(m[:, 1], b[:, 0], atol=1e-6)


def test_pytorch_initialisation_range_and_shapes():
    net = Summarizer()  # the reference's 2 x 256 LSTM
    params = net.init(jax.random.PRNGKey(0), jnp.zeros((1, 1, 3)))["params"]
    assert params["weight_ih_l0"].shape == (3, 1024) and params["weight_ih_l1"].shape == (256, 1024)
    for leaf in jax.tree_util.tree_leaves(params):
        assert float(jnp.max(jnp.abs(leaf))) <= 1 / 16
        assert float(jnp.std(leaf)) > 0.03  # spread over the interval, U(-1/16, 1/16) has std 0.036


def test_unknown_recurrent_type_raises():
    with pytest.raises(ValueError, match="lstm"):
        Summarizer(recurrent_type="transformer").init(jax.random.PRNGKey(0), jnp.zeros((1, 1, 2)))
