"""Recurrent DDPG (the reference's `RecurrentDDPG`), and the machinery RTD3 reuses.

Separate summarizers for the actor and for the critic ensemble, each with a target. One update,
as the reference's: the critic summarizer(s) and heads step on the masked TD loss; every
`policy_delay`-th update, the actor summarizer and head step on -Q_1(h^critic_t, mu(h^actor_t))
(critic summaries from before the critic step, updated heads), and every target moves by Polyak
averaging. RDPG is one critic and no delay; `rtd3.py` sets two critics, smoothing and a delay of 2.
"""

from __future__ import annotations

import dataclasses
import functools

import flax
import gin
import jax
import jax.numpy as jnp
import optax

from jaxpcc.agents import ddpg
from jaxpcc.agents import recurrent as rec
from jaxpcc.agents.common import adam, apply_gradients, build_agent, first_member, polyak_update, scalar_metrics
from jaxpcc.agents.recurrent import SummarizerConfig
from jaxpcc.losses import ddpg as ddpg_losses
from jaxpcc.networks import Critic, DeterministicActor
from jaxpcc.types import SequenceBatch


@gin.configurable("RecurrentDDPG")
@dataclasses.dataclass(frozen=True)
class RDPGConfig:
    """RDPG hyper-parameters (reference defaults; gin names `RecurrentDDPG.*`).

    Attributes:
      obs_dim, action_dim: set by the training loop from the env.
      hidden_sizes: MLP widths of the heads (gin: `make_MLP.hidden_dimensions`).
      summarizer: the summarizers' shape (gin: `Summarizer.*`).
      gamma, lr, polyak: discount, Adam learning rate (every network), target averaging coefficient.
      action_noise: std of the Gaussian exploration noise added to mu(h).
    """

    obs_dim: int
    action_dim: int
    hidden_sizes: tuple[int, ...] = (256, 256)
    summarizer: SummarizerConfig = SummarizerConfig()
    gamma: float = 0.99
    lr: float = 3e-4
    polyak: float = 0.995
    action_noise: float = 0.1

    num_critics = 1
    target_noise = 0.0
    noise_clip = 0.5
    policy_delay = 1


@flax.struct.dataclass
class RDPGState:
    """actor/critic = {"summarizer", "head"} (critic entries stacked on an ensemble axis), targets, optimizers."""

    actor: dict
    target_actor: dict
    critic: dict
    target_critic: dict
    actor_opt: optax.OptState
    critic_opt: optax.OptState
    key: jax.Array
    step: jax.Array
    actor_q_value: jax.Array


def heads(config) -> tuple[DeterministicActor, Critic]:
    return DeterministicActor(config.action_dim, config.hidden_sizes), Critic(config.hidden_sizes)


def init(config, key: jax.Array) -> RDPGState:
    actor_head, critic_head = heads(config)
    cfg, tx = config.summarizer, adam(config.lr)
    key, k1, k2, k3, k4 = jax.random.split(key, 5)
    actor = {
        "summarizer": rec.init_summarizer(cfg, k1, config.obs_dim),
        "head": rec.init_heads(actor_head, k2, cfg.hidden_dim, None),
    }
    critic = {
        "summarizer": rec.init_summarizer(cfg, k3, config.obs_dim, config.num_critics),
        "head": rec.init_heads(critic_head, k4, cfg.hidden_dim, config.action_dim, config.num_critics),
    }
    return RDPGState(
        actor=actor,
        target_actor=actor,
        critic=critic,
        target_critic=critic,
        actor_opt=tx.init(actor),
        critic_opt=tx.init(critic),
        key=key,
        step=jnp.zeros((), jnp.int32),
        actor_q_value=jnp.zeros((), jnp.float32),
    )


def act(config, state: RDPGState, carry, obs: jax.Array, key: jax.Array, deterministic: bool):
    """mu(h_t) (plus clipped Gaussian noise unless deterministic) and the new carry."""
    actor_head, _ = heads(config)
    summary, carry = rec.step_summary(config.summarizer, state.actor["summarizer"], carry, obs)
    mu = actor_head.apply(state.actor["head"], summary)
    if not deterministic:
        mu = jnp.clip(mu + config.action_noise * jax.random.normal(key, mu.shape, mu.dtype), -1.0, 1.0)
    return mu, carry


def _loss_fns(config) -> dict:
    actor_head, critic_head = heads(config)
    return dict(
        actor_fn=functools.partial(rec.actor_on_summary, actor_head),
        critic_fn=functools.partial(rec.critics_on_summary, critic_head),
    )


