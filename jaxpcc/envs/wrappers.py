"""Observation wrappers that turn full-state envs into the reference's POMDPs and history variants.

All of them work on flat float32 vector observations ([D]); the image counterparts live in
`jaxpcc.envs.image_wrappers`.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Sequence

import gymnasium
import numpy as np
from gymnasium import spaces


def _float_box(low: np.ndarray, high: np.ndarray) -> spaces.Box:
    """A float32 Box built from bounds already cast, so gymnasium never warns about precision."""
    return spaces.Box(low=np.asarray(low, np.float32), high=np.asarray(high, np.float32), dtype=np.float32)


class FilterObsByIndex(gymnasium.ObservationWrapper):
    """Keeps the listed observation entries, in the listed order.

    Args:
      env: an env with a 1-D Box observation space.
      indices: indices of the entries to keep ([K] ints).
    """

    def __init__(self, env: gymnasium.Env, indices: Sequence[int]):
        super().__init__(env)
        self.indices = np.asarray(list(indices), dtype=np.int64)
        old = env.observation_space
        if not isinstance(old, spaces.Box) or len(old.shape) != 1:
            raise ValueError(f"FilterObsByIndex needs a 1-D Box observation space, got {old}")
        if self.indices.size == 0 or self.indices.min() < 0 or self.indices.max() >= old.shape[0]:
            raise ValueError(f"indices {list(self.indices)} out of range for {old.shape[0]} entries")
        self.observation_space = _float_box(old.low[self.indices], old.high[self.indices])

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return np.asarray(observation, np.float32)[self.indices]


class PreviousAction(gymnasium.Wrapper):
    """Appends the previous action to the observation: [obs, a_{t-1}], with zeros after a reset.

    The action recorded is the one this wrapper receives, i.e. in the wrapped env's own action
    range (the torque in [-2, 2] for the pendulum), as in the reference.
    """

    def __init__(self, env: gymnasium.Env):
        super().__init__(env)
        obs_space, act_space = env.observation_space, env.action_space
        if not isinstance(act_space, spaces.Box) or len(act_space.shape) != 1:
            raise ValueError(f"PreviousAction needs a 1-D Box action space, got {act_space}")
        self.observation_space = _float_box(
            np.concatenate([obs_space.low, act_space.low]), np.concatenate([obs_space.high, act_space.high])
        )
        self._zero_action = np.zeros(act_space.shape, np.float32)

    def _augment(self, obs: np.ndarray, action: np.ndarray) -> np.ndarray:
        return np.concatenate([np.asarray(obs, np.float32), action]).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        return self._augment(obs, self._zero_action), info

    def step(self, action):
        previous = np.asarray(action, np.float32).reshape(self._zero_action.shape).copy()
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._augment(obs, previous), reward, terminated, truncated, info


class ConcatObs(gymnasium.Wrapper):
    """Observation = the last `window` observations concatenated, oldest first ([window * D]).

    At reset the history holds `window - 1` zero vectors and then the first observation.

    Args:
      env: an env with a 1-D Box observation space.
      window: how many observations to keep (k >= 1).
    """

    def __init__(self, env: gymnasium.Env, window: int):
        super().__init__(env)
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        old = env.observation_space
        if not isinstance(old, spaces.Box) or len(old.shape) != 1:
            raise ValueError(f"ConcatObs needs a 1-D Box observation space, got {old}")
        self.window = int(window)
        self._dim = old.shape[0]
        self.observation_space = _float_box(np.tile(old.low, window), np.tile(old.high, window))
        self._history: deque = deque(maxlen=self.window)

    def _push(self, obs: np.ndarray) -> np.ndarray:
        self._history.append(np.asarray(obs, np.float32))
        return np.concatenate(self._history)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self._history.clear()
        for _ in range(self.window - 1):
            self._history.append(np.zeros(self._dim, np.float32))
        return self._push(obs), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._push(obs), reward, terminated, truncated, info
