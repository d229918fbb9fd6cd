"""DDPG (the reference's `DDPG`): one critic, no target smoothing, an actor step every update.

The update, state and acting are the deterministic-policy family's (`ddpg_family`).
"""

from __future__ import annotations

import dataclasses

import gin

from jaxpcc.agents.ddpg_family import agent, settings, update


@gin.configurable("DDPG")
@dataclasses.dataclass(frozen=True)
class DDPGConfig(settings.DeterministicSettings):
    """DDPG hyper-parameters (reference defaults; gin names `DDPG.*`): `DeterministicSettings`'."""


def make_agent(obs_dim: int, action_dim: int, hidden_sizes: tuple[int, ...], **overrides):
    """DDPG bound to its gin-configured hyper-parameters."""
    config = DDPGConfig(obs_dim=obs_dim, action_dim=action_dim, hidden_sizes=hidden_sizes, **overrides)
    return agent.transition_agent("ddpg", config, update.METRIC_NAMES)
