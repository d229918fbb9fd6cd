"""Recurrent TD3 (the reference's `RecurrentTD3`): RDPG's update with twin critics, target
policy smoothing and a delayed actor.

Three summarizers (actor, Q1, Q2; the critics' two run as one stacked LSTM), each with a target.
All targets move only on the delayed actor steps, as in the reference. The update, state and
acting are the deterministic-policy family's (`ddpg_family`).
"""

from __future__ import annotations

import dataclasses

import gin

from jaxpcc.agents.ddpg_family import agent, settings, update
from jaxpcc.agents.recurrent import SummarizerConfig


@gin.configurable("RecurrentTD3")
@dataclasses.dataclass(frozen=True)
class RTD3Config(settings.TwinDelayedSettings, settings.RecurrentDeterministicSettings):
    """RTD3 hyper-parameters (reference defaults; gin names `RecurrentTD3.*`): RDPG's and `TwinDelayedSettings`'."""


def make_agent(obs_dim: int, action_dim: int, hidden_sizes: tuple[int, ...], **overrides):
    """RTD3 bound to its gin-configured hyper-parameters."""
    overrides.setdefault("summarizer", SummarizerConfig())
    config = RTD3Config(obs_dim=obs_dim, action_dim=action_dim, hidden_sizes=hidden_sizes, **overrides)
    return agent.sequence_agent("rtd3", config, update.RECURRENT_TWIN_METRIC_NAMES)
