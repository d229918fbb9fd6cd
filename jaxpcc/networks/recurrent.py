"""Recurrent summarizers: stacked LSTM, GRU or tanh-RNN layers run over time with an explicit carry.

The reference's `Summarizer` is a PyTorch `nn.LSTM/GRU/RNN` (batch first, 2 layers, 256 units)
reading the observation sequence; its output at every step is the top layer's hidden state. This
module reproduces PyTorch's cell equations, gate order and initialisation (every weight and bias
U(-1/sqrt(hidden), 1/sqrt(hidden)), i.e. U(-1/16, 1/16) at 256 units), so weights map one to one.

Speed: each layer is one `lax.scan` over time whose body holds only the recurrent matmul; the
input projection `x @ W_ih` of the whole sequence is hoisted out of the scan as one large matmul
(the cuDNN layout), and for the LSTM and RNN both biases are added once, in the step. Layers run
one after another, each over the full sequence. The LSTM layer, the reference's default, also
has a hand-written backward pass (`lstm_layer`): on CPU a scan step's cost is mostly per-op
overhead at a batch of 10 episodes, so its forward step applies one tanh to all four gates, and
its backward step computes only the pre-activation gradient and the recurrent matmul: the factors
it multiplies by are computed for all steps before the scan, and the weight gradient comes after
it as one large matmul over all steps.
"""

from __future__ import annotations

from typing import Literal, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxpcc.networks.mlp import torch_uniform

RecurrentType = Literal["lstm", "gru", "rnn"]
RECURRENT_TYPES = ("lstm", "gru", "rnn")
# Gate blocks per cell, in PyTorch's order: LSTM (i, f, g, o), GRU (r, z, n), RNN (h).
NUM_GATES = {"lstm": 4, "gru": 3, "rnn": 1}

# A carry is a tuple of [num_layers, *batch, hidden] arrays: (h, c) for an LSTM, (h,) otherwise.
Carry = tuple[jax.Array, ...]


def zero_carry(recurrent_type: str, num_layers: int, hidden_dim: int, batch_shape=()) -> Carry:
    """The zero initial state (PyTorch's `hidden=None`) for inputs with leading `batch_shape`."""
    if recurrent_type not in RECURRENT_TYPES:
        raise ValueError(f"recurrent_type must be one of {RECURRENT_TYPES}, got {recurrent_type!r}")
    h = jnp.zeros((num_layers, *batch_shape, hidden_dim), jnp.float32)
    return (h, h) if recurrent_type == "lstm" else (h,)


def _cell(recurrent_type: str, xw_t: jax.Array, hw_t: jax.Array, state: Carry) -> Carry:
    """One PyTorch cell step from the input part xw_t and the hidden part hw_t = h W_hh + b.

    Only the sums of the two parts matter for the LSTM and RNN, so their biases may sit on
    either side; the GRU needs xw_t = x W_ih + b_ih and b = b_hh.
    """
    if recurrent_type == "lstm":
        h, c = state
        i, f, g, o = jnp.split(xw_t + hw_t, 4, axis=-1)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        return jax.nn.sigmoid(o) * jnp.tanh(c), c
    if recurrent_type == "gru":
        (h,) = state
        xr, xz, xn = jnp.split(xw_t, 3, axis=-1)
        hr, hz, hn = jnp.split(hw_t, 3, axis=-1)
        r, z = jax.nn.sigmoid(xr + hr), jax.nn.sigmoid(xz + hz)
        n = jnp.tanh(xn + r * hn)
        return ((1.0 - z) * n + z * h,)
    return (jnp.tanh(xw_t + hw_t),)


def scan_layer(
    recurrent_type: str,
    xw: jax.Array,
    w_hh: jax.Array,
    b_hh: jax.Array,
    state: Carry,
    mask: Optional[jax.Array] = None,
) -> tuple[jax.Array, Carry]:
    """Runs one recurrent layer over time.

    Args:
      xw: [T, *batch, G*H] input projections (time major).
      w_hh: [H, G*H]; b_hh: [G*H].
      state: this layer's carry, each [*batch, H].
      mask: optional [T, *batch]; where 0 the step leaves the carry unchanged (burn-in padding).
    Returns:
      outputs [T, *batch, H] (the hidden state after each step) and the final carry.
    """
    if recurrent_type == "lstm":
        return lstm_layer(xw, w_hh, b_hh, state, mask)
    return scan_cells(recurrent_type, xw, w_hh, b_hh, state, mask)


