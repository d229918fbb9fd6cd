"""Recurrent DDPG (the reference's `RecurrentDDPG`): DDPG's update over sequences.

Separate summarizers for the actor and for the critic, each with a target. The critic's summarizer
and head step on the masked TD loss; the actor's step on -Q(h^critic_t, mu(h^actor_t)) (critic
summaries from before the critic step, updated head), and every target moves by Polyak averaging.
The update, state and acting are the deterministic-policy family's (`ddpg_family`).
"""

from __future__ import annotations

import dataclasses

import gin

from jaxpcc.agents.ddpg_family import agent, settings, update
from jaxpcc.agents.recurrent import SummarizerConfig


@gin.configurable("RecurrentDDPG")
@dataclasses.dataclass(frozen=True)
class RDPGConfig(settings.RecurrentDeterministicSettings):
    """RDPG hyper-parameters (reference defaults; gin names `RecurrentDDPG.*`): `RecurrentDeterministicSettings`'."""


def make_agent(obs_dim: int, action_dim: int, hidden_sizes: tuple[int, ...], **overrides):
    """RDPG bound to its gin-configured hyper-parameters."""
    overrides.setdefault("summarizer", SummarizerConfig())
    config = RDPGConfig(obs_dim=obs_dim, action_dim=action_dim, hidden_sizes=hidden_sizes, **overrides)
    return agent.sequence_agent("rdpg", config, update.METRIC_NAMES)  # the reference logs RDPG under DDPG's names
