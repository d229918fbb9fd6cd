"""DDPG, and the deterministic-policy machinery TD3 reuses.

One update: the critic(s) step on the TD loss; then, every `policy_delay`-th update, the actor
steps against the *updated* first critic and all targets move by Polyak averaging. DDPG is the
case of one critic, no target smoothing and a delay of 1; `td3.py` sets two, 0.2/0.5 and 2.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable, Optional

import flax
import gin
import jax
import jax.numpy as jnp
import optax

from jaxpcc.agents.common import adam, apply_gradients, build_agent, first_member, polyak_update, scalar_metrics
from jaxpcc.losses import ddpg as ddpg_losses
from jaxpcc.networks import DeterministicActor, EnsembleCritic
from jaxpcc.types import Batch


@gin.configurable("DDPG")
@dataclasses.dataclass(frozen=True)
class DDPGConfig:
    """DDPG hyper-parameters (reference defaults; gin names `DDPG.*`).

    Attributes:
      obs_dim, action_dim: set by the training loop from the env.
      hidden_sizes: MLP widths (gin: `make_MLP.hidden_dimensions`).
      gamma, lr, polyak: discount, Adam learning rate, target averaging coefficient.
      lr_schedule: optional multiplier lr_schedule(k) at update k.
      action_noise: std of the Gaussian exploration noise added to mu(s).
    """

    obs_dim: int
    action_dim: int
    hidden_sizes: tuple[int, ...] = (256, 256)
    gamma: float = 0.99
    lr: float = 3e-4
    lr_schedule: Optional[Callable] = None
    polyak: float = 0.995
    action_noise: float = 0.1

    num_critics = 1
    target_noise = 0.0
    noise_clip = 0.5
    policy_delay = 1


@flax.struct.dataclass
class DeterministicState:
    """Actor, critic ensemble, their targets and optimizer states, key, step counter.

    `actor_q_value` holds the last actor step's Q value, logged between delayed actor steps.
    """

    actor: dict
    target_actor: dict
    critic: dict
    target_critic: dict
    actor_opt: optax.OptState
    critic_opt: optax.OptState
    key: jax.Array
    step: jax.Array
    actor_q_value: jax.Array


def networks(config) -> tuple[DeterministicActor, EnsembleCritic]:
    return (
        DeterministicActor(config.action_dim, config.hidden_sizes),
        EnsembleCritic(config.num_critics, config.hidden_sizes),
    )


def init(config, key: jax.Array) -> DeterministicState:
    actor_net, critic_net = networks(config)
    tx = adam(config.lr, config.lr_schedule)
    key, actor_key, critic_key = jax.random.split(key, 3)
    obs = jnp.zeros((1, config.obs_dim), jnp.float32)
    action = jnp.zeros((1, config.action_dim), jnp.float32)
    actor = actor_net.init(actor_key, obs)
    critic = critic_net.init(critic_key, obs, action)
    return DeterministicState(
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


def act(config, state: DeterministicState, obs: jax.Array, key: jax.Array, deterministic: bool) -> jax.Array:
    """mu(s), plus clipped Gaussian exploration noise unless deterministic."""
    actor_net, _ = networks(config)
    mu = actor_net.apply(state.actor, obs)
    if deterministic:
        return mu
    return jnp.clip(mu + config.action_noise * jax.random.normal(key, mu.shape, mu.dtype), -1.0, 1.0)


def first_critic(config, critic_params, obs: jax.Array, action: jax.Array) -> jax.Array:
    """Q_1 alone as a one-member ensemble [1, ...]: the actor loss reads no other critic."""
    return EnsembleCritic(1, config.hidden_sizes).apply(first_member(critic_params), obs, action)


def actor_optimizer(config) -> optax.GradientTransformation:
    """The actor's Adam. Its k-th step is update k * policy_delay, and a learning-rate schedule
    reads the update number (the reference sets every optimizer's rate once per update)."""
    schedule, delay = config.lr_schedule, config.policy_delay
    if schedule is None or delay == 1:
        return adam(config.lr, schedule)
    return adam(config.lr, lambda k: schedule(k * delay))


def _actor_step(config, tx, critic, state: DeterministicState, batch: Batch):
    """Actor gradient step and Polyak averaging of every target (a TD3 'delayed' step)."""
    actor_net, _ = networks(config)
    grads, metrics = jax.grad(ddpg_losses.actor_loss, has_aux=True)(
        state.actor, critic, batch, actor_fn=actor_net.apply, critic_fn=functools.partial(first_critic, config)
    )
    actor, actor_opt = apply_gradients(tx, state.actor, state.actor_opt, grads)
    return (
        actor,
        actor_opt,
        polyak_update(state.target_actor, actor, config.polyak),
        polyak_update(state.target_critic, critic, config.polyak),
        metrics["actor/q1_value"],
    )


def update(config, state: DeterministicState, batch: Batch) -> tuple[DeterministicState, dict]:
    """One critic step; an actor step and target update every `policy_delay` steps."""
    return delayed_update(config, state, batch, actor_step=True if config.policy_delay == 1 else None)


def delayed_update(config, state: DeterministicState, batch: Batch, actor_step: Optional[bool]):
    """One update; `actor_step` True/False fixes whether the delayed actor step runs, None decides by step.

    Placed statically (True/False), the skip costs nothing; behind a `lax.cond` (None) its skip
    branch copies the actor, its optimizer state and both targets, about 15% of TD3's updates/s
    at batch 100 on XLA:CPU.
    """
    actor_net, critic_net = networks(config)
    tx = adam(config.lr, config.lr_schedule)
    key, noise_key = jax.random.split(state.key)
    critic_grads, metrics = jax.grad(ddpg_losses.critic_loss, has_aux=True)(
        state.critic,
        state.target_critic,
        state.target_actor,
        batch,
        noise_key,
        actor_fn=actor_net.apply,
        critic_fn=critic_net.apply,
        gamma=config.gamma,
        target_noise=config.target_noise,
        noise_clip=config.noise_clip,
    )
    critic, critic_opt = apply_gradients(tx, state.critic, state.critic_opt, critic_grads)

    skip = (state.actor, state.actor_opt, state.target_actor, state.target_critic, state.actor_q_value)
    if actor_step is None:
        actor, actor_opt, target_actor, target_critic, q_value = jax.lax.cond(
            (state.step + 1) % config.policy_delay == 0,
            lambda: _actor_step(config, actor_optimizer(config), critic, state, batch),
            lambda: skip,
        )
    elif actor_step:
        actor, actor_opt, target_actor, target_critic, q_value = _actor_step(
            config, actor_optimizer(config), critic, state, batch
        )
    else:
        actor, actor_opt, target_actor, target_critic, q_value = skip
    new_state = DeterministicState(
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


def policy(state: DeterministicState) -> dict:
    return {"actor": state.actor}


METRIC_NAMES = {
    "critic/q1_pred": "(qfunc) Q pred",
    "critic/q1_loss": "(qfunc) Q loss",
    "actor/q1_value": "(actor) Q value",
}


def make_agent(obs_dim: int, action_dim: int, hidden_sizes: tuple[int, ...], **overrides):
    """DDPG bound to its gin-configured hyper-parameters."""
    config = DDPGConfig(obs_dim=obs_dim, action_dim=action_dim, hidden_sizes=hidden_sizes, **overrides)
    return build_agent(
        "ddpg", config, init=init, act=act, update=update, policy=policy, metric_names=METRIC_NAMES
    )
