"""Recurrent summarizers: PyTorch cell equations (NumPy oracle), carried state, masks, init."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpcc.networks.recurrent import Summarizer, lstm_layer, scan_cells, zero_carry
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


@pytest.mark.parametrize("masked", [False, True])
def test_lstm_hand_written_backward_equals_autodiff(masked):
    """`lstm_layer`'s custom VJP against JAX differentiating the plain cell scan (same loss, same inputs)."""
    T, B, H = 13, 3, 8
    keys = jax.random.split(jax.random.PRNGKey(3), 5)
    xw = jax.random.normal(keys[0], (T, B, 4 * H))
    w_hh = jax.random.uniform(keys[1], (H, 4 * H), minval=-0.4, maxval=0.4)
    b_hh = jax.random.uniform(keys[2], (4 * H,), minval=-0.4, maxval=0.4)
    state = (jax.random.normal(keys[3], (B, H)), jax.random.normal(keys[4], (B, H)))
    lengths = jnp.array([T, 5, 1])
    mask = (jnp.arange(T)[:, None] < lengths[None]).astype(jnp.float32) if masked else None

    def loss(layer, xw, w_hh, b_hh, state):
        out, (h, c) = layer(xw, w_hh, b_hh, state)
        return jnp.sum(jnp.sin(3.0 * out)) + jnp.sum(h * c) + jnp.sum(c**2)

    plain = lambda *a: scan_cells("lstm", *a, mask)  # noqa: E731
    fast = lambda *a: lstm_layer(*a, mask)  # noqa: E731
    np.testing.assert_allclose(loss(fast, xw, w_hh, b_hh, state), loss(plain, xw, w_hh, b_hh, state), rtol=1e-5)
    grads_plain = jax.grad(functools.partial(loss, plain), argnums=(0, 1, 2, 3))(xw, w_hh, b_hh, state)
    grads_fast = jax.grad(functools.partial(loss, fast), argnums=(0, 1, 2, 3))(xw, w_hh, b_hh, state)
    for g_fast, g_plain in zip(jax.tree.leaves(grads_fast), jax.tree.leaves(grads_plain)):
        np.testing.assert_allclose(g_fast, g_plain, rtol=1e-4, atol=1e-5)
    assert float(jnp.abs(grads_fast[1]).max()) > 0  # the recurrent weights do get a gradient
