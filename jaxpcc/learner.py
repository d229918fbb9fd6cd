"""The device side of N seeds trained together: acting, test acting and updating, vmapped when N > 1."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxpcc.agents import Agent
from jaxpcc.evaluation import policy_view, run_test_episodes, run_test_episodes_together


class Learner:
    """Acting and updating for N seeds, over a leading seed axis when N > 1.

    With one seed the agent's own jitted functions run unchanged, so a run trained alone is the
    same program whether or not vectorized runs exist. The seeds' acting keys are arguments, not
    constants, so one Learner (and its compiled programs) serves every run of its agent and N.
    Every agent acts with a carry (() for a feed-forward one), so nothing here asks which kind it is.
    """

    def __init__(self, agent: Agent, n: int):
        self.agent, self.n = agent, n

        def act_one(s, c, o, k, t):
            return agent.step(s, c, o, jax.random.fold_in(k, t), deterministic=False)

        def test_one(s, c, o, k):
            return agent.step(s, c, o, k, deterministic=True)

        if n == 1:
            self._act = jax.jit(act_one)
            self._update = agent.update_many
        else:
            self._act = jax.jit(jax.vmap(act_one, in_axes=(0, 0, 0, 0, None)))
            self._act_test = jax.jit(jax.vmap(test_one, in_axes=(0, 0, 0, 0)))
            self._update = agent.update_seeds

    def stack(self, trees: list):
        return trees[0] if self.n == 1 else jax.tree.map(lambda *xs: jnp.stack(xs), *trees)

    def select(self, tree, k: int):
        return tree if self.n == 1 else jax.tree.map(lambda x: x[k], tree)

    def start_carry(self):
        """The episode-start carry of every seed (stacked when N > 1)."""
        return self.stack([self.agent.start_carry()] * self.n)

    def test_episodes(self, state, envs: list, keys: jax.Array, seeds: list[list[int]]) -> list[tuple[list, list]]:
        """Each seed's deterministic test episodes on its own test env: (lengths, returns) per seed.

        One seed runs them as `run_test_episodes`; several step their test envs in lockstep with
        one vmapped act call per step for all seeds, instead of one call per seed.
        """
        if self.n == 1:
            return [run_test_episodes(envs[0], self.agent, state, keys, seeds[0])]
        policy = policy_view(self.agent, state)

        def act(obs, c):
            actions, c = self._act_test(policy, c, obs, keys)
            return np.asarray(actions), c

        return run_test_episodes_together(envs, act, self.start_carry(), seeds)

    def act(self, policy, carry, observations: list[np.ndarray], keys: jax.Array, t: int):
        """Exploration actions for step t from `policy_view(agent, state)` (taken once per update, not per
        step); `keys` are the seeds' acting keys (stacked when N > 1)."""
        obs = observations[0] if self.n == 1 else np.stack(observations)
        actions, carry = self._act(policy, carry, obs, keys, t)
        actions = np.asarray(actions)
        return ([actions] if self.n == 1 else list(actions)), carry

    def reset_carry(self, carry, k: int):
        fresh = self.agent.start_carry()
        return fresh if self.n == 1 else jax.tree.map(lambda c, z: c.at[k].set(z), carry, fresh)

    def update(self, state, batches: list):
        """One block of updates per seed; the seeds' batches reach the device in one transfer."""
        stacked = batches[0] if self.n == 1 else jax.tree.map(lambda *xs: np.stack(xs), *batches)
        return self._update(state, jax.device_put(stacked))
