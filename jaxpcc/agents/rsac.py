"""Recurrent SAC (the reference's `RecurrentSAC`): SAC's losses over sequences with a mask.

Separate summarizers for the actor (no target) and for Q1 and Q2 (run as one stacked LSTM, with
targets). One update, in the reference's order: both critic summarizers and heads step on the
masked soft Bellman loss, the next action a'_t ~ pi(.|h^actor_{t+1}) coming from the *online*
actor summarizer; the actor summarizer and head step against the updated heads on the critics'
pre-update summaries; log-alpha steps; the critic targets (summarizers and heads) move by Polyak.

Deviation: the reference averages the temperature loss over every position, padding included;
here it is a masked mean over valid steps like every other loss (padding is not data).
"""

from __future__ import annotations

import dataclasses

import flax
import gin
import jax
import jax.numpy as jnp
import optax

from jaxpcc.agents import recurrent as rec
from jaxpcc.agents.common import adam, apply_gradients, build_agent, polyak_update, scalar_metrics
from jaxpcc.agents.recurrent import SummarizerConfig
from jaxpcc.agents.sac_family import RECURRENT_METRIC_NAMES, RecurrentSACSettings, tanh_gaussian_action, temperature_step
from jaxpcc.losses import sac as sac_losses
from jaxpcc.networks import GaussianActor, critic_ensemble
from jaxpcc.types import SequenceBatch


@gin.configurable("RecurrentSAC")
@dataclasses.dataclass(frozen=True)
class RSACConfig(RecurrentSACSettings):
    """RSAC hyper-parameters (reference defaults; gin names `RecurrentSAC.*`): `RecurrentSACSettings`'."""


@flax.struct.dataclass
class RSACState:
    """actor/critic = {"summarizer", "head"} (critic entries stacked on an ensemble axis of 2)."""

    actor: dict
    critic: dict
    target_critic: dict
    log_alpha: jax.Array
    actor_opt: optax.OptState
    critic_opt: optax.OptState
    alpha_opt: optax.OptState
    key: jax.Array
    step: jax.Array


def heads(config):
    """The actor head and the twin critic heads (member i on its own summarizer's summary)."""
    return GaussianActor(config.action_dim, config.hidden_sizes), critic_ensemble(config.hidden_sizes, obs_axis=0)


def init(config: RSACConfig, key: jax.Array) -> RSACState:
    actor_head, _ = heads(config)
    cfg, tx = config.summarizer, adam(config.lr)
    key, k1, k2, k3, k4 = jax.random.split(key, 5)
    actor = {
        "summarizer": rec.init_summarizer(cfg, k1, config.obs_dim),
        "head": rec.init_head(actor_head, k2, cfg.hidden_dim),
    }
    critic = {
        "summarizer": rec.init_summarizer(cfg, k3, config.obs_dim, 2),
        "head": rec.init_head(critic_ensemble(config.hidden_sizes, 2), k4, cfg.hidden_dim, config.action_dim),
    }
    log_alpha = jnp.asarray(jnp.log(config.alpha), jnp.float32)
    return RSACState(
        actor=actor,
        critic=critic,
        target_critic=critic,
        log_alpha=log_alpha,
        actor_opt=tx.init(actor),
        critic_opt=tx.init(critic),
        alpha_opt=tx.init(log_alpha),
        key=key,
        step=jnp.zeros((), jnp.int32),
    )


def act(config: RSACConfig, state: RSACState, carry, obs: jax.Array, key: jax.Array, deterministic: bool):
    """One step through the actor summarizer carrying its state; returns (action, carry)."""
    actor_head, _ = heads(config)
    summary, carry = rec.step_summary(config.summarizer, state.actor["summarizer"], carry, obs)
    return tanh_gaussian_action(*actor_head.apply(state.actor["head"], summary), key, deterministic), carry


def update(config: RSACConfig, state: RSACState, batch: SequenceBatch) -> tuple[RSACState, dict]:
    """One RSAC gradient step (critics, actor, temperature, targets)."""
    cfg, tx = config.summarizer, adam(config.lr)
    key, critic_key, actor_key = jax.random.split(state.key, 3)
    fns = dict(alpha=jnp.exp(state.log_alpha), mask=batch.mask, **rec.loss_fns(*heads(config)))
    data = rec.loss_batch(batch)
    h_actor, actor_pullback = rec.summary_with_pullback(
        lambda p: rec.summarize(cfg, p, batch), state.actor["summarizer"]
    )
    h_critic, critic_pullback = rec.summary_with_pullback(
        lambda p: rec.summarize_ensemble(cfg, p, batch), state.critic["summarizer"]
    )
    h_target = rec.summarize_ensemble(cfg, state.target_critic["summarizer"], batch)

    grads, critic_metrics = jax.grad(sac_losses.critic_loss, has_aux=True)(
        rec.on_summary(state.critic["head"], rec.current(h_critic)),
        rec.on_summary(state.target_critic["head"], rec.following(h_target)),
        rec.on_summary(state.actor["head"], jax.lax.stop_gradient(rec.following(h_actor))),
        data,
        critic_key,
        gamma=config.gamma,
        **fns,
    )
    critic, critic_opt = apply_gradients(tx, state.critic, state.critic_opt, rec.params_grads(critic_pullback, grads))

    grads, actor_metrics = jax.grad(sac_losses.actor_loss, has_aux=True)(
        rec.on_summary(state.actor["head"], rec.current(h_actor)),
        rec.on_summary(critic["head"], jax.lax.stop_gradient(rec.current(h_critic))),
        data,
        actor_key,
        **fns,
    )
    actor, actor_opt = apply_gradients(tx, state.actor, state.actor_opt, rec.params_grads(actor_pullback, grads))

    state, alpha_metrics = temperature_step(config, state, actor_metrics["actor/log_pi"], batch.mask)
    new_state = state.replace(
        actor=actor,
        critic=critic,
        target_critic=polyak_update(state.target_critic, critic, config.polyak),
        actor_opt=actor_opt,
        critic_opt=critic_opt,
        key=key,
        step=state.step + 1,
    )
    metrics = {**critic_metrics, **rec.twin_correlation(critic_metrics, batch.mask), **actor_metrics, **alpha_metrics}
    return new_state, scalar_metrics(metrics)


def policy(state: RSACState) -> dict:
    """The actor summarizer and head, saved together in policy.npz."""
    return {"actor": state.actor}


def make_agent(obs_dim: int, action_dim: int, hidden_sizes: tuple[int, ...], **overrides):
    """RSAC bound to its gin-configured hyper-parameters."""
    overrides.setdefault("summarizer", SummarizerConfig())
    config = RSACConfig(obs_dim=obs_dim, action_dim=action_dim, hidden_sizes=hidden_sizes, **overrides)
    return build_agent(
        "rsac", config, init=init, act=act, update=update, policy=policy, metric_names=RECURRENT_METRIC_NAMES,
        initial_carry=rec.initial_carry,
    )
