"""Recurrent summarizers: PyTorch cell equations (NumPy oracle), carried state, masks, init."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpcc.networks.lstm_kernel import lstm_stack, lstm_summaries, stacked_lstm_layers
from jaxpcc.networks.recurrent import Summarizer, scan_cells, zero_carry
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
    params, apply = jax.jit(net.init)(jax.random.PRNGKey(0), obs), jax.jit(net.apply)  # one program a call, not one an op
    mask = np.array([[0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 0, 1]], np.float32)  # left padding, as burn-in
    _, masked = apply(params, obs, None, mask)
    _, first = apply(params, obs[:1, 2:])
    _, second = apply(params, obs[1:, 5:])
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


def plain_lstm_stack(layers, x, carry, mask):
    """`lstm_stack` from `scan_cells`, member by member and layer by layer, for JAX to differentiate."""
    outs, finals = [], []
    for e in range(x.shape[0]):
        inputs, member_finals = x[e], []
        for k, (w_ih, w_hh, b) in enumerate(layers):
            state = (carry[0][k, e], carry[1][k, e])
            inputs, state = scan_cells("lstm", inputs @ w_ih[e], w_hh[e], b[e], state, mask)
            member_finals.append(state)
        outs.append(inputs)
        finals.append(member_finals)
    final = tuple(jnp.stack([jnp.stack([finals[e][k][i] for e in range(x.shape[0])]) for k in range(len(layers))]) for i in range(2))
    return jnp.stack(outs), final


@pytest.mark.parametrize("masked", [False, True])
def test_lstm_hand_written_backward_equals_autodiff(masked):
    """`lstm_stack`'s custom VJP (2 members, 2 layers) against JAX differentiating the plain cell scans."""
    E, T, B, I, H = 2, 13, 3, 4, 8
    keys = iter(jax.random.split(jax.random.PRNGKey(3), 12))
    u = lambda *shape: jax.random.uniform(next(keys), shape, minval=-0.4, maxval=0.4)  # noqa: E731
    layers = [(u(E, I, 4 * H), u(E, H, 4 * H), u(E, 4 * H)), (u(E, H, 4 * H), u(E, H, 4 * H), u(E, 4 * H))]
    x = jax.random.normal(next(keys), (E, T, B, I))
    carry = (jax.random.normal(next(keys), (2, E, B, H)), jax.random.normal(next(keys), (2, E, B, H)))
    lengths = jnp.array([T, 5, 1])
    mask = (jnp.arange(T)[:, None] < lengths[None]).astype(jnp.float32) if masked else None

    def loss(stack, layers, x, carry):
        out, (h, c) = stack(layers, x, carry, mask)
        return jnp.sum(jnp.sin(3.0 * out)) + jnp.sum(h * c) + jnp.sum(c**2)

    # Each side is one jitted program (run eagerly, every scan and op would compile on its own).
    args = (layers, x, carry)
    value_and_grads = lambda stack: jax.jit(jax.value_and_grad(functools.partial(loss, stack), argnums=(0, 1, 2)))(*args)  # noqa: E731
    loss_fast, grads_fast = value_and_grads(lstm_stack)
    loss_plain, grads_plain = value_and_grads(plain_lstm_stack)
    np.testing.assert_allclose(loss_fast, loss_plain, rtol=1e-5)
    for g_fast, g_plain in zip(jax.tree.leaves(grads_fast), jax.tree.leaves(grads_plain)):
        np.testing.assert_allclose(g_fast, g_plain, rtol=1e-4, atol=1e-5)
    assert float(jnp.abs(grads_fast[0][0][1]).max()) > 0  # the recurrent weights do get a gradient


def test_stacked_summaries_equal_each_member_alone():
    """`lstm_summaries` over stacked params equals each member's Summarizer, with a carry and a mask."""
    net = Summarizer(hidden_dim=6, num_layers=2)
    rng = np.random.default_rng(4)
    obs = rng.normal(size=(3, 7, 2)).astype(np.float32)
    mask = (np.arange(7)[None] >= np.array([[0], [2], [6]])).astype(np.float32)
    # Every call below is one jitted program (run eagerly, every scan and op would compile on its own).
    init, apply, plain_stack = jax.jit(net.init), jax.jit(net.apply), jax.jit(plain_lstm_stack)
    members = [init(jax.random.PRNGKey(k), obs) for k in range(3)]
    stacked = jax.tree.map(lambda *a: jnp.stack(a), *members)
    carry = tuple(jnp.asarray(rng.normal(size=(2, 3, 3, 6)), jnp.float32) for _ in range(2))  # [L, E, B, H]
    out, final = jax.jit(lstm_summaries, static_argnums=1)(stacked, 2, obs, carry, mask)
    for e, params in enumerate(members):
        alone, alone_final = apply(params, obs, tuple(part[:, e] for part in carry), mask)
        np.testing.assert_allclose(out[e], alone, atol=1e-6)
        for a, b in zip(final, alone_final):
            np.testing.assert_allclose(a[:, e], b, atol=1e-6)
        plain, _ = plain_stack(
            stacked_lstm_layers(jax.tree.map(lambda a: a[None], params), 2),
            jnp.moveaxis(obs, 1, 0)[None], tuple(part[:, e:e + 1] for part in carry), jnp.moveaxis(mask, 1, 0),
        )
        np.testing.assert_allclose(out[e], jnp.moveaxis(plain[0], 0, 1), atol=1e-5)
