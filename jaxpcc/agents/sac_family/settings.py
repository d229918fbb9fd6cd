"""The SAC family's hyper-parameters and their one validation."""

from __future__ import annotations

import dataclasses
from typing import Optional

from jaxpcc.agents.settings import ActorCriticSettings, RecurrentSettings
from jaxpcc.validation import gin_name


class TemperatureSettings:
    """Checks and derived values of the fields every SAC config has (polyak, alpha, target_entropy).

    Mixed into each variant's frozen config dataclass; its `__post_init__` calls `check_temperature()`.
    """

    def check_temperature(self) -> None:
        name = gin_name(self)
        if not 0.0 <= self.polyak <= 1.0:
            raise ValueError(f"{name}.polyak must lie in [0, 1], got {self.polyak}")
        if self.alpha <= 0.0:
            raise ValueError(f"{name}.alpha must be positive, got {self.alpha}")

    @property
    def entropy_target(self) -> float:
        """The temperature loss's target: -action_dim (the reference's fixed choice) unless set."""
        return -float(self.action_dim) if self.target_entropy is None else float(self.target_entropy)


@dataclasses.dataclass(frozen=True)
class SoftSettings(TemperatureSettings, ActorCriticSettings):
    """`ActorCriticSettings` and the temperature (SAC's and RSAC's; CSAC lists its own, after its image shape).

    Attributes:
      alpha: initial temperature (the fixed one when `autotune_alpha` is False).
      autotune_alpha: learn log-alpha towards `target_entropy`.
      target_entropy: None means -action_dim, the reference's fixed choice.
    """

    alpha: float = 1.0
    autotune_alpha: bool = True
    target_entropy: Optional[float] = None

    def __post_init__(self):
        self.check_temperature()


@dataclasses.dataclass(frozen=True)
class RecurrentSACSettings(RecurrentSettings, SoftSettings):
    """The recurrent SAC variants' hyper-parameters (RSAC's and RSAC-sharing's, reference defaults)."""
