"""What the recurrent agents (rdpg, rtd3, rsac, rsac_s) share: summaries over sequences, acting with a carry.

How a recurrent update reuses the feed-forward losses. Every summarizer runs once per update over
the whole observation sequence o_0..o_T ([B, T+1, O]), giving summaries h_0..h_T. The losses in
`jaxpcc.losses` then run unchanged over [B, T] with the batch's mask, on *summary-level*
parameters {"head": MLP params, "summary": h}: step t reads h_t (`current`) for predictions and
h_{t+1} (`following`) for targets. A summarizer that a loss trains is run under `jax.vjp`; the
loss's gradient with respect to "summary" is pulled back through the scan once. So each summarizer
costs one forward pass (and one backward pass when trained) per update, and the actor loss reads
the critics' summaries from before the critic step, as the reference does.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable

import gin
import jax
import jax.numpy as jnp

from jaxpcc.losses.common import masked_correlation
from jaxpcc.networks.recurrent import RECURRENT_TYPES, Carry, Summarizer, ensemble_summaries, zero_carry
from jaxpcc.types import Batch, SequenceBatch


@gin.configurable("Summarizer")
@dataclasses.dataclass(frozen=True)
class SummarizerConfig:
    """The summarizer's shape (gin names `Summarizer.*`, as the reference's).

    Attributes:
      recurrent_type: "lstm" (default), "gru" or "rnn".
      num_layers: stacked recurrent layers (2).
      hidden_dim: units per layer, also the summary width the heads read (256).
    """

    recurrent_type: str = "lstm"
    num_layers: int = 2
    hidden_dim: int = 256

    def __post_init__(self):
        if self.recurrent_type not in RECURRENT_TYPES:
            raise ValueError(f"Summarizer.recurrent_type must be one of {RECURRENT_TYPES}, got {self.recurrent_type!r}")
        if self.num_layers < 1 or self.hidden_dim < 1:
            raise ValueError(f"Summarizer needs num_layers, hidden_dim >= 1, got {self.num_layers}, {self.hidden_dim}")


def summarizer_net(cfg: SummarizerConfig) -> Summarizer:
    return Summarizer(cfg.hidden_dim, cfg.num_layers, cfg.recurrent_type)


def init_summarizer(cfg: SummarizerConfig, key: jax.Array, obs_dim: int, num: int | None = None):
    """One summarizer's params, or `num` independent ones stacked on a leading ensemble axis."""
    obs = jnp.zeros((1, 1, obs_dim), jnp.float32)
    if num is None:
        return summarizer_net(cfg).init(key, obs)
    return jax.vmap(lambda k: summarizer_net(cfg).init(k, obs))(jax.random.split(key, num))


def init_head(module, key: jax.Array, summary_dim: int, action_dim: int | None = None):
    """A head on summaries: an actor (action_dim None) or a critic ensemble reading an action.

    A critic ensemble is `networks.critic_ensemble(hidden_sizes, E)`: E members, params stacked.
    """
    inputs = [jnp.zeros((1, summary_dim), jnp.float32)]
    if action_dim is not None:
        inputs.append(jnp.zeros((1, action_dim), jnp.float32))
    return module.init(key, *inputs)


def initial_carry(config) -> Carry:
    """Zero hidden state for one env (the reference's `hidden=None`); `config.summarizer` sets its shape."""
    cfg = config.summarizer
    return zero_carry(cfg.recurrent_type, cfg.num_layers, cfg.hidden_dim)


def summarize(cfg: SummarizerConfig, params, batch: SequenceBatch) -> jax.Array:
    """Summaries h_0..h_T [B, T+1, H] of batch.obs; a burn-in prefix, if any, sets the start state without gradient."""
    net = summarizer_net(cfg)
    carry = None
    if batch.burn_in_obs is not None:
        _, carry = net.apply(params, batch.burn_in_obs, None, batch.burn_in_mask)
        carry = jax.lax.stop_gradient(carry)
    return net.apply(params, batch.obs, carry)[0]


def summarize_ensemble(cfg: SummarizerConfig, params, batch: SequenceBatch) -> jax.Array:
    """E summarizers with params stacked on a leading axis, over one batch: [E, B, T+1, H].

    `networks.recurrent` chooses how they run (the fused LSTM kernel, or vmapped scans).
    """
    return ensemble_summaries(summarizer_net(cfg), params, batch.obs, batch.burn_in_obs, batch.burn_in_mask)


def summary_with_pullback(summarize_fn: Callable, params) -> tuple[jax.Array, Callable]:
    """Runs `summarize_fn(params)` once, keeping what its backward pass needs.

    Returns h [..., T+1, H] and `pullback(g)`, mapping a gradient g [..., T, H] with respect to
    `current(h)` to the gradient with respect to `params`.
    """
    h, vjp_fn = jax.vjp(summarize_fn, params)

    def pullback(g: jax.Array):
        pad = [(0, 0)] * (g.ndim - 2) + [(0, 1), (0, 0)]
        return vjp_fn(jnp.pad(g, pad))[0]

    return h, pullback


def current(h: jax.Array) -> jax.Array:
    """h_0..h_{T-1}: the summaries at which each stored action was taken."""
    return h[..., :-1, :]


def following(h: jax.Array) -> jax.Array:
    """h_1..h_T: the summaries of each step's next observation (for targets)."""
    return h[..., 1:, :]


def on_summary(head_params, summary: jax.Array) -> dict:
    """Summary-level parameters handed to a loss: a head and the summaries it reads."""
    return {"head": head_params, "summary": summary}


def actor_on_summary(actor_head, params: dict, _obs) -> jax.Array:
    """actor_fn for the losses: the actor head on params["summary"] [B, T, H] (the obs slot is unused)."""
    return actor_head.apply(params["head"], params["summary"])


def critics_on_summary(critics, params: dict, _obs, action: jax.Array) -> jax.Array:
    """critic_fn for the losses: a `networks.critic_ensemble` of heads on params["summary"] -> Q [E, B, T].

    With `obs_axis=0` member i reads summary[i] ([E, B, T, H], each critic its own summarizer);
    with `obs_axis=None` every member reads one shared summary [B, T, H].
    """
    return critics.apply(params["head"], params["summary"], action)


def loss_fns(actor_head, critics) -> dict:
    """actor_fn and critic_fn of the losses on summary-level parameters."""
    return dict(
        actor_fn=functools.partial(actor_on_summary, actor_head),
        critic_fn=functools.partial(critics_on_summary, critics),
    )


def params_grads(pullback: Callable, grads: dict) -> dict:
    """A loss's gradient on {"head", "summary"} as the gradient of {"summarizer", "head"}."""
    return {"summarizer": pullback(grads["summary"]), "head": grads["head"]}


def loss_batch(batch: SequenceBatch) -> Batch:
    """The [B, T] fields the losses read; observations enter through the summaries instead."""
    return Batch(obs=None, action=batch.action, reward=batch.reward, next_obs=None, done=batch.done)


def step_summary(cfg: SummarizerConfig, params, carry: Carry, obs: jax.Array) -> tuple[jax.Array, Carry]:
    """One acting step: obs [O] (or [N, O] with a matching carry) -> (summary [H] or [N, H], new carry)."""
    summary, carry = summarizer_net(cfg).apply(params, obs[..., None, :], carry)
    return summary[..., 0, :], carry


def twin_correlation(metrics: dict, mask: jax.Array) -> dict:
    """`critic/q1_q2_corr` over valid steps, from the critic loss's per-sample predictions."""
    q = metrics["critic/q_pred"]
    return {"critic/q1_q2_corr": masked_correlation(q[0], q[1], mask)}
