"""Observation wrappers: filter by index, previous action, history windows, grayscale and frame stacks."""

import gymnasium
import numpy as np
import pytest
from gymnasium import spaces

from jaxpcc.envs.image_wrappers import ConcatFrames, GrayscaleImage
from jaxpcc.envs.wrappers import ConcatObs, FilterObsByIndex, PreviousAction


class CounterEnv(gymnasium.Env):
    """obs_t = [t + 1, -(t + 1), 10 * (t + 1)] (never zero, so zero padding is visible); 1-D action."""

    def __init__(self):
        self.observation_space = spaces.Box(-np.inf, np.inf, (3,), np.float32)
        self.action_space = spaces.Box(-2.0, 2.0, (1,), np.float32)
        self.t = 0

    def _obs(self):
        k = self.t + 1
        return np.array([k, -k, 10 * k], np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        self.t += 1
        return self._obs(), 0.0, False, False, {}


class ImageEnv(gymnasium.Env):
    """RGB frames [3, 4, 5] uint8 whose value at step t is deterministic and channel dependent."""

    def __init__(self):
        self.observation_space = spaces.Box(0, 255, (3, 4, 5), np.uint8)
        self.action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.t = 0

    def frame(self, t):
        grid = np.arange(20).reshape(4, 5)
        return np.stack([(grid * 7 + t) % 256, (grid * 3 + 2 * t) % 256, (grid + 5 * t) % 256]).astype(np.uint8)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.frame(0), {}

    def step(self, action):
        self.t += 1
        return self.frame(self.t), 0.0, False, False, {}


def test_filter_obs_by_index_keeps_listed_entries_in_order():
    env = FilterObsByIndex(CounterEnv(), [2, 0])
    obs, _ = env.reset()
    np.testing.assert_array_equal(obs, [10.0, 1.0])
    assert env.observation_space.shape == (2,) and env.observation_space.dtype == np.float32
    obs, *_ = env.step(np.zeros(1))
    np.testing.assert_array_equal(obs, [20.0, 2.0])


def test_filter_obs_by_index_rejects_bad_indices():
    with pytest.raises(ValueError):
        FilterObsByIndex(CounterEnv(), [3])


def test_previous_action_is_zero_at_reset_then_the_last_action():
    env = PreviousAction(CounterEnv())
    obs, _ = env.reset()
    np.testing.assert_array_equal(obs, [1, -1, 10, 0])
    obs, *_ = env.step(np.array([1.5], np.float32))
    np.testing.assert_array_equal(obs, [2, -2, 20, 1.5])
    obs, *_ = env.step(np.array([-0.25], np.float32))
    np.testing.assert_array_equal(obs, [3, -3, 30, -0.25])
    obs, _ = env.reset()
    np.testing.assert_array_equal(obs, [1, -1, 10, 0])
    np.testing.assert_array_equal(env.observation_space.low[-1:], [-2.0])


@pytest.mark.parametrize("window", [1, 3, 5])
def test_concat_obs_is_the_last_k_observations_zero_padded(window):
    env = ConcatObs(CounterEnv(), window)
    raw = CounterEnv()
    assert env.observation_space.shape == (3 * window,)
    for episode in range(2):  # the second episode checks the history is cleared at reset
        obs, _ = env.reset()
        history = [raw.reset()[0]]
        for t in range(7):
            padded = [np.zeros(3, np.float32)] * max(0, window - len(history)) + history[-window:]
            np.testing.assert_array_equal(obs, np.concatenate(padded), err_msg=f"episode {episode} t {t}")
            obs, *_ = env.step(np.zeros(1))
            history.append(raw.step(np.zeros(1))[0])


def test_grayscale_uses_the_reference_weights_and_stays_uint8():
    env = GrayscaleImage(ImageEnv())
    obs, _ = env.reset()
    rgb = ImageEnv().frame(0).astype(np.float64)
    expected = np.rint(0.2989 * rgb[0] + 0.5870 * rgb[1] + 0.1140 * rgb[2])
    assert obs.shape == (1, 4, 5) and obs.dtype == np.uint8
    np.testing.assert_array_equal(obs[0], expected)
    assert env.observation_space.contains(obs)


def test_concat_frames_stacks_the_last_three_oldest_first():
    env = ConcatFrames(GrayscaleImage(ImageEnv()), 3)
    gray = GrayscaleImage(ImageEnv())
    obs, _ = env.reset()
    frames = [gray.reset()[0]]
    assert obs.shape == (3, 4, 5) and obs.dtype == np.uint8
    np.testing.assert_array_equal(obs[:2], 0)
    np.testing.assert_array_equal(obs[2:], frames[0])
    for _ in range(4):
        obs, *_ = env.step(np.zeros(1))
        frames.append(gray.step(np.zeros(1))[0])
        padded = [np.zeros_like(frames[0])] * max(0, 3 - len(frames)) + frames[-3:]
        np.testing.assert_array_equal(obs, np.concatenate(padded))
        assert env.observation_space.contains(obs)
