"""A dm_control suite task as a gymnasium env (our own dmc2gym-style adapter).

* Observation: the task's observation dict flattened in key order (float32 [D]), optionally
  without some keys (`exclude_keys`), or, with `from_pixels`, an offscreen render as uint8
  [3, H, W].
* Action: the task's own bounds as a float32 Box (`make_env` rescales it to [-1, 1]). Unbounded
  actions (the `lqr` tasks declare +-1e10) are exposed as [-1, 1].
* `frame_skip` repeats each action; the rewards of the repeats are summed, and the repeats stop
  early when dm_control ends the episode.
* dm_control's own time limit ends an episode with discount 1: that is reported as a gymnasium
  *truncation*. A true termination (discount 0) is `terminated=True`. The reference stored both as
  terminals; jaxpcc bootstraps through time-outs (a documented deviation).
* Randomness: the task's `RandomState` is reseeded at every reset from the env's `np_random`, so
  `reset(seed=s)` fixes the whole episode (the reference seeded every instance with 1).

Offscreen rendering: see `jaxpcc.envs.gl_backend` (osmesa by default).
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

from jaxpcc.envs import gl_backend  # noqa: F401  (must precede the dm_control import)

import gymnasium  # noqa: E402
import numpy as np  # noqa: E402
from dm_control import suite  # noqa: E402
from gymnasium import spaces  # noqa: E402

_UNBOUNDED = 1e6  # action bounds beyond this are treated as unbounded


class DMCEnv(gymnasium.Env):
    """dm_control `domain`/`task` behind the gymnasium API.

    Args:
      domain: a dm_control suite domain ("cartpole").
      task: one of its tasks ("balance").
      exclude_keys: observation keys to drop (e.g. ("velocity",)).
      frame_skip: physics control steps per env step (action repeat).
      from_pixels: observe an RGB render instead of the state.
      height, width, camera_id: the pixel observation's size and camera.
      render_mode: None or "rgb_array".
      render_size: (height, width) of `render()` frames (camera `camera_id`).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}

    def __init__(
        self,
        domain: str,
        task: str,
        exclude_keys: Sequence[str] = (),
        frame_skip: int = 1,
        from_pixels: bool = False,
        height: int = 84,
        width: int = 84,
        camera_id: int = 0,
        render_mode: Optional[str] = None,
        render_size: tuple[int, int] = (240, 320),
    ):
        if frame_skip < 1:
            raise ValueError(f"frame_skip must be >= 1, got {frame_skip}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.render_mode = render_mode
        self._task_random = np.random.RandomState(0)
        self._env = suite.load(
            domain, task, task_kwargs={"random": self._task_random}, visualize_reward=not from_pixels
        )
        self.domain, self.task = domain, task
        self.frame_skip = int(frame_skip)
        self.from_pixels = bool(from_pixels)
        self._height, self._width, self._camera_id = int(height), int(width), int(camera_id)
        self._render_size = (int(render_size[0]), int(render_size[1]))

        obs_spec = self._env.observation_spec()
        unknown = set(exclude_keys) - set(obs_spec)
        if unknown:
            raise ValueError(f"unknown observation keys {sorted(unknown)}; {domain}/{task} has {list(obs_spec)}")
        self.obs_keys = tuple(k for k in obs_spec if k not in set(exclude_keys))
        if self.from_pixels:
            self.observation_space = spaces.Box(0, 255, (3, self._height, self._width), np.uint8)
        else:
            dim = sum(int(np.prod(obs_spec[k].shape)) for k in self.obs_keys)
            self.observation_space = spaces.Box(-np.inf, np.inf, (dim,), np.float32)

        spec = self._env.action_spec()
        low = np.broadcast_to(np.asarray(spec.minimum, np.float64), spec.shape)
        high = np.broadcast_to(np.asarray(spec.maximum, np.float64), spec.shape)
        low = np.where(np.abs(low) > _UNBOUNDED, -1.0, low)
        high = np.where(np.abs(high) > _UNBOUNDED, 1.0, high)
        self.action_space = spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)

        step_limit = self._env._step_limit  # physics control steps per episode (inf for lqr)
        physics_steps = 1000 if math.isinf(step_limit) else int(round(step_limit))
        self.max_episode_steps = math.ceil(physics_steps / self.frame_skip)

    @property
    def physics(self):
        return self._env.physics

    def _observation(self, time_step) -> np.ndarray:
        if self.from_pixels:
            return self._render_rgb(self._height, self._width).transpose(2, 0, 1).copy()
        parts = [np.asarray(time_step.observation[k], np.float64).ravel() for k in self.obs_keys]
        return np.concatenate(parts).astype(np.float32)

    def _render_rgb(self, height: int, width: int) -> np.ndarray:
        return self._env.physics.render(height=height, width=width, camera_id=self._camera_id)

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict[str, Any]] = None):
        super().reset(seed=seed)
        self._task_random.seed(int(self.np_random.integers(0, 2**32 - 1)))
        time_step = self._env.reset()
        return self._observation(time_step), {}

    def step(self, action):
        action = np.clip(np.asarray(action, np.float64), self.action_space.low, self.action_space.high)
        reward = 0.0
        for _ in range(self.frame_skip):
            time_step = self._env.step(action)
            reward += float(time_step.reward or 0.0)
            if time_step.last():
                break
        terminated = bool(time_step.last() and time_step.discount == 0.0)
        truncated = bool(time_step.last() and not terminated)
        return self._observation(time_step), reward, terminated, truncated, {}

    def render(self):
        if self.render_mode == "rgb_array":
            return self._render_rgb(*self._render_size)
        return None

    def close(self):
        env, self._env = getattr(self, "_env", None), None
        if env is not None:
            env.close()


def make(domain: str, task: str, **kwargs) -> DMCEnv:
    """`DMCEnv(domain, task, frame_skip=5, **kwargs)`: the state-based convention of the reference."""
    kwargs.setdefault("frame_skip", 5)
    return DMCEnv(domain, task, **kwargs)
