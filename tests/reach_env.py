"""A 1-D point that should reach the origin (obs [x], action [dx] in [-0.5, 0.5]), and a variant
with discrete actions that jaxpcc must refuse: the smallest users' envs, for the API and CLI tests."""

import gymnasium
import numpy as np


class Reach(gymnasium.Env):
    observation_space = gymnasium.spaces.Box(-10.0, 10.0, (1,), np.float32)
    action_space = gymnasium.spaces.Box(-0.5, 0.5, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x = float(self.np_random.uniform(-2, 2))
        return np.array([self.x], np.float32), {}

    def step(self, action):
        self.x = float(np.clip(self.x + float(action[0]), -10, 10))
        return np.array([self.x], np.float32), -abs(self.x), False, False, {}


class Choose(Reach):
    action_space = gymnasium.spaces.Discrete(2)
