"""Wrappers for channels-first uint8 image observations ([C, H, W]).

Documented difference from the reference: the reference divided pixels by 255 (float64) before the
grayscale conversion; jaxpcc keeps observations as uint8 in 0..255 (4x less replay memory, the
grayscale value rounded to the nearest integer) and the image agent divides by 255 on the device.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

RGB_WEIGHTS = np.array([0.2989, 0.5870, 0.1140])


class GrayscaleImage(gymnasium.ObservationWrapper):
    """[3, H, W] uint8 RGB -> [1, H, W] uint8 gray, gray = 0.2989 R + 0.5870 G + 0.1140 B (rounded)."""

    def __init__(self, env: gymnasium.Env):
        super().__init__(env)
        old = env.observation_space
        if not isinstance(old, spaces.Box) or len(old.shape) != 3 or old.shape[0] != 3:
            raise ValueError(f"GrayscaleImage needs a [3, H, W] Box, got {old}")
        self.observation_space = spaces.Box(0, 255, (1,) + old.shape[1:], np.uint8)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        gray = np.tensordot(RGB_WEIGHTS, np.asarray(observation, np.float64), axes=(0, 0))
        return np.clip(np.rint(gray), 0, 255).astype(np.uint8)[None]


class ConcatFrames(gymnasium.Wrapper):
    """Stacks the last `window` frames on the channel axis, oldest first; zero frames after a reset.

    Args:
      env: an env with a [C, H, W] uint8 Box observation space.
      window: how many frames to keep; the output has `window * C` channels.
    """

    def __init__(self, env: gymnasium.Env, window: int):
        super().__init__(env)
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        old = env.observation_space
        if not isinstance(old, spaces.Box) or len(old.shape) != 3:
            raise ValueError(f"ConcatFrames needs a [C, H, W] Box, got {old}")
        self.window = int(window)
        self._frame_shape = old.shape
        self.observation_space = spaces.Box(
            0, 255, (old.shape[0] * self.window,) + old.shape[1:], old.dtype
        )
        self._frames: deque = deque(maxlen=self.window)

    def _push(self, frame: np.ndarray) -> np.ndarray:
        self._frames.append(np.asarray(frame, self.observation_space.dtype))
        return np.concatenate(self._frames, axis=0)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self._frames.clear()
        for _ in range(self.window - 1):
            self._frames.append(np.zeros(self._frame_shape, self.observation_space.dtype))
        return self._push(obs), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._push(obs), reward, terminated, truncated, info
