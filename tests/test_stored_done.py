"""What the training loop stores as `done`: the env's `terminated`, never a time-limit truncation.

Two tiny envs run through the real loop (`train`), and the replay buffer is read back from the
run's checkpoint: one ends every episode by terminating after 3 steps, the other never
terminates and is cut off by its 4-step time limit. A loop that stored `terminated or truncated`
(or nothing) would fail one of the two.
"""

import gin
import gymnasium
import numpy as np
import pytest

from jaxpcc.loop import train
from jaxpcc.persistence import checkpoint
from jaxpcc.persistence.buffer_chunks import ChunkStore
from jaxpcc.persistence.run_checkpoint import BUFFER_DIR, CHECKPOINT_NAME
from jaxpcc.replay import ReplayBuffer
from jaxpcc.replay.sequence import RecurrentReplayBuffer

TERMINATING_ID, TRUNCATED_ID = "jaxpcc-test/Terminates-v0", "jaxpcc-test/TimesOut-v0"
STEPS = 12


class Countdown(gymnasium.Env):
    """Observation t / 10; terminates after `terminate_after` steps (None: never)."""

    observation_space = gymnasium.spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = gymnasium.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def __init__(self, terminate_after=None):
        self.terminate_after = terminate_after

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        terminated = self.terminate_after is not None and self.t >= self.terminate_after
        return np.array([self.t / 10], np.float32), 0.0, terminated, False, {}


LIMITS = {TERMINATING_ID: 50, TRUNCATED_ID: 4}
for env_id, after in [(TERMINATING_ID, 3), (TRUNCATED_ID, None)]:
    if env_id not in gymnasium.registry:
        gymnasium.register(env_id, entry_point=Countdown, kwargs={"terminate_after": after}, max_episode_steps=LIMITS[env_id])


def stored_buffer(run_dir, buffer):
    groups, meta = checkpoint.load(run_dir / CHECKPOINT_NAME)
    ChunkStore(run_dir / BUFFER_DIR).restore(buffer, meta["buffer_chunks"])
    buffer.load_small_state(groups["buffer"])
    return buffer


def run_loop(tmp_path, env_id, algo):
    gin.parse_config(
        f"""
        make_MLP.hidden_dimensions = (8, 8)
        Summarizer.hidden_dim = 8
        ReplayBuffer.batch_size = 2
        RecurrentReplayBuffer.batch_size = 2
        RecurrentReplayBuffer.capacity = 10
        train.num_epochs = 1
        train.num_steps_per_epoch = {STEPS}
        train.num_test_episodes_per_epoch = 1
        train.update_after = {STEPS - 4}
        train.update_every = 4
        """
    )
    train(env_id, algo, tmp_path / algo, seed=0, quiet=True)
    return tmp_path / algo


@pytest.mark.parametrize("env_id, expected", [(TERMINATING_ID, [0, 0, 1] * 4), (TRUNCATED_ID, [0] * STEPS)])
def test_transition_buffer_stores_terminated_only(tmp_path, env_id, expected):
    buffer = stored_buffer(run_loop(tmp_path, env_id, "ddpg"), ReplayBuffer((1,), 1, seed=0))
    np.testing.assert_array_equal(buffer.done[:STEPS], expected)
    np.testing.assert_array_equal(buffer.done[STEPS:], 0)


@pytest.mark.parametrize("env_id, length", [(TERMINATING_ID, 3), (TRUNCATED_ID, 4)])
def test_episode_buffer_stores_terminated_only(tmp_path, env_id, length):
    buffer = stored_buffer(run_loop(tmp_path, env_id, "rdpg"), RecurrentReplayBuffer(1, 1, max_episode_len=LIMITS[env_id], seed=0))
    episodes = STEPS // length
    np.testing.assert_array_equal(buffer.ep_len[:episodes], length)
    expected = np.zeros((episodes, length))
    if env_id == TERMINATING_ID:
        expected[:, -1] = 1.0  # the last step of each episode is a true terminal
    np.testing.assert_array_equal(buffer.done[:episodes, :length], expected)
