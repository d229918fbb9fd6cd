"""Recurrent SAC with one shared summarizer (the reference's `RecurrentSACSharing`, "rsac_s").

DrQ-style sharing: a single summarizer (with a target) feeds the actor and both critics, and only
the critic losses train it (the sum of both critics' gradients, one step). The next action of the
target is sampled from the actor on the *target* summary; the actor reads the online summary
through `stop_gradient`. Otherwise as RSAC (`rsac.py`), including the masked temperature loss.
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


@gin.configurable("RecurrentSACSharing")
@dataclasses.dataclass(frozen=True)
class RSACSharingConfig(RecurrentSACSettings):
    """The same hyper-parameters as RSAC (gin names `RecurrentSACSharing.*`): `RecurrentSACSettings`'."""


@flax.struct.dataclass
class RSACSharingState:
    """The shared summarizer and its target; actor head; twin critic heads (stacked) and targets."""

    summarizer: dict
    target_summarizer: dict
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
    """The actor head and the twin critic heads, all on the one shared summary."""
    return GaussianActor(config.action_dim, config.hidden_sizes), critic_ensemble(config.hidden_sizes)


def init(config: RSACSharingConfig, key: jax.Array) -> RSACSharingState:
    actor_head, _ = heads(config)
    cfg, tx = config.summarizer, adam(config.lr)
    key, k1, k2, k3 = jax.random.split(key, 4)
    summarizer = rec.init_summarizer(cfg, k1, config.obs_dim)
    actor = rec.init_head(actor_head, k2, cfg.hidden_dim)
    critic = rec.init_head(critic_ensemble(config.hidden_sizes, 2), k3, cfg.hidden_dim, config.action_dim)
    log_alpha = jnp.asarray(jnp.log(config.alpha), jnp.float32)
    return RSACSharingState(
        summarizer=summarizer,
        target_summarizer=summarizer,
        actor=actor,
        critic=critic,
        target_critic=critic,
        log_alpha=log_alpha,
        actor_opt=tx.init(actor),
        critic_opt=tx.init({"summarizer": summarizer, "head": critic}),
        alpha_opt=tx.init(log_alpha),
        key=key,
        step=jnp.zeros((), jnp.int32),
    )


def act(config, state: RSACSharingState, carry, obs: jax.Array, key: jax.Array, deterministic: bool):
    """One step through the shared summarizer carrying its state; returns (action, carry)."""
    actor_head, _ = heads(config)
    summary, carry = rec.step_summary(config.summarizer, state.summarizer, carry, obs)
    return tanh_gaussian_action(*actor_head.apply(state.actor, summary), key, deterministic), carry


def update(config, state: RSACSharingState, batch: SequenceBatch) -> tuple[RSACSharingState, dict]:
    """One gradient step: shared summarizer + critic heads, actor head, temperature, targets."""
    cfg, tx = config.summarizer, adam(config.lr)
    key, critic_key, actor_key = jax.random.split(state.key, 3)
    fns = dict(alpha=jnp.exp(state.log_alpha), mask=batch.mask, **rec.loss_fns(*heads(config)))
    data = rec.loss_batch(batch)
    h, pullback = rec.summary_with_pullback(lambda p: rec.summarize(cfg, p, batch), state.summarizer)
    h_target = rec.summarize(cfg, state.target_summarizer, batch)

    grads, critic_metrics = jax.grad(sac_losses.critic_loss, has_aux=True)(
        rec.on_summary(state.critic, rec.current(h)),
        rec.on_summary(state.target_critic, rec.following(h_target)),
        rec.on_summary(state.actor, rec.following(h_target)),
        data,
        critic_key,
        gamma=config.gamma,
        **fns,
    )
    trained = {"summarizer": state.summarizer, "head": state.critic}
    trained, critic_opt = apply_gradients(tx, trained, state.critic_opt, rec.params_grads(pullback, grads))

    h_actor = jax.lax.stop_gradient(rec.current(h))
    actor_grads, actor_metrics = jax.grad(sac_losses.actor_loss, has_aux=True)(
        rec.on_summary(state.actor, h_actor),
        rec.on_summary(trained["head"], h_actor),
        data,
        actor_key,
        **fns,
    )
    actor, actor_opt = apply_gradients(tx, state.actor, state.actor_opt, actor_grads["head"])

    state, alpha_metrics = temperature_step(config, state, actor_metrics["actor/log_pi"], batch.mask)
    new_state = state.replace(
        summarizer=trained["summarizer"],
        target_summarizer=polyak_update(state.target_summarizer, trained["summarizer"], config.polyak),
        actor=actor,
        critic=trained["head"],
        target_critic=polyak_update(state.target_critic, trained["head"], config.polyak),
        actor_opt=actor_opt,
        critic_opt=critic_opt,
        key=key,
        step=state.step + 1,
    )
    metrics = {**critic_metrics, **rec.twin_correlation(critic_metrics, batch.mask), **actor_metrics, **alpha_metrics}
    return new_state, scalar_metrics(metrics)


def policy(state: RSACSharingState) -> dict:
    """The shared summarizer and the actor head, saved together in policy.npz."""
    return {"summarizer": state.summarizer, "actor": state.actor}


def make_agent(obs_dim: int, action_dim: int, hidden_sizes: tuple[int, ...], **overrides):
    """RSAC with a shared summarizer, bound to its gin-configured hyper-parameters."""
    overrides.setdefault("summarizer", SummarizerConfig())
    config = RSACSharingConfig(obs_dim=obs_dim, action_dim=action_dim, hidden_sizes=hidden_sizes, **overrides)
    return build_agent(
        "rsac_s", config, init=init, act=act, update=update, policy=policy, metric_names=RECURRENT_METRIC_NAMES,
        initial_carry=rec.initial_carry,
    )
