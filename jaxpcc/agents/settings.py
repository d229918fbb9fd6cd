"""The hyper-parameters both families of agents have, each declared once.

An algorithm's config is a frozen dataclass composed of these and of its family's settings
(`ddpg_family.settings`, `sac_family.settings`). Only the algorithm's config is gin-configurable,
so a binding of one algorithm (`DDPG.lr`) never reaches another (`TD3.lr`). A dataclass lists
its bases' fields first, the last base's first: `ActorCriticSettings`' six always lead.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional

from jaxpcc.agents.recurrent import SummarizerConfig


@dataclasses.dataclass(frozen=True)
class ActorCriticSettings:
    """What every agent on vector observations has (reference defaults).

    Attributes:
      obs_dim, action_dim: set by the training loop from the env.
      hidden_sizes: MLP widths of every actor and critic (gin: `make_MLP.hidden_dimensions`).
      gamma: discount.
      lr: Adam learning rate (every network; SAC's log-alpha too).
      polyak: target <- polyak * target + (1 - polyak) * online.
    """

    obs_dim: int
    action_dim: int
    hidden_sizes: tuple[int, ...] = (256, 256)
    gamma: float = 0.99
    lr: float = 3e-4
    polyak: float = 0.995


@dataclasses.dataclass(frozen=True)
class ScheduledSettings:
    """What DDPG, TD3 and SAC add (CSAC lists its own): lr_schedule, an optional multiplier
    lr_schedule(k) of the learning rate at update k (actor and critics only, never log-alpha)."""

    lr_schedule: Optional[Callable] = None


@dataclasses.dataclass(frozen=True)
class RecurrentSettings:
    """What every recurrent agent adds: its summarizers' shape (gin: `Summarizer.*`)."""

    summarizer: SummarizerConfig = SummarizerConfig()

    lr_schedule = None  # not a setting: the reference's recurrent agents keep a constant rate
