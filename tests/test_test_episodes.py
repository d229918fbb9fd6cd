"""Deterministic test episodes: on the policy's fields alone, and for several seeds in lockstep."""

import gin
import gymnasium
import jax
import numpy as np
import pytest

from jaxpcc.agents import make_agent
from jaxpcc.evaluation import policy_view, run_test_episodes, run_test_episodes_together
from jaxpcc.learner import Learner


class CountdownEnv(gymnasium.Env):
    """Episodes end after a number of steps set by the reset seed (3 to 7), or early when the
    action exceeds 0.9; reward = action + observation, so returns tell episodes apart."""

    observation_space = gymnasium.spaces.Box(-10.0, 10.0, (2,), np.float32)
    action_space = gymnasium.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.left, self.t = 3 + seed % 5, 0
        return self._obs(), {}

    def _obs(self):
        return np.array([self.t / 10.0, self.left], np.float32)

    def step(self, action):
        self.t, self.left = self.t + 1, self.left - 1
        reward = float(action[0]) + float(self._obs().sum())
        return self._obs(), reward, bool(action[0] > 0.9), self.left == 0, {}


def one_env_act(obs):
    return np.array([np.tanh(3.0 * obs[0] + 0.1 * obs[1])], np.float32)


def test_lockstep_episodes_equal_each_env_run_alone():
    seeds = [[3, 11, 5], [7, 2, 9], [4, 4, 10]]  # lengths differ within each round of episodes
    envs = [CountdownEnv() for _ in seeds]
    calls = []

    def act(obs, carry):
        calls.append(obs.shape)
        return np.stack([one_env_act(o) for o in obs]), carry

    together = run_test_episodes_together(envs, act, None, seeds)
    all_lengths = []
    for env_seeds, (lengths, returns) in zip(seeds, together):
        env, want_lengths, want_returns = CountdownEnv(), [], []
        for seed in env_seeds:
            obs, _ = env.reset(seed=seed)
            done, length, ret = False, 0, 0.0
            while not done:
                obs, reward, terminated, truncated, _ = env.step(one_env_act(obs))
                done, length, ret = terminated or truncated, length + 1, ret + reward
            want_lengths.append(length)
            want_returns.append(ret)
        assert lengths == want_lengths
        assert returns == pytest.approx(want_returns, rel=1e-12)
        all_lengths.append(lengths)
    assert len(set(map(tuple, zip(*all_lengths)))) > 1 and any(len(set(r)) > 1 for r in zip(*all_lengths))
    assert all(shape == (3, 2) for shape in calls)  # one call acts for every env ...
    assert len(calls) == sum(max(r) for r in zip(*all_lengths))  # ... until the round's longest episode ends


@pytest.mark.parametrize("algo", ["td3", "sac"])
def test_policy_view_acts_like_the_whole_state(algo):
    agent = make_agent(algo, (3,), 1)
    state = agent.init(jax.random.PRNGKey(0))
    view = policy_view(agent, state)
    assert len(jax.tree.leaves(view)) < len(jax.tree.leaves(state)) / 3
    key, obs = jax.random.PRNGKey(1), np.array([0.3, -0.2, 0.5], np.float32)
    for deterministic in (True, False):
        np.testing.assert_array_equal(
            agent.act(view, obs, key, deterministic=deterministic), agent.act(state, obs, key, deterministic=deterministic)
        )


def test_recurrent_test_episodes_start_from_a_zero_carry_in_lockstep():
    gin.parse_config(
        """
        Summarizer.hidden_dim = 16
        Summarizer.num_layers = 1
        make_MLP.hidden_dimensions = (16, 16)
        """
    )
    agent = make_agent("rsac", (2,), 1)
    state = agent.init(jax.random.PRNGKey(0))
    seeds = [[3, 6], [8, 1]]
    learner = Learner(agent, 2)
    stacked = learner.stack([state, state])
    keys = learner.stack([jax.random.PRNGKey(5), jax.random.PRNGKey(6)])
    together = learner.test_episodes(stacked, [CountdownEnv(), CountdownEnv()], keys, seeds)
    for k, env_seeds in enumerate(seeds):
        alone = run_test_episodes(CountdownEnv(), agent, state, jax.random.PRNGKey(5 + k), env_seeds)
        assert together[k][0] == alone[0]
        np.testing.assert_allclose(together[k][1], alone[1], rtol=1e-5)
