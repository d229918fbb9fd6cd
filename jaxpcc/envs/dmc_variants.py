"""Factories for the reference's dm_control ids (state POMDPs, history and image variants).

State variants use frame skip 5 (1000 physics steps -> 200 env steps):
  * mdp: [position (3), velocity (2)] for cartpole.
  * p: the `velocity` key removed (position only).
  * va: the `position` key removed and the previous action appended (zeros after a reset).
  * p_concat5 / va_concat10: ConcatObs(5) of p / ConcatObs(10) of va.
Image variants (frame skip 2, 500 steps, "follows the Dreamer benchmark"): an 84x84 render from
camera 0, grayscale, the last 3 frames stacked -> uint8 [3, 84, 84].
"""

from __future__ import annotations

from typing import Optional

import gymnasium

from jaxpcc.envs.dmc import DMCEnv
from jaxpcc.envs.image_wrappers import ConcatFrames, GrayscaleImage
from jaxpcc.envs.wrappers import ConcatObs, PreviousAction

STATE_FRAME_SKIP = 5
IMAGE_FRAME_SKIP = 2


def state(domain: str, task: str, render_mode: Optional[str] = None) -> gymnasium.Env:
    """Every key of `domain`/`task`, frame skip 5: the general `dmc-DOMAIN-TASK-v0` ids."""
    return DMCEnv(domain, task, frame_skip=STATE_FRAME_SKIP, render_mode=render_mode)


def position_only(domain: str, task: str, render_mode: Optional[str] = None) -> gymnasium.Env:
    return DMCEnv(domain, task, exclude_keys=("velocity",), frame_skip=STATE_FRAME_SKIP, render_mode=render_mode)


def velocity_and_action(domain: str, task: str, render_mode: Optional[str] = None) -> gymnasium.Env:
    inner = DMCEnv(domain, task, exclude_keys=("position",), frame_skip=STATE_FRAME_SKIP, render_mode=render_mode)
    return PreviousAction(inner)


def position_only_concat5(domain: str, task: str, render_mode: Optional[str] = None) -> gymnasium.Env:
    return ConcatObs(position_only(domain, task, render_mode), 5)


def velocity_and_action_concat10(domain: str, task: str, render_mode: Optional[str] = None) -> gymnasium.Env:
    return ConcatObs(velocity_and_action(domain, task, render_mode), 10)


def image_concat3(domain: str, task: str, render_mode: Optional[str] = None) -> gymnasium.Env:
    """Pixels (84x84, camera 0), frame skip 2, grayscale, 3 frames stacked: uint8 [3, 84, 84]."""
    raw = DMCEnv(domain, task, frame_skip=IMAGE_FRAME_SKIP, from_pixels=True, render_mode=render_mode)
    return ConcatFrames(GrayscaleImage(raw), 3)


# Variant name (as in the reference's ids) -> factory.
VARIANTS = {
    "": state,
    "-p": position_only,
    "-va": velocity_and_action,
    "-p-concat5": position_only_concat5,
    "-va-concat10": velocity_and_action_concat10,
    # Aliases the reference registers for swingup; its `pomdp` (recovered from the file's history)
    # drops the velocity key, and `mdp-concat5` is ConcatObs(5) over that pomdp.
    "-mdp": state,
    "-pomdp": position_only,
    "-mdp-concat5": position_only_concat5,
    "-mdp-img-concat3": image_concat3,
}
