"""The fused LSTM kernel: E stacked LSTM summarizers ("members") with a hand-written backward pass.

`networks.recurrent` chooses it for LSTM summarizers; nothing else needs to call it. It computes
PyTorch's LSTM (gate order i, f, g, o; both biases) on parameters named as `Summarizer`'s.
"""

from __future__ import annotations

from typing import Optional

import jax
import jax.numpy as jnp

# A carry is (h, c), each [num_layers, *batch, hidden].
Carry = tuple[jax.Array, ...]


# ---------------------------------------------------------------------------------------------
# The LSTM: E stacked summarizers ("members") with a hand-written backward pass.
#
# Layout: member-major, [E, T, B, .]. Each member's input projection and weight gradients are then
# plain batched matmuls over all T*B rows with no transposes around them, and a time step reads or
# writes its [E, B, .] slice in place inside a `fori_loop`. Under `jax.vmap` over summarizers with
# time-major scans, XLA spent about 60 ms of a 560 ms RSAC update transposing [T, E, B, 4H] arrays.
#
# Forward step: one tanh over all four scaled gates, since sigmoid(z) = (tanh(z / 2) + 1) / 2. The
# step also writes the factors its backward step multiplies by (computed while the gates are in
# cache, not in passes over [E, T, B, 4H] later). Backward step: the pre-activation gradient and the
# recurrent matmul only; weight gradients follow the loop as one matmul over all steps per member.
# ---------------------------------------------------------------------------------------------

# (w_ih [E, I, 4H], w_hh [E, H, 4H], b [E, 4H]) for one layer of E members; b = b_ih + b_hh.
LSTMLayer = tuple[jax.Array, jax.Array, jax.Array]


def _gate_scales(hidden: int, dtype, sigmoid: float, tanh: float) -> jax.Array:
    """Per-unit factors over the LSTM's gate blocks (i, f, g, o): `sigmoid` on i, f, o and `tanh` on g."""
    block = lambda v: jnp.full((hidden,), v, dtype)  # noqa: E731
    return jnp.concatenate([block(sigmoid), block(sigmoid), block(tanh), block(sigmoid)])


def _project(x: jax.Array, w_ih: jax.Array) -> jax.Array:
    """[E, T, B, I] @ [E, I, 4H] -> [E, T, B, 4H] as one batched matmul over all T*B rows."""
    e, t, b, i = x.shape
    return jnp.einsum("eni,eig->eng", x.reshape(e, t * b, i), w_ih).reshape(e, t, b, -1)


def _read(x: jax.Array, t, axis: int) -> jax.Array:
    """x's slice at time t along `axis`, that axis dropped.

    The loops' time indices are never negative, so JAX's wrap-around of negative indices (a select
    per access, an extra scalar thunk per time step on XLA:CPU) is switched off: 4% more RSAC
    updates per second, 8 alternating rounds in one process.
    """
    return jax.lax.dynamic_index_in_dim(x, t, axis, keepdims=False, allow_negative_indices=False)


def _write(x: jax.Array, value: jax.Array, t, axis: int) -> jax.Array:
    """x with its slice at time t along `axis` replaced by `value` (in place inside a loop)."""
    return jax.lax.dynamic_update_index_in_dim(x, value, t, axis, allow_negative_indices=False)


def _step_keep(mask: Optional[jax.Array], t) -> Optional[jax.Array]:
    """[1, B, 1] booleans: which sequences step at time t (None: all)."""
    return None if mask is None else (_read(mask, t, 0) > 0)[None, :, None]


