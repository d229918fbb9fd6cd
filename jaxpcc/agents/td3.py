"""TD3: DDPG's update with twin critics, target policy smoothing and a delayed actor.

Targets move only on the delayed actor steps, as in the reference.
"""

from __future__ import annotations

import dataclasses
import gin

from jaxpcc.agents import ddpg
from jaxpcc.agents.common import build_agent


@gin.configurable("TD3")
@dataclasses.dataclass(frozen=True)
class TD3Config(ddpg.DDPGConfig):
    """TD3 hyper-parameters: DDPG's, and three of its own (reference defaults; gin names `TD3.*`).

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
            raise ValueError(f"TD3.policy_delay must be >= 1, got {self.policy_delay}")


METRIC_NAMES = {
    "critic/q1_pred": "(qfunc) Q1 pred",
    "critic/q2_pred": "(qfunc) Q2 pred",
    "critic/q1_loss": "(qfunc) Q1 loss",
    "critic/q2_loss": "(qfunc) Q2 loss",
    "actor/q1_value": "(actor) Q1 value",
}


def make_agent(obs_dim: int, action_dim: int, hidden_sizes: tuple[int, ...], **overrides):
    """TD3 bound to its gin-configured hyper-parameters."""
    config = TD3Config(obs_dim=obs_dim, action_dim=action_dim, hidden_sizes=hidden_sizes, **overrides)
    return build_agent(
        "td3",
        config,
        init=ddpg.init,
        act=ddpg.act,
        update=ddpg.update,
        policy=ddpg.policy,
        metric_names=METRIC_NAMES,
        delayed_update=ddpg.delayed_update,
        period=config.policy_delay,
    )
