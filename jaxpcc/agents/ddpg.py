"""DDPG (the reference's `DDPG`): one critic, no target smoothing, an actor step every update.

The update, state and acting are the deterministic-policy family's (`ddpg_family.py`).
"""

from __future__ import annotations

import dataclasses

import gin

from jaxpcc.agents import ddpg_family as family


@gin.configurable("DDPG")
@dataclasses.dataclass(frozen=True)
class DDPGConfig(family.DeterministicSettings):
    """DDPG hyper-parameters (reference defaults; gin names `DDPG.*`): `DeterministicSettings`'."""


def make_agent(obs_dim: int, action_dim: int, hidden_sizes: tuple[int, ...], **overrides):
    """DDPG bound to its gin-configured hyper-parameters."""
    config = DDPGConfig(obs_dim=obs_dim, action_dim=action_dim, hidden_sizes=hidden_sizes, **overrides)
    return family.transition_agent("ddpg", config, family.METRIC_NAMES)