def _actor_step(config, tx, state: RDPGState, critic: dict, h_actor, actor_pullback, h_critic, batch: SequenceBatch):
    """Actor summarizer + head step on the pre-update critic summaries, then Polyak on every target."""
    grads, metrics = jax.grad(ddpg_losses.actor_loss, has_aux=True)(
        rec.on_summary(state.actor["head"], rec.current(h_actor)),
        # Q1 alone (a one-member ensemble): RTD3's actor loss reads no other critic.
        rec.on_summary(
            first_member(critic["head"]), first_member(jax.lax.stop_gradient(rec.current(h_critic)))
        ),
        rec.loss_batch(batch),
        mask=batch.mask,
        **_loss_fns(config),
    )
    actor_grads = {"summarizer": actor_pullback(grads["summary"]), "head": grads["head"]}
    actor, actor_opt = apply_gradients(tx, state.actor, state.actor_opt, actor_grads)
    return (
        actor,
        actor_opt,
        polyak_update(state.target_actor, actor, config.polyak),
        polyak_update(state.target_critic, critic, config.polyak),
        metrics["actor/q1_value"],
    )


def update(config, state: RDPGState, batch: SequenceBatch) -> tuple[RDPGState, dict]:
    """One critic step; an actor step and target update every `policy_delay` steps."""
    cfg, tx = config.summarizer, adam(config.lr)
    key, noise_key = jax.random.split(state.key)
    h_actor, actor_pullback = rec.summary_with_pullback(
        lambda p: rec.summarize(cfg, p, batch), state.actor["summarizer"]
    )
    h_critic, critic_pullback = rec.summary_with_pullback(
        lambda p: rec.summarize_ensemble(cfg, p, batch), state.critic["summarizer"]
    )
    h_target_actor = rec.summarize(cfg, state.target_actor["summarizer"], batch)
    h_target_critic = rec.summarize_ensemble(cfg, state.target_critic["summarizer"], batch)

    grads, metrics = jax.grad(ddpg_losses.critic_loss, has_aux=True)(
        rec.on_summary(state.critic["head"], rec.current(h_critic)),
        rec.on_summary(state.target_critic["head"], rec.following(h_target_critic)),
        rec.on_summary(state.target_actor["head"], rec.following(h_target_actor)),
        rec.loss_batch(batch),
        noise_key,
        gamma=config.gamma,
        target_noise=config.target_noise,
        noise_clip=config.noise_clip,
        mask=batch.mask,
        **_loss_fns(config),
    )
    critic_grads = {"summarizer": critic_pullback(grads["summary"]), "head": grads["head"]}
    critic, critic_opt = apply_gradients(tx, state.critic, state.critic_opt, critic_grads)

    def actor_step():
        return _actor_step(config, tx, state, critic, h_actor, actor_pullback, h_critic, batch)

    if config.policy_delay == 1:
        actor, actor_opt, target_actor, target_critic, q_value = actor_step()
    else:
        skip = (state.actor, state.actor_opt, state.target_actor, state.target_critic, state.actor_q_value)
        actor, actor_opt, target_actor, target_critic, q_value = jax.lax.cond(
            (state.step + 1) % config.policy_delay == 0, actor_step, lambda: skip
        )
    if config.num_critics == 2:
        metrics = {**metrics, **rec.twin_correlation(metrics, batch.mask)}
    new_state = RDPGState(
        actor=actor,
        target_actor=target_actor,
        critic=critic,
        target_critic=target_critic,
        actor_opt=actor_opt,
        critic_opt=critic_opt,
        key=key,
        step=state.step + 1,
        actor_q_value=q_value,
    )
    return new_state, scalar_metrics({**metrics, "actor/q1_value": q_value})


def policy(state: RDPGState) -> dict:
    """The actor summarizer and head, saved together in policy.npz."""
    return {"actor": state.actor}


# The reference logs RDPG under DDPG's names.
METRIC_NAMES = ddpg.METRIC_NAMES


def make_agent(obs_dim: int, action_dim: int, hidden_sizes: tuple[int, ...], **overrides):
    """RDPG bound to its gin-configured hyper-parameters."""
    overrides.setdefault("summarizer", SummarizerConfig())
    config = RDPGConfig(obs_dim=obs_dim, action_dim=action_dim, hidden_sizes=hidden_sizes, **overrides)
    return build_agent(
        "rdpg", config, init=init, act=act, update=update, policy=policy, metric_names=METRIC_NAMES,
        initial_carry=rec.initial_carry,
    )
