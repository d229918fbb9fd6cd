"""Recurrent SAC (the reference's `RecurrentSAC`): SAC's losses over sequences with a mask.

Separate summarizers for the actor (no target) and for Q1 and Q2 (run as one stacked LSTM, with
targets). The update is the SAC family's (`sac_family.update`), on summaries: both critic
summarizers and heads step on the masked soft Bellman loss, the next action a'_t ~ pi(.|h^actor_{t+1})
coming from the *online* actor summarizer; the actor summarizer and head step against the updated
heads on the critics' pre-update summaries; log-alpha steps; the critic targets (summarizers and
heads) move by Polyak.

Deviation: the reference averages the temperature loss over every position, padding included;
here it is a masked mean over valid steps like every other loss (padding is not data).
"""

from __future__ import annotations

import dataclasses
import functools

import gin
import jax

from jaxpcc.agents import recurrent as rec
from jaxpcc.agents.common import build_agent
from jaxpcc.agents.recurrent import SummarizerConfig
from jaxpcc.agents.sac_family import update as family
from jaxpcc.agents.sac_family.settings import RecurrentSACSettings
from jaxpcc.agents.sac_family.state import SoftState, initial_state, recurrent_heads, tanh_gaussian_action
from jaxpcc.losses import sac as sac_losses
from jaxpcc.networks import critic_ensemble
from jaxpcc.types import SequenceBatch


@gin.configurable("RecurrentSAC")
@dataclasses.dataclass(frozen=True)
class RSACConfig(RecurrentSACSettings):
    """RSAC hyper-parameters (reference defaults; gin names `RecurrentSAC.*`): `RecurrentSACSettings`'."""


def init(config: RSACConfig, key: jax.Array) -> SoftState:
    actor_head, _ = recurrent_heads(config)
    cfg = config.summarizer
    key, k1, k2, k3, k4 = jax.random.split(key, 5)
    actor = {
        "summarizer": rec.init_summarizer(cfg, k1, config.obs_dim),
        "head": rec.init_head(actor_head, k2, cfg.hidden_dim),
    }
    critic = {
        "summarizer": rec.init_summarizer(cfg, k3, config.obs_dim, 2),
        "head": rec.init_head(critic_ensemble(config.hidden_sizes, 2), k4, cfg.hidden_dim, config.action_dim),
    }
    return initial_state(config, key, actor, critic)


def act(config: RSACConfig, state: SoftState, carry, obs: jax.Array, key: jax.Array, deterministic: bool):
    """One step through the actor summarizer carrying its state; returns (action, carry)."""
    actor_head, _ = recurrent_heads(config)
    summary, carry = rec.step_summary(config.summarizer, state.actor["summarizer"], carry, obs)
    return tanh_gaussian_action(*actor_head.apply(state.actor["head"], summary), key, deterministic), carry


def loss_view(config: RSACConfig, state: SoftState, batch: SequenceBatch) -> family.SoftLossView:
    """Each summarizer runs once over the batch; the losses read heads on their summaries."""
    cfg = config.summarizer
    h_actor, actor_pullback = rec.summary_with_pullback(
        lambda p: rec.summarize(cfg, p, batch), state.actor["summarizer"]
    )
    h_critic, critic_pullback = rec.summary_with_pullback(
        lambda p: rec.summarize_ensemble(cfg, p, batch), state.critic["summarizer"]
    )
    h_target = rec.summarize_ensemble(cfg, state.target_critic["summarizer"], batch)

    def actor_critic(state):  # updated heads on the critics' summaries from before the critic step
        return rec.on_summary(state.critic["head"], jax.lax.stop_gradient(rec.current(h_critic)))

    return family.SoftLossView(
        critic=rec.on_summary(state.critic["head"], rec.current(h_critic)),
        target_critic=rec.on_summary(state.target_critic["head"], rec.following(h_target)),
        next_actor=rec.on_summary(state.actor["head"], jax.lax.stop_gradient(rec.following(h_actor))),
        actor=rec.on_summary(state.actor["head"], rec.current(h_actor)),
        batch=rec.loss_batch(batch),
        mask=batch.mask,
        **rec.loss_fns(*recurrent_heads(config)),
        critic_loss=functools.partial(sac_losses.critic_loss, mask=batch.mask),
        critic_grads=functools.partial(rec.params_grads, critic_pullback),
        actor_grads=functools.partial(rec.params_grads, actor_pullback),
        actor_critic=actor_critic,
        twin_correlation=True,
    )


def update(config: RSACConfig, state: SoftState, batch: SequenceBatch) -> tuple[SoftState, dict]:
    """One RSAC gradient step (critics, actor, temperature, targets)."""
    return family.update(config, state, batch, loss_view)


def policy(state: SoftState) -> dict:
    """The actor summarizer and head, saved together in policy.npz."""
    return {"actor": state.actor}


def make_agent(obs_dim: int, action_dim: int, hidden_sizes: tuple[int, ...], **overrides):
    """RSAC bound to its gin-configured hyper-parameters."""
    overrides.setdefault("summarizer", SummarizerConfig())
    config = RSACConfig(obs_dim=obs_dim, action_dim=action_dim, hidden_sizes=hidden_sizes, **overrides)
    return build_agent(
        "rsac", config, init=init, act=act, update=update, policy=policy, metric_names=family.RECURRENT_METRIC_NAMES,
        initial_carry=rec.initial_carry,
    )
