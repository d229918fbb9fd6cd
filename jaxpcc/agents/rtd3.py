"""Recurrent TD3 (the reference's `RecurrentTD3`): RDPG's update with twin critics, target
policy smoothing and a delayed actor.

Three summarizers (actor, Q1, Q2; the critics' two run as one stacked LSTM), each with a target.
All targets move only on the delayed actor steps, as in the reference.
"""

from __future__ import annotations

import dataclasses

import gin

from jaxpcc.agents import rdpg
from jaxpcc.agents import recurrent as rec
from jaxpcc.agents.common import build_agent
from jaxpcc.agents.recurrent import SummarizerConfig


@gin.configurable("RecurrentTD3")
@dataclasses.dataclass(frozen=True)
class RTD3Config(rdpg.RDPGConfig):
    """RTD3 hyper-parameters: RDPG's, and three of its own (reference defaults; gin names `RecurrentTD3.*`).

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
            raise ValueError(f"RecurrentTD3.policy_delay must be >= 1, got {self.policy_delay}")


METRIC_NAMES = {
    "critic/q1_pred": "(qfunc) Q1 pred",
    "critic/q2_pred": "(qfunc) Q2 pred",
    "critic/q1_q2_corr": "(qfunc) Q1 Q2 corr",
    "critic/q1_loss": "(qfunc) Q1 loss",
    "critic/q2_loss": "(qfunc) Q2 loss",
    "actor/q1_value": "(actor) Q1 value",
}


def make_agent(obs_dim: int, action_dim: int, hidden_sizes: tuple[int, ...], **overrides):
    """RTD3 bound to its gin-configured hyper-parameters."""
    overrides.setdefault("summarizer", SummarizerConfig())
    config = RTD3Config(obs_dim=obs_dim, action_dim=action_dim, hidden_sizes=hidden_sizes, **overrides)
    return build_agent(
        "rtd3",
        config,
        init=rdpg.init,
        act=rdpg.act,
        update=rdpg.update,
        policy=rdpg.policy,
        metric_names=METRIC_NAMES,
        initial_carry=rec.initial_carry,
    )
