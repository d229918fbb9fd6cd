"""SAC with twin critics and a learned temperature, as the reference's `SAC`.

The update is the SAC family's (`sac_family.update`), on the state's own networks: both critics
step on the soft Bellman loss; the actor steps against the *updated* critics; log-alpha steps on
the actor's samples with the alpha from before this step; the critic targets move by Polyak
averaging.
"""

from __future__ import annotations

import dataclasses

import gin
import jax
import jax.numpy as jnp

from jaxpcc.agents.common import build_agent
from jaxpcc.agents.sac_family import update as family
from jaxpcc.agents.sac_family.settings import SoftSettings
from jaxpcc.agents.sac_family.state import SoftState, initial_state, tanh_gaussian_action
from jaxpcc.agents.settings import ScheduledSettings
from jaxpcc.networks import EnsembleCritic, GaussianActor
from jaxpcc.types import Batch


@gin.configurable("SAC")
@dataclasses.dataclass(frozen=True)
class SACConfig(ScheduledSettings, SoftSettings):
    """SAC hyper-parameters (reference defaults; gin names `SAC.*`): `SoftSettings`' and an lr schedule."""


def networks(config: SACConfig) -> tuple[GaussianActor, EnsembleCritic]:
    return (
        GaussianActor(config.action_dim, config.hidden_sizes),
        EnsembleCritic(2, config.hidden_sizes),
    )


def init(config: SACConfig, key: jax.Array) -> SoftState:
    actor_net, critic_net = networks(config)
    key, actor_key, critic_key = jax.random.split(key, 3)
    obs = jnp.zeros((1, config.obs_dim), jnp.float32)
    action = jnp.zeros((1, config.action_dim), jnp.float32)
    return initial_state(config, key, actor_net.init(actor_key, obs), critic_net.init(critic_key, obs, action))


def act(config: SACConfig, state: SoftState, obs: jax.Array, key: jax.Array, deterministic: bool) -> jax.Array:
    """tanh(mean) when deterministic, else a tanh-Gaussian sample. obs [O] or [N, O]."""
    actor_net, _ = networks(config)
    mean, log_std = actor_net.apply(state.actor, obs)
    return tanh_gaussian_action(mean, log_std, key, deterministic)


def loss_view(config: SACConfig, state: SoftState, batch: Batch) -> family.SoftLossView:
    """The losses read the state's actor and critics on the batch's transitions."""
    actor_net, critic_net = networks(config)
    return family.SoftLossView(
        critic=state.critic,
        target_critic=state.target_critic,
        next_actor=state.actor,
        actor=state.actor,
        batch=batch,
        actor_fn=actor_net.apply,
        critic_fn=critic_net.apply,
    )


def update(config: SACConfig, state: SoftState, batch: Batch) -> tuple[SoftState, dict]:
    """One SAC gradient step (critics, actor, temperature, targets)."""
    return family.update(config, state, batch, loss_view)


def policy(state: SoftState) -> dict:
    return {"actor": state.actor}


def make_agent(obs_dim: int, action_dim: int, hidden_sizes: tuple[int, ...], **overrides):
    """SAC bound to its gin-configured hyper-parameters."""
    config = SACConfig(obs_dim=obs_dim, action_dim=action_dim, hidden_sizes=hidden_sizes, **overrides)
    return build_agent(
        "sac", config, init=init, act=act, update=update, policy=policy, metric_names=family.METRIC_NAMES
    )
