"""PyBullet locomotion tasks (package `pybullet-envs-gymnasium`) and the reference's masked cheetah/ant.

The package is imported only when one of these envs is built, so `import jaxpcc.envs` stays fast.
Each env owns its own PyBullet client. Episodes last 1000 steps through the registered time limit;
`_isDone` of HalfCheetah never fires in pybullet 3.x, the others terminate on a fall.

Masks (the locomotion observation interleaves, for each joint, position then 0.1 * speed):
  * `halfcheetah-p-v0`: indices 0-7 (height, target angle, body velocities, roll, pitch), the 6 even
    joint entries 8..18 (positions) and 20-25 (foot contacts): 20 dims. Body velocities 3-5 stay in.
  * `halfcheetah-v-v0`: 0-7, the odd joint entries 9..19 (speeds) and 20-25: 20 dims.
  * `ant-p-v0`: 0-7, the 8 even joint entries 8..22 and 24-27: 20 dims.
The reference wrapped `halfcheetah-p-v0` in two time limits, so its time-outs were stored as
terminals; here a time-out is always a truncation.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Optional

import gymnasium

from jaxpcc.envs.quiet import quiet_c_output
from jaxpcc.envs.wrappers import FilterObsByIndex

LOCOMOTION_MODULE = "pybullet_envs_gymnasium.gym_locomotion_envs"

HALFCHEETAH_P_INDICES = tuple(range(8)) + tuple(range(8, 20, 2)) + tuple(range(20, 26))
HALFCHEETAH_V_INDICES = tuple(range(8)) + tuple(range(9, 20, 2)) + tuple(range(20, 26))
ANT_P_INDICES = tuple(range(8)) + tuple(range(8, 24, 2)) + tuple(range(24, 28))


def _locomotion_class(class_name: str):
    # The package's __init__ re-registers its ids (already registered by jaxpcc with the same entry
    # points), which makes gymnasium warn "Overriding environment"; that is expected and harmless.
    with warnings.catch_warnings(), quiet_c_output(1, 2):  # pybullet prints a build banner on import
        warnings.filterwarnings("ignore", message=".*Overriding environment.*")
        module = importlib.import_module(LOCOMOTION_MODULE)
    return getattr(module, class_name)


def locomotion(class_name: str, render_mode: Optional[str] = None) -> gymnasium.Env:
    """A pybullet-envs-gymnasium locomotion env by class name ("HalfCheetahBulletEnv")."""
    return _locomotion_class(class_name)(render_mode=render_mode)


def halfcheetah_p(render_mode: Optional[str] = None) -> gymnasium.Env:
    return FilterObsByIndex(locomotion("HalfCheetahBulletEnv", render_mode), HALFCHEETAH_P_INDICES)


def halfcheetah_v(render_mode: Optional[str] = None) -> gymnasium.Env:
    return FilterObsByIndex(locomotion("HalfCheetahBulletEnv", render_mode), HALFCHEETAH_V_INDICES)


def ant_p(render_mode: Optional[str] = None) -> gymnasium.Env:
    return FilterObsByIndex(locomotion("AntBulletEnv", render_mode), ANT_P_INDICES)