def _lstm_layer_forward(xw, w_hh, b, h0, c0, mask, with_factors: bool):
    """One layer over time for E members.

    Returns hs [E, T+1, B, H] (h0 first, then the state after each step), the backward factors
    [E, T, B, 6H] (or None) and the final (h, c). The factors per step are (gate | cell | forget):
    dL/dz_t = [dc, dc, dc, dh]_t * gate_t; dL/dc_t gains dh_t * cell_t; dL/dc_{t-1} = dL/dc_t * forget_t.
    A masked step passes its carry through: gate = cell = 0 and forget = 1.
    """
    e, steps, batch, width = xw.shape
    hidden = width // 4
    scale = _gate_scales(hidden, xw.dtype, 0.5, 1.0)
    d_scale = _gate_scales(hidden, xw.dtype, 0.25, 1.0)  # sigmoid'(z) = (1 - tanh(z/2)^2) / 4
    hs = jnp.zeros((e, steps + 1, batch, hidden), xw.dtype).at[:, 0].set(h0)
    factors = jnp.zeros((e, steps, batch, 6 * hidden), xw.dtype) if with_factors else None

    def step(t, carry):
        h, c, hs, factors = carry
        xw_t = _read(xw, t, 1)
        tz = jnp.tanh((xw_t + jnp.einsum("ebh,ehg->ebg", h, w_hh) + b[:, None]) * scale)
        t_i, t_f, t_g, t_o = jnp.split(tz, 4, axis=-1)
        c_new = (0.5 * t_f + 0.5) * c + (0.5 * t_i + 0.5) * t_g
        tanh_c = jnp.tanh(c_new)
        h_new = (0.5 * t_o + 0.5) * tanh_c
        keep = _step_keep(mask, t)
        if keep is not None:
            h_new, c_new = jnp.where(keep, h_new, h), jnp.where(keep, c_new, c)
        hs = _write(hs, h_new, t + 1, 1)
        if factors is not None:
            gate = jnp.concatenate([t_g, c, 0.5 * t_i + 0.5, tanh_c], axis=-1) * d_scale * (1.0 - tz * tz)
            cell = (0.5 * t_o + 0.5) * (1.0 - tanh_c * tanh_c)
            forget = 0.5 * t_f + 0.5
            if keep is not None:
                gate, cell, forget = jnp.where(keep, gate, 0.0), jnp.where(keep, cell, 0.0), jnp.where(keep, forget, 1.0)
            factors = _write(factors, jnp.concatenate([gate, cell, forget], -1), t, 1)
        return h_new, c_new, hs, factors

    h, c, hs, factors = jax.lax.fori_loop(0, steps, step, (h0, c0, hs, factors))
    return hs, factors, (h, c)


def _lstm_layer_backward(d_out, factors, w_hh, mask, d_h, d_c):
    """Backward loop over time carrying (dL/dh, dL/dc); returns d_z [E, T, B, 4H] and dL/d(h0, c0).

    A masked step passed h through, so dL/dh_{t-1} = dL/dz_t W^T + dL/dh_t there (its dL/dz_t is 0).
    """
    e, steps, batch, hidden = d_out.shape
    w_hh_t = jnp.swapaxes(w_hh, 1, 2)
    d_z = jnp.zeros((e, steps, batch, 4 * hidden), d_out.dtype)

    def step(i, carry):
        d_h, d_c, d_z = carry
        t = steps - 1 - i
        gate, cell, forget = jnp.split(_read(factors, t, 1), [4 * hidden, 5 * hidden], -1)
        d_h = d_h + _read(d_out, t, 1)
        d_c = d_c + d_h * cell
        d_z_t = jnp.concatenate([d_c, d_c, d_c, d_h], axis=-1) * gate
        d_h_prev = jnp.einsum("ebg,egh->ebh", d_z_t, w_hh_t)
        keep = _step_keep(mask, t)
        if keep is not None:
            d_h_prev = jnp.where(keep, d_h_prev, d_h)
        return d_h_prev, d_c * forget, _write(d_z, d_z_t, t, 1)

    d_h, d_c, d_z = jax.lax.fori_loop(0, steps, step, (d_h, d_c, d_z))
    return d_z, d_h, d_c


def _lstm_stack_forward(layers, x, carry, mask, with_factors: bool):
    h0, c0 = carry
    inputs, residuals, finals = x, [], []
    for layer, (w_ih, w_hh, b) in enumerate(layers):
        hs, factors, final = _lstm_layer_forward(_project(inputs, w_ih), w_hh, b, h0[layer], c0[layer], mask, with_factors)
        residuals.append((inputs, hs, factors))
        finals.append(final)
        inputs = hs[:, 1:]
    final_carry = tuple(jnp.stack(parts) for parts in zip(*finals))
    return (inputs, final_carry), residuals


