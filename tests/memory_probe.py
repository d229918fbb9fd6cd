"""A tiny memory probe for the recurrent tests: the reward depends on a cue shown steps earlier.

At reset the observation shows a cue c in {-1, +1}; every later observation is 0. Each of the
following steps pays -(a - c)^2. A policy that remembers the cue earns 0; one that sees only the
current observation can do no better than a = 0, i.e. -1 per step (-3 per episode).
"""

import gymnasium
import numpy as np

MEMORY_PROBE_ID = "jaxpcc-test/MemoryProbe-v0"
EPISODE_LEN = 4


class MemoryProbeEnv(gymnasium.Env):
    observation_space = gymnasium.spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = gymnasium.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.cue = float(self.np_random.choice([-1.0, 1.0]))
        self.t = 0
        return np.array([self.cue], np.float32), {}

    def step(self, action):
        reward = 0.0 if self.t == 0 else -float((float(action[0]) - self.cue) ** 2)
        self.t += 1
        return np.zeros(1, np.float32), reward, False, False, {}


if MEMORY_PROBE_ID not in gymnasium.registry:
    gymnasium.register(MEMORY_PROBE_ID, entry_point=MemoryProbeEnv, max_episode_steps=EPISODE_LEN)
