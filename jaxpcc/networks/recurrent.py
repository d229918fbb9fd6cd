"""Recurrent summarizers: stacked LSTM, GRU or tanh-RNN layers run over time with an explicit carry.

The reference's `Summarizer` is a PyTorch `nn.LSTM/GRU/RNN` (batch first, 2 layers, 256 units)
reading the observation sequence; its output at every step is the top layer's hidden state. This
module reproduces PyTorch's cell equations, gate order and initialisation (every weight and bias
U(-1/sqrt(hidden), 1/sqrt(hidden)), i.e. U(-1/16, 1/16) at 256 units), so weights map one to one.

Speed: the LSTM, the reference's default, runs on the fused kernel of `lstm_kernel` (E summarizers
at once, a hand-written backward pass); GRU and RNN summarizers run plainly (`scan_cells`,
differentiated by JAX) and are vmapped as an ensemble. `Summarizer` and `ensemble_summaries` choose
between the two, so callers never see the kernel or the parameters' names.
"""

from __future__ import annotations

from typing import Literal, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxpcc.networks.lstm_kernel import lstm_summaries
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


def scan_cells(recurrent_type: str, xw, w_hh, b_hh, state: Carry, mask=None) -> tuple[jax.Array, Carry]:
    """One layer over time, written plainly with `_cell` and differentiated by JAX (GRU, RNN; the LSTM's check).

    Args:
      xw: [T, *batch, G*H] input projections (time major).
      w_hh: [H, G*H]; b_hh: [G*H].
      state: this layer's carry, each [*batch, H].
      mask: optional [T, *batch]; where 0 the step leaves the carry unchanged (burn-in padding).
    Returns:
      outputs [T, *batch, H] (the hidden state after each step) and the final carry.
    """

    def step(carry, inputs):
        xw_t, m_t = inputs
        new = _cell(recurrent_type, xw_t, carry[0] @ w_hh + b_hh, carry)
        if m_t is not None:
            new = tuple(jnp.where(m_t[..., None] > 0, n, c) for n, c in zip(new, carry))
        return new, new[0]

    state, outputs = jax.lax.scan(step, state, (xw, mask))
    return outputs, state


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
        params, inputs = {}, obs.shape[-1]
        for layer in range(self.num_layers):
            params[f"weight_ih_l{layer}"] = self.param(f"weight_ih_l{layer}", init, (inputs, width))
            params[f"weight_hh_l{layer}"] = self.param(f"weight_hh_l{layer}", init, (self.hidden_dim, width))
            params[f"bias_ih_l{layer}"] = self.param(f"bias_ih_l{layer}", init, (width,))
            params[f"bias_hh_l{layer}"] = self.param(f"bias_hh_l{layer}", init, (width,))
            inputs = self.hidden_dim
        if self.recurrent_type == "lstm":  # one member of the stacked LSTM
            one = {"params": jax.tree.map(lambda a: a[None], params)}
            member_carry = None if carry is None else tuple(part[:, None] for part in carry)
            out, new_carry = lstm_summaries(one, self.num_layers, obs, member_carry, mask)
            return out[0], tuple(part[:, 0] for part in new_carry)
        if carry is None:
            carry = zero_carry(self.recurrent_type, self.num_layers, self.hidden_dim, obs.shape[:-2])
        x = jnp.moveaxis(obs, -2, 0)  # time major: [T, *batch, O]
        time_mask = None if mask is None else jnp.moveaxis(mask, -1, 0)
        finals = []
        for layer in range(self.num_layers):
            w_ih, w_hh = params[f"weight_ih_l{layer}"], params[f"weight_hh_l{layer}"]
            b_ih, b_hh = params[f"bias_ih_l{layer}"], params[f"bias_hh_l{layer}"]
            layer_state = tuple(part[layer] for part in carry)
            if self.recurrent_type == "gru":  # its candidate gate scales the hidden part (bias included) by r
                xw, step_bias = x @ w_ih + b_ih, b_hh
            else:  # both biases join the step's add: one pass less over the [T, B, G*H] projection
                xw, step_bias = x @ w_ih, b_ih + b_hh
            x, layer_state = scan_cells(self.recurrent_type, xw, w_hh, step_bias, layer_state, time_mask)
            finals.append(layer_state)
        new_carry = tuple(jnp.stack(parts) for parts in zip(*finals))
        return jnp.moveaxis(x, 0, -2), new_carry


def ensemble_summaries(
    net: Summarizer, params, obs: jax.Array, burn_in_obs: Optional[jax.Array] = None,
    burn_in_mask: Optional[jax.Array] = None,
) -> jax.Array:
    """E summarizers `net` (params stacked on a leading member axis) over one observation batch.

    obs [*batch, T, O]; a burn-in prefix, if given, sets the start state without gradient.
    Returns the summaries [E, *batch, T, H]. LSTMs run as one stacked LSTM (`lstm_kernel`:
    member-major, one batched matmul per step); GRU and RNN summarizers as a vmapped scan.
    """
    if net.recurrent_type == "lstm":
        carry = None
        if burn_in_obs is not None:
            _, carry = lstm_summaries(params, net.num_layers, burn_in_obs, None, burn_in_mask)
            carry = jax.lax.stop_gradient(carry)
        return lstm_summaries(params, net.num_layers, obs, carry)[0]

    def one(member_params):
        carry = None
        if burn_in_obs is not None:
            _, carry = net.apply(member_params, burn_in_obs, None, burn_in_mask)
            carry = jax.lax.stop_gradient(carry)
        return net.apply(member_params, obs, carry)[0]

    return jax.vmap(one)(params)