def scan_cells(recurrent_type: str, xw, w_hh, b_hh, state: Carry, mask=None) -> tuple[jax.Array, Carry]:
    """`scan_layer` written plainly with `_cell` and differentiated by JAX (GRU, RNN; the LSTM's check)."""

    def step(carry, inputs):
        xw_t, m_t = inputs
        new = _cell(recurrent_type, xw_t, carry[0] @ w_hh + b_hh, carry)
        if m_t is not None:
            new = tuple(jnp.where(m_t[..., None] > 0, n, c) for n, c in zip(new, carry))
        return new, new[0]

    state, outputs = jax.lax.scan(step, state, (xw, mask))
    return outputs, state


def _gate_scales(hidden: int, dtype, sigmoid: float, tanh: float) -> jax.Array:
    """Per-unit factors over the LSTM's gate blocks (i, f, g, o): `sigmoid` on i, f, o and `tanh` on g."""
    block = lambda v: jnp.full((hidden,), v, dtype)  # noqa: E731
    return jnp.concatenate([block(sigmoid), block(sigmoid), block(tanh), block(sigmoid)])


def _lstm_forward(xw, w_hh, b_hh, state, mask):
    """The LSTM scan; also returns what the backward pass needs (all c_t and the gates' tanh).

    sigmoid(z) = (tanh(z / 2) + 1) / 2, so one tanh over the scaled pre-activation gives all four
    gates: fewer, larger element-wise ops per step than four separate activations.
    """
    scale = _gate_scales(w_hh.shape[0], xw.dtype, 0.5, 1.0)

    def step(carry, inputs):
        xw_t, m_t = inputs
        h, c = carry
        tz = jnp.tanh((xw_t + h @ w_hh + b_hh) * scale)
        t_i, t_f, t_g, t_o = jnp.split(tz, 4, axis=-1)
        c_new = (0.5 * t_f + 0.5) * c + (0.5 * t_i + 0.5) * t_g
        h_new = (0.5 * t_o + 0.5) * jnp.tanh(c_new)
        if m_t is not None:
            keep = m_t[..., None] > 0
            h_new, c_new = jnp.where(keep, h_new, h), jnp.where(keep, c_new, c)
        return (h_new, c_new), (h_new, c_new, tz)

    final, (hs, cs, tzs) = jax.lax.scan(step, state, (xw, mask))
    return final, hs, cs, tzs


@jax.custom_vjp
def lstm_layer(xw, w_hh, b_hh, state, mask=None):
    """An LSTM layer over time (as `scan_layer`), with the hand-written backward pass below."""
    final, hs, _, _ = _lstm_forward(xw, w_hh, b_hh, state, mask)
    return hs, final


def _lstm_layer_fwd(xw, w_hh, b_hh, state, mask):
    final, hs, cs, tzs = _lstm_forward(xw, w_hh, b_hh, state, mask)
    h_prev = jnp.concatenate([state[0][None], hs[:-1]])
    c_prev = jnp.concatenate([state[1][None], cs[:-1]])
    return (hs, final), (w_hh, h_prev, _backward_factors(c_prev, cs, tzs, mask), mask)


def _backward_factors(c_prev, cs, tzs, mask):
    """Everything the backward step multiplies by, computed for all steps at once, outside the scan.

    Returns (gate, cell, forget, skip): dL/dz_t = [dc, dc, dc, dh]_t * gate_t; dL/dc_t gains
    dh_t * cell_t; dL/dc_{t-1} = dL/dc_t * forget_t; a masked step (which passed its carry through)
    has gate = cell = 0, forget = 1 and skip = 1, so dL/dh_{t-1} = dL/dz_t W^T + dh_t * skip_t.
    Doing this element-wise work over [T, B, 4H] in a few large passes leaves the sequential step
    with the recurrent matmul and five small element-wise ops (it had eight, some recomputing shared terms).
    """
    hidden = cs.shape[-1]
    t_i, t_f, t_g, t_o = jnp.split(tzs, 4, axis=-1)
    tanh_c = jnp.tanh(cs)
    # d gate / d z: sigmoid'(z) = (1 - tanh(z/2)^2) / 4, tanh'(z) = 1 - tanh(z)^2.
    d_scale = _gate_scales(hidden, tzs.dtype, 0.25, 1.0)
    gate = jnp.concatenate([t_g, c_prev, 0.5 * t_i + 0.5, tanh_c], axis=-1) * d_scale * (1.0 - tzs * tzs)
    cell = (0.5 * t_o + 0.5) * (1.0 - tanh_c * tanh_c)
    forget = 0.5 * t_f + 0.5
    if mask is None:
        return gate, cell, forget, None
    keep = (mask > 0)[..., None]
    return (
        jnp.where(keep, gate, 0.0),
        jnp.where(keep, cell, 0.0),
        jnp.where(keep, forget, 1.0),
        jnp.where(keep, 0.0, 1.0).astype(cs.dtype),
    )


