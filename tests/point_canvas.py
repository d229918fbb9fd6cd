"""A tiny image env for the image-agent tests: steer a point to the centre of a canvas.

State: a point (x, y) in [-1, 1]^2, started at random. Action in [-1, 1]^2 moves it by
0.25 * action (clipped to the box). Reward: -|(x, y)|, so the best policy heads for the centre
and stays. Observation: uint8 [3, S, S] rendered with NumPy: channel 0 a 3x3 bright square at
the point, channel 1 the fixed centre marker, channel 2 the point's previous position (so the
image shows the motion). `render()` gives an RGB [S, S, 3] view of the same picture.
"""

from __future__ import annotations

from typing import Any, Optional

import gymnasium
import numpy as np
from gymnasium import spaces

ENV_ID = "PointCanvas-v0"


class PointCanvasEnv(gymnasium.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, size: int = 24, render_mode: Optional[str] = None):
        self.size = int(size)
        self.render_mode = render_mode
        self.observation_space = spaces.Box(0, 255, (3, self.size, self.size), np.uint8)
        self.action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.pos = np.zeros(2)
        self.prev = np.zeros(2)

    def _pixel(self, p: np.ndarray) -> tuple[int, int]:
        row, col = np.rint((p + 1.0) / 2.0 * (self.size - 3)).astype(int) + 1
        return int(row), int(col)

    def _observation(self) -> np.ndarray:
        img = np.zeros((3, self.size, self.size), np.uint8)
        for channel, p in ((0, self.pos), (1, np.zeros(2)), (2, self.prev)):
            r, c = self._pixel(p)
            img[channel, r - 1 : r + 2, c - 1 : c + 2] = 255
        return img

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict[str, Any]] = None):
        super().reset(seed=seed)
        self.pos = self.np_random.uniform(-1.0, 1.0, 2)
        self.prev = self.pos.copy()
        return self._observation(), {}

    def step(self, action):
        self.prev = self.pos.copy()
        self.pos = np.clip(self.pos + 0.25 * np.clip(np.asarray(action, np.float64), -1, 1), -1.0, 1.0)
        reward = -float(np.linalg.norm(self.pos))
        return self._observation(), reward, False, False, {}

    def render(self):
        if self.render_mode == "rgb_array":
            return np.ascontiguousarray(self._observation().transpose(1, 2, 0))
        return None


def register(max_episode_steps: int = 25) -> str:
    """Registers the env with gymnasium (idempotent) and returns its id."""
    if ENV_ID not in gymnasium.registry:
        gymnasium.register(ENV_ID, entry_point=PointCanvasEnv, max_episode_steps=max_episode_steps)
    return ENV_ID
