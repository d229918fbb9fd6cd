"""The reference's MuJoCo Reacher and its "You Only Peek Once" POMDPs.

Built on gymnasium's `MujocoEnv` with gymnasium's own `reacher.xml` (frame skip 2, dt 0.02, 50 steps
by the registered time limit), reproducing gym's original Reacher-v2 that the reference modified:
  * Observation (11): [cos q1, cos q2, sin q1, sin q2, target x, target y, q1_dot, q2_dot,
    (fingertip - target) x, y, z].
  * Reward = -|fingertip - target| - |a|^2, computed on the state *before* the physics step (as in
    gym's original). Never terminates.
  * Reset: qpos = init + U(-0.1, 0.1) per entry; goal ~ U(-0.2, 0.2)^2 redrawn until |goal| < 0.2,
    written to the last two qpos entries; qvel = init + U(-0.005, 0.005), target velocity 0.
`pomdp_v0` shows the goal entries (4, 5, 8, 9, 10) only in the reset observation (zero afterwards)
and appends a 2-entry "previous action" that is always zero (a reference quirk, kept so the
observation layout matches). `pomdp_v1` keeps indices [0..5, 8, 9, 10] of v0.
"""

from __future__ import annotations

from typing import Optional

from jaxpcc.envs import gl_backend  # noqa: F401  (must precede the mujoco import)

import gymnasium  # noqa: E402
import numpy as np  # noqa: E402
from gymnasium import spaces, utils  # noqa: E402
from gymnasium.envs.mujoco.mujoco_env import MujocoEnv  # noqa: E402

from jaxpcc.envs.wrappers import FilterObsByIndex  # noqa: E402

GOAL_INDICES = (4, 5, 8, 9, 10)
POMDP_V1_INDICES = (0, 1, 2, 3, 4, 5, 8, 9, 10)


class ReacherEnv(MujocoEnv, utils.EzPickle):
    """Reacher with the reference's observation, reward and reset (see the module docstring).

    Args:
      yopo: "you only peek once": hide the goal after the first observation and append the
        (always zero) previous-action entries.
      render_mode: None, "human" or "rgb_array".
    """

    metadata = {"render_modes": ["human", "rgb_array", "depth_array", "rgbd_tuple"], "render_fps": 50}

    def __init__(self, yopo: bool = False, render_mode: Optional[str] = None):
        utils.EzPickle.__init__(self, yopo, render_mode)
        self.yopo = bool(yopo)
        dim = 13 if self.yopo else 11
        MujocoEnv.__init__(
            self,
            "reacher.xml",
            2,
            observation_space=spaces.Box(-np.inf, np.inf, (dim,), np.float32),
            render_mode=render_mode,
            default_camera_config={"trackbodyid": 0},
        )
        self._first_observation = True

    def _full_obs(self) -> np.ndarray:
        qpos, qvel = self.data.qpos.flat, self.data.qvel.flat
        angles = qpos[:2]
        return np.concatenate(
            [
                np.cos(angles),
                np.sin(angles),
                qpos[2:],
                qvel[:2],
                self.get_body_com("fingertip") - self.get_body_com("target"),
            ]
        )

    def _get_obs(self) -> np.ndarray:
        obs = self._full_obs()
        if self.yopo:
            if self._first_observation:
                self._first_observation = False
            else:
                obs[list(GOAL_INDICES)] = 0.0
            obs = np.concatenate([obs, np.zeros(2)])
        return obs.astype(np.float32)

    def step(self, action):
        action = np.asarray(action, np.float64)
        offset = self.get_body_com("fingertip") - self.get_body_com("target")
        reward_dist = -float(np.linalg.norm(offset))
        reward_ctrl = -float(np.square(action).sum())
        self.do_simulation(action, self.frame_skip)
        if self.render_mode == "human":
            self.render()
        info = {"reward_dist": reward_dist, "reward_ctrl": reward_ctrl}
        return self._get_obs(), reward_dist + reward_ctrl, False, False, info

    def reset_model(self) -> np.ndarray:
        self._first_observation = True
        qpos = self.init_qpos + self.np_random.uniform(-0.1, 0.1, size=self.model.nq)
        while True:
            goal = self.np_random.uniform(-0.2, 0.2, size=2)
            if np.linalg.norm(goal) < 0.2:
                break
        qpos[-2:] = goal
        qvel = self.init_qvel + self.np_random.uniform(-0.005, 0.005, size=self.model.nv)
        qvel[-2:] = 0.0
        self.set_state(qpos, qvel)
        return self._get_obs()


def mdp(render_mode: Optional[str] = None) -> gymnasium.Env:
    return ReacherEnv(yopo=False, render_mode=render_mode)


def pomdp_v0(render_mode: Optional[str] = None) -> gymnasium.Env:
    return ReacherEnv(yopo=True, render_mode=render_mode)


def pomdp_v1(render_mode: Optional[str] = None) -> gymnasium.Env:
    return FilterObsByIndex(pomdp_v0(render_mode), POMDP_V1_INDICES)