def _lstm_layer_bwd(residuals, cotangents):
    """Backward scan over time carrying (dL/dh, dL/dc); dW_hh and db_hh come after it in one matmul.

    Per step only the pre-activation gradient dL/dz_t and dL/dh_{t-1} = dL/dz_t W_hh^T are computed;
    JAX's own transpose of the scan would also accumulate the [H, 4H] weight gradient in every step.
    """
    w_hh, h_prev, (gate, cell, forget, skip), mask = residuals
    d_hs, (d_h_final, d_c_final) = cotangents
    w_hh_t = w_hh.T

    def step(carry, inputs):
        d_h, d_c = carry
        d_h_out, gate_t, cell_t, forget_t, skip_t = inputs
        d_h = d_h + d_h_out
        d_c = d_c + d_h * cell_t
        d_z = jnp.concatenate([d_c, d_c, d_c, d_h], axis=-1) * gate_t
        d_h_prev = d_z @ w_hh_t
        if skip_t is not None:
            d_h_prev = d_h_prev + d_h * skip_t
        return (d_h_prev, d_c * forget_t), d_z

    (d_h0, d_c0), d_z = jax.lax.scan(step, (d_h_final, d_c_final), (d_hs, gate, cell, forget, skip), reverse=True)
    d_w_hh = jnp.einsum("...i,...j->ij", h_prev, d_z)
    d_b_hh = d_z.reshape(-1, d_z.shape[-1]).sum(0)
    d_mask = None if mask is None else jnp.zeros_like(mask)
    return d_z, d_w_hh, d_b_hh, (d_h0, d_c0), d_mask


lstm_layer.defvjp(_lstm_layer_fwd, _lstm_layer_bwd)


class Summarizer(nn.Module):
    """Stacked recurrent layers over an observation sequence (the reference's `Summarizer`).

    Attributes:
      hidden_dim: units per layer (256).
      num_layers: stacked layers (2).
      recurrent_type: "lstm", "gru" or "rnn" (tanh Elman RNN).

    Call with obs [*batch, T, O] float32, an optional carry (zeros when None) and an optional mask
    [*batch, T] of steps that may change the carry. Returns (summary [*batch, T, hidden], carry).
    """

    hidden_dim: int = 256
    num_layers: int = 2
    recurrent_type: RecurrentType = "lstm"

    @nn.compact
    def __call__(
        self, obs: jax.Array, carry: Optional[Carry] = None, mask: Optional[jax.Array] = None
    ) -> tuple[jax.Array, Carry]:
        if self.recurrent_type not in RECURRENT_TYPES:
            raise ValueError(f"recurrent_type must be one of {RECURRENT_TYPES}, got {self.recurrent_type!r}")
        width = NUM_GATES[self.recurrent_type] * self.hidden_dim
        init = torch_uniform(self.hidden_dim)
        if carry is None:
            carry = zero_carry(self.recurrent_type, self.num_layers, self.hidden_dim, obs.shape[:-2])
        x = jnp.moveaxis(obs, -2, 0)  # time major: [T, *batch, O]
        time_mask = None if mask is None else jnp.moveaxis(mask, -1, 0)
        finals = []
        for layer in range(self.num_layers):
            w_ih = self.param(f"weight_ih_l{layer}", init, (x.shape[-1], width))
            w_hh = self.param(f"weight_hh_l{layer}", init, (self.hidden_dim, width))
            b_ih = self.param(f"bias_ih_l{layer}", init, (width,))
            b_hh = self.param(f"bias_hh_l{layer}", init, (width,))
            layer_state = tuple(part[layer] for part in carry)
            if self.recurrent_type == "gru":  # its candidate gate scales the hidden part (bias included) by r
                xw, step_bias = x @ w_ih + b_ih, b_hh
            else:  # both biases join the step's add: one pass less over the [T, B, G*H] projection
                xw, step_bias = x @ w_ih, b_ih + b_hh
            x, layer_state = scan_layer(self.recurrent_type, xw, w_hh, step_bias, layer_state, time_mask)
            finals.append(layer_state)
        new_carry = tuple(jnp.stack(parts) for parts in zip(*finals))
        return jnp.moveaxis(x, 0, -2), new_carry
