"""SAC with twin critics and a learned temperature, as the reference's `SAC`.

One update, in the reference's order: both critics step on the soft Bellman loss; the actor
steps against the *updated* critics; log-alpha steps on the actor's samples with the alpha
from before this step; the critic targets move by Polyak averaging.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import flax
import gin
import jax
import jax.numpy as jnp
import optax

from jaxpcc.agents.common import apply_gradients, build_agent, polyak_update, scalar_metrics
from jaxpcc.agents.sac_family import METRIC_NAMES, TemperatureSettings, optimizers, tanh_gaussian_action, temperature_step
from jaxpcc.losses import sac as sac_losses
from jaxpcc.networks import EnsembleCritic, GaussianActor
from jaxpcc.types import Batch


@gin.configurable("SAC")
@dataclasses.dataclass(frozen=True)
class SACConfig(TemperatureSettings):
    """SAC hyper-parameters (reference defaults; gin names `SAC.*`).

    Attributes:
      obs_dim, action_dim: set by the training loop from the env.
      hidden_sizes: MLP widths (gin: `make_MLP.hidden_dimensions`).
      gamma: discount.
      lr: Adam learning rate of the actor, critics and log-alpha.
      lr_schedule: optional multiplier lr_schedule(k) at update k (actor and critics only).
      polyak: target <- polyak * target + (1 - polyak) * online.
      alpha: initial temperature (the fixed one when `autotune_alpha` is False).
      autotune_alpha: learn log-alpha towards `target_entropy`.
      target_entropy: None means -action_dim, the reference's fixed choice.
    """

    obs_dim: int
    action_dim: int
    hidden_sizes: tuple[int, ...] = (256, 256)
    gamma: float = 0.99
    lr: float = 3e-4
    lr_schedule: Optional[Callable] = None
    polyak: float = 0.995
    alpha: float = 1.0
    autotune_alpha: bool = True
    target_entropy: Optional[float] = None

    def __post_init__(self):
        self.check_temperature()


@flax.struct.dataclass
class SACState:
    """Everything SAC learns or carries, as one immutable pytree."""

    actor: dict
    critic: dict
    target_critic: dict
    log_alpha: jax.Array
    actor_opt: optax.OptState
    critic_opt: optax.OptState
    alpha_opt: optax.OptState
    key: jax.Array
    step: jax.Array


def networks(config: SACConfig) -> tuple[GaussianActor, EnsembleCritic]:
    return (
        GaussianActor(config.action_dim, config.hidden_sizes),
        EnsembleCritic(2, config.hidden_sizes),
    )


def init(config: SACConfig, key: jax.Array) -> SACState:
    actor_net, critic_net = networks(config)
    net_tx, alpha_tx = optimizers(config)
    key, actor_key, critic_key = jax.random.split(key, 3)
    obs = jnp.zeros((1, config.obs_dim), jnp.float32)
    action = jnp.zeros((1, config.action_dim), jnp.float32)
    actor = actor_net.init(actor_key, obs)
    critic = critic_net.init(critic_key, obs, action)
    log_alpha = jnp.asarray(jnp.log(config.alpha), jnp.float32)
    return SACState(
        actor=actor,
        critic=critic,
        target_critic=critic,
        log_alpha=log_alpha,
        actor_opt=net_tx.init(actor),
        critic_opt=net_tx.init(critic),
        alpha_opt=alpha_tx.init(log_alpha),
        key=key,
        step=jnp.zeros((), jnp.int32),
    )


def act(config: SACConfig, state: SACState, obs: jax.Array, key: jax.Array, deterministic: bool) -> jax.Array:
    """tanh(mean) when deterministic, else a tanh-Gaussian sample. obs [O] or [N, O]."""
    actor_net, _ = networks(config)
    mean, log_std = actor_net.apply(state.actor, obs)
    return tanh_gaussian_action(mean, log_std, key, deterministic)


def update(config: SACConfig, state: SACState, batch: Batch) -> tuple[SACState, dict]:
    """One SAC gradient step (critics, actor, temperature, targets)."""
    actor_net, critic_net = networks(config)
    net_tx, _ = optimizers(config)
    key, critic_key, actor_key = jax.random.split(state.key, 3)
    alpha = jnp.exp(state.log_alpha)
    fns = dict(actor_fn=actor_net.apply, critic_fn=critic_net.apply, alpha=alpha)

    critic_grads, critic_metrics = jax.grad(sac_losses.critic_loss, has_aux=True)(
        state.critic, state.target_critic, state.actor, batch, critic_key, gamma=config.gamma, **fns
    )
    critic, critic_opt = apply_gradients(net_tx, state.critic, state.critic_opt, critic_grads)

    actor_grads, actor_metrics = jax.grad(sac_losses.actor_loss, has_aux=True)(
        state.actor, critic, batch, actor_key, **fns
    )
    actor, actor_opt = apply_gradients(net_tx, state.actor, state.actor_opt, actor_grads)

    state, alpha_metrics = temperature_step(config, state, actor_metrics["actor/log_pi"])

    new_state = state.replace(
        actor=actor,
        critic=critic,
        target_critic=polyak_update(state.target_critic, critic, config.polyak),
        actor_opt=actor_opt,
        critic_opt=critic_opt,
        key=key,
        step=state.step + 1,
    )
    return new_state, scalar_metrics({**critic_metrics, **actor_metrics, **alpha_metrics})


def policy(state: SACState) -> dict:
    return {"actor": state.actor}


def make_agent(obs_dim: int, action_dim: int, hidden_sizes: tuple[int, ...], **overrides):
    """SAC bound to its gin-configured hyper-parameters."""
    config = SACConfig(obs_dim=obs_dim, action_dim=action_dim, hidden_sizes=hidden_sizes, **overrides)
    return build_agent(
        "sac", config, init=init, act=act, update=update, policy=policy, metric_names=METRIC_NAMES
    )
