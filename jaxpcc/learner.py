"""The device side of N seeds trained together: acting, updating and test acting, vmapped when N > 1.

An env step that ends with an update runs one compiled program: sample the block's batches
(on the device, from a `DeviceRing`; or take the ones a host buffer sent), run the block of
updates, add their metrics to the epoch's sums, and act on the next observation with the new
policy. The host therefore sends the observation to act on and its step index, and reads back
the action; the metrics stay on the device until the epoch ends. Each (block length, delay phase,
acting or not) is its own program, chosen by the host, which knows the step and update counts.
"""

from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxpcc.agents import Agent
from jaxpcc.evaluation import policy_view, run_test_episodes, run_test_episodes_together

UPDATES = "updates"  # the key of the update count in the metric sums


class Learner:
    """Acting and updating for N seeds, over a leading seed axis when N > 1.

    With one seed the agent's own functions run unvmapped, so a run trained alone is the same
    program whether or not vectorized runs exist. The seeds' acting keys are arguments, not
    constants, so one Learner (and its compiled programs) serves every run of its agent and N.
    Every agent acts with a carry (() for a feed-forward one), so nothing here asks which kind it is.
    """

    def __init__(self, agent: Agent, n: int):
        self.agent, self.n = agent, n
        self._programs: dict = {}

        def act_one(s, c, o, k, t):
            return agent.step(s, c, o, jax.random.fold_in(k, t), deterministic=False)

        def test_one(s, c, o, k):
            return agent.step(s, c, o, k, deterministic=True)

        if n == 1:
            self._act = jax.jit(act_one)
        else:
            self._act = jax.jit(jax.vmap(act_one, in_axes=(0, 0, 0, 0, None)))
            self._act_test = jax.jit(jax.vmap(test_one, in_axes=(0, 0, 0, 0)))

    def stack(self, trees: list):
        return trees[0] if self.n == 1 else jax.tree.map(lambda *xs: jnp.stack(xs), *trees)

    def select(self, tree, k: int):
        return tree if self.n == 1 else jax.tree.map(lambda x: x[k], tree)

    def start_carry(self):
        """The episode-start carry of every seed (stacked when N > 1)."""
        return self.stack([self.agent.start_carry()] * self.n)

    def zero_sums(self) -> dict:
        """The epoch's metric sums before its first update (one per seed when N > 1)."""
        zero = {name: jnp.zeros((), jnp.float32) for name in (*self.agent.metric_names, UPDATES)}
        return self.stack([zero] * self.n)

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

    def act(self, state, carry, observations: list[np.ndarray], keys: jax.Array, t: int):
        """Exploration actions for step t (one per seed) and the carries after them."""
        obs, step = self._acting_inputs(observations, t)
        actions, carry = self._act(policy_view(self.agent, state), carry, obs, keys, step)
        return self._host_actions(actions), carry

    def update(self, state, sums: dict, carry, sampler: Callable, source, num_updates: int, first_update: int, then_act=None):
        """A block of `num_updates` updates per seed, then (optionally) the next actions, in one call.

        Args:
          state, sums, carry: the seeds' train states, epoch metric sums (both donated) and carries.
          sampler, source: the buffer group's `sampler()` and `update_source(num_updates)`: the
            block's batches are `sampler(source, state.step, num_updates)`, drawn in the program.
          first_update: how many updates the run has made before this block (the delay phase).
          then_act: None, or (observations, keys, t): act for step t on the seeds' observations.
        Returns:
          (state, sums, actions or None, carry).
        """
        program = self._program(sampler, num_updates, first_update % self.agent.period, then_act is not None)
        if then_act is None:
            state, sums = program(state, sums, source)
            return state, sums, None, carry
        observations, keys, t = then_act
        obs, step = self._acting_inputs(observations, t)
        state, sums, actions, carry = program(state, sums, source, carry, obs, keys, step)
        return state, sums, self._host_actions(actions), carry

    def reset_carry(self, carry, k: int):
        fresh = self.agent.start_carry()
        return fresh if self.n == 1 else jax.tree.map(lambda c, z: c.at[k].set(z), carry, fresh)

    def _acting_inputs(self, observations: list[np.ndarray], t: int):
        """The observations and the step index, sent to the device in one transfer."""
        obs = observations[0] if self.n == 1 else np.stack(observations)
        return jax.device_put((obs, np.int32(t)))

    def _host_actions(self, actions) -> list[np.ndarray]:
        actions = np.asarray(actions)
        return [actions] if self.n == 1 else list(actions)

    def _program(self, sampler: Callable, num_updates: int, phase: int, acts: bool) -> Callable:
        key = (sampler, num_updates, phase, acts)
        if key not in self._programs:
            self._programs[key] = self._compile(sampler, num_updates, phase, acts)
        return self._programs[key]

    def _compile(self, sampler: Callable, num_updates: int, phase: int, acts: bool) -> Callable:
        agent = self.agent

        def update_one(state, sums, source):
            batches = sampler(source, state.step, num_updates)
            state, metrics = agent.update_block(state, batches, phase)
            return state, _add_metrics(sums, metrics, agent.metric_names)

        def update_then_act_one(state, sums, source, carry, obs, key, t):
            state, sums = update_one(state, sums, source)
            action, carry = agent.step(state, carry, obs, jax.random.fold_in(key, t), deterministic=False)
            return state, sums, action, carry

        one = update_then_act_one if acts else update_one
        if self.n == 1:
            if sampler.has_seed_axis:
                one = _first_seed_source(one)
            return jax.jit(one, donate_argnums=(0, 1))
        axes = (0, 0, 0, 0, 0, 0, None) if acts else (0, 0, 0)
        return jax.jit(jax.vmap(one, in_axes=axes), donate_argnums=(0, 1))


def _first_seed_source(program: Callable) -> Callable:
    """`program` reading a seed-stacked source ([1, ...], one seed) as that seed's own."""

    @functools.wraps(program)
    def wrapped(state, sums, source, *rest):
        return program(state, sums, jax.tree.map(lambda x: x[0], source), *rest)

    return wrapped


def _add_metrics(sums: dict, metrics: dict, names) -> dict:
    """The epoch's sums plus a block's per-update metrics ([K] each)."""
    missing = [name for name in names if name not in metrics]
    if missing:
        raise KeyError(f"the update logs no {missing}; its metrics are {sorted(metrics)}")
    count = jax.tree.leaves(metrics)[0].shape[0]
    added = {name: sums[name] + jnp.sum(metrics[name]).astype(jnp.float32) for name in names}
    return {**added, UPDATES: sums[UPDATES] + count}


def epoch_means(host_sums: dict, names: dict[str, str]) -> dict[str, float]:
    """One seed's means over the epoch's updates, keyed by the reference's names ({} with no update)."""
    count = float(host_sums[UPDATES])
    if count == 0:
        return {}
    return {names[k]: float(host_sums[k]) / count for k in names}
