"""TD3: DDPG's update with twin critics, target policy smoothing and a delayed actor.

Targets move only on the delayed actor steps, as in the reference. The update, state and acting
are the deterministic-policy family's (`ddpg_family`).
"""

from __future__ import annotations

import dataclasses

import gin

from jaxpcc.agents.ddpg_family import agent, settings, update


@gin.configurable("TD3")
@dataclasses.dataclass(frozen=True)
class TD3Config(settings.TwinDelayedSettings, settings.DeterministicSettings):
    """TD3 hyper-parameters (reference defaults; gin names `TD3.*`): DDPG's and `TwinDelayedSettings`'."""


def make_agent(obs_dim: int, action_dim: int, hidden_sizes: tuple[int, ...], **overrides):
    """TD3 bound to its gin-configured hyper-parameters."""
    config = TD3Config(obs_dim=obs_dim, action_dim=action_dim, hidden_sizes=hidden_sizes, **overrides)
    return agent.transition_agent("td3", config, update.TWIN_METRIC_NAMES)
