"""The deterministic-policy family's hyper-parameters: DDPG's and RDPG's, and what TD3 and RTD3 add."""

from __future__ import annotations

import dataclasses

from jaxpcc.agents.settings import ActorCriticSettings, RecurrentSettings, ScheduledSettings
from jaxpcc.validation import gin_name


class _OneCriticNoDelay:
    """DDPG's and RDPG's fixed values of what TD3 and RTD3 set (`TwinDelayedSettings`); not settings."""

    num_critics = 1
    target_noise = 0.0
    noise_clip = 0.5
    policy_delay = 1


@dataclasses.dataclass(frozen=True)
class ExplorationSettings(_OneCriticNoDelay, ActorCriticSettings):
    """`ActorCriticSettings` and the family's exploration.

    Attributes:
      action_noise: std of the Gaussian exploration noise added to mu(s) (or mu(h)).
    """

    action_noise: float = 0.1


@dataclasses.dataclass(frozen=True)
class DeterministicSettings(ScheduledSettings, ExplorationSettings):
    """The feed-forward agents' hyper-parameters (DDPG's; TD3 adds `TwinDelayedSettings`)."""


@dataclasses.dataclass(frozen=True)
class RecurrentDeterministicSettings(RecurrentSettings, ExplorationSettings):
    """The recurrent agents' hyper-parameters (RDPG's; RTD3 adds `TwinDelayedSettings`)."""


@dataclasses.dataclass(frozen=True)
class TwinDelayedSettings:
    """TD3's own three hyper-parameters, over either family settings (listed first among the bases).

    Attributes:
      target_noise: std of the smoothing noise on the target action.
      noise_clip: the smoothing noise is clipped to [-noise_clip, noise_clip].
      policy_delay: actor and target updates happen every `policy_delay` critic updates.
    """

    target_noise: float = 0.2
    noise_clip: float = 0.5
    policy_delay: int = 2

    num_critics = 2

    def __post_init__(self):
        if self.policy_delay < 1:
            raise ValueError(f"{gin_name(self)}.policy_delay must be >= 1, got {self.policy_delay}")