@jax.custom_vjp
def lstm_stack(layers: list[LSTMLayer], x: jax.Array, carry: Carry, mask: Optional[jax.Array]):
    """Stacked LSTM layers for E members at once.

    Args:
      layers: one (w_ih, w_hh, b) per layer, each with a leading member axis E.
      x: [E, T, B, I] inputs (member-major, time before batch).
      carry: (h, c), each [L, E, B, H].
      mask: optional [T, B]; where 0 the step leaves the carry unchanged (burn-in padding).
    Returns:
      (top layer's states [E, T, B, H], final carry).
    """
    return _lstm_stack_forward(layers, x, carry, mask, with_factors=False)[0]


def _lstm_stack_fwd(layers, x, carry, mask):
    out, residuals = _lstm_stack_forward(layers, x, carry, mask, with_factors=True)
    return out, (layers, residuals, mask)


def _lstm_stack_bwd(saved, cotangents):
    layers, residuals, mask = saved
    d_out, (d_h_final, d_c_final) = cotangents
    grads, d_h0, d_c0 = [None] * len(layers), [None] * len(layers), [None] * len(layers)
    for layer in reversed(range(len(layers))):
        w_ih, w_hh, _ = layers[layer]
        inputs, hs, factors = residuals[layer]
        d_z, d_h0[layer], d_c0[layer] = _lstm_layer_backward(
            d_out, factors, w_hh, mask, d_h_final[layer], d_c_final[layer]
        )
        e, steps, batch, _ = d_z.shape
        rows = lambda a: a.reshape(e, steps * batch, a.shape[-1])  # noqa: E731
        d_w_hh = jnp.einsum("enh,eng->ehg", rows(hs[:, :-1]), rows(d_z))
        d_w_ih = jnp.einsum("eni,eng->eig", rows(inputs), rows(d_z))
        grads[layer] = (d_w_ih, d_w_hh, rows(d_z).sum(1))
        # The layer's input gradient: the next layer down's d_out, or x's.
        d_out = jnp.einsum("eng,egi->eni", rows(d_z), jnp.swapaxes(w_ih, 1, 2)).reshape(e, steps, batch, -1)
    d_mask = None if mask is None else jnp.zeros_like(mask)
    return grads, d_out, (jnp.stack(d_h0), jnp.stack(d_c0)), d_mask


lstm_stack.defvjp(_lstm_stack_fwd, _lstm_stack_bwd)


def stacked_lstm_layers(params: dict, num_layers: int) -> list[LSTMLayer]:
    """(w_ih, w_hh, b_ih + b_hh) per layer from Summarizer params whose leaves lead with a member axis."""
    p = params["params"]
    return [
        (p[f"weight_ih_l{k}"], p[f"weight_hh_l{k}"], p[f"bias_ih_l{k}"] + p[f"bias_hh_l{k}"])
        for k in range(num_layers)
    ]


def lstm_summaries(params: dict, num_layers: int, obs: jax.Array, carry: Optional[Carry] = None, mask=None):
    """E LSTM summarizers (params stacked on a leading member axis) over one shared observation batch.

    obs [*batch, T, O]; carry (h, c) each [L, E, *batch, H] or None (zeros); mask [*batch, T] or None.
    Returns (summaries [E, *batch, T, H], carry).
    """
    layers = stacked_lstm_layers(params, num_layers)
    members, hidden = layers[0][1].shape[0], layers[0][1].shape[1]
    batch_shape, steps = obs.shape[:-2], obs.shape[-2]
    x = jnp.moveaxis(obs.reshape(-1, steps, obs.shape[-1]), 1, 0)  # [T, B, O]
    batch = x.shape[1]
    x = jnp.broadcast_to(x[None], (members, *x.shape))
    if carry is None:  # PyTorch's `hidden=None`
        zeros = jnp.zeros((num_layers, members, batch, hidden), jnp.float32)
        carry = (zeros, zeros)
    else:
        carry = tuple(part.reshape(num_layers, members, batch, hidden) for part in carry)
    time_mask = None if mask is None else jnp.moveaxis(mask.reshape(batch, steps), 1, 0)
    out, carry = lstm_stack(layers, x, carry, time_mask)
    out = jnp.moveaxis(out, 1, 2).reshape(members, *batch_shape, steps, hidden)
    carry = tuple(part.reshape(num_layers, members, *batch_shape, hidden) for part in carry)
    return out, carry
