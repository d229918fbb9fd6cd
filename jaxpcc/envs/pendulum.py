"""The reference's partially observed pendulums ("for comparison with VRM").

Base dynamics are gymnasium's classic `PendulumEnv` (identical to gym's Pendulum-v0): obs
[cos th, sin th, th_dot], torque in [-2, 2], 200 steps via the registered time limit.
  * `p`: [cos th, sin th] (indices 0, 1).
  * `v`: [th_dot] (index 2).
  * `va`: [th_dot, previous torque] (previous torque 0 after a reset).
The reference declared wrong observation bounds for these; here the bounds are the true ones.
"""

from __future__ import annotations

from typing import Optional

import gymnasium
from gymnasium.envs.classic_control.pendulum import PendulumEnv

from jaxpcc.envs.wrappers import ConcatObs, FilterObsByIndex, PreviousAction

POSITION_INDICES = (0, 1)
VELOCITY_INDICES = (2,)


def mdp(render_mode: Optional[str] = None) -> gymnasium.Env:
    return PendulumEnv(render_mode=render_mode)


def p(render_mode: Optional[str] = None) -> gymnasium.Env:
    return FilterObsByIndex(mdp(render_mode), POSITION_INDICES)


def v(render_mode: Optional[str] = None) -> gymnasium.Env:
    return FilterObsByIndex(mdp(render_mode), VELOCITY_INDICES)


def va(render_mode: Optional[str] = None) -> gymnasium.Env:
    return PreviousAction(v(render_mode))


def p_concat5(render_mode: Optional[str] = None) -> gymnasium.Env:
    return ConcatObs(p(render_mode), 5)


def v_concat10(render_mode: Optional[str] = None) -> gymnasium.Env:
    return ConcatObs(v(render_mode), 10)


def va_concat10(render_mode: Optional[str] = None) -> gymnasium.Env:
    return ConcatObs(va(render_mode), 10)
