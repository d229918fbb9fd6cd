"""The device side of N seeds trained together: acting, updating and test acting, vmapped when N > 1.

An env step runs one compiled program (`step`): store the step's transition (in a `DeviceRing`),
sample and run the block of updates when one is due (from the ring, or from the batches a host
buffer sent), add their metrics to the epoch's sums, and act for the next step with the new
policy. The host sends one packed step input (the transition, the observation to act on, the step
index) and reads back the action; the metrics stay on the device until the epoch ends. Each
(block length, delay phase, acting, storing) is its own program, chosen by the host, which knows
the step and update counts, so no program branches on them.
"""

from __future__ import annotations

from typing import Callable, Optional

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

    def __init__(self, agent: Agent, n: int, explicit_transfers: Optional[bool] = None):
        """`explicit_transfers`: send each step's input with one `jax.device_put` (a GPU's way; the
        default off the CPU), or pass the numpy arrays to the programs, which on the CPU costs
        about 4 instead of 20 us a step (the default there). Tests set it to check the GPU's way."""
        self.agent, self.n = agent, n
        self._programs: dict = {}
        if explicit_transfers is None:
            explicit_transfers = jax.default_backend() != "cpu"
        self._send = jax.device_put if explicit_transfers else _as_is

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

    def step(self, state, sums: dict, carry, buffers, source, keys, t: int, act_obs=None, num_updates: int = 0, first_update: int = 0):
        """The device's part of an env step, in one call: store the step's transitions (a device
        ring), run a block of `num_updates` updates, and act for step t on `act_obs`.

        Args:
          state, sums, carry: the seeds' train states, epoch metric sums (both donated) and carries.
          buffers, source: the seeds' buffer group (`DeviceRing` or `HostBuffers`) and its
            `update_source(num_updates)`, which the block samples from.
          keys: the seeds' acting keys; t: the step the actions are for.
          act_obs: the seeds' observations to act on, or None for no action.
          first_update: how many updates the run has made before this block (the delay phase).
        Returns:
          (state, sums, actions or None, carry).
        """
        acts = act_obs is not None
        if not (acts or buffers.has_staged() or num_updates):
            return state, sums, None, carry
        step_input = self._send(buffers.step_input(act_obs if acts else _placeholder_obs(buffers, self.n), t))
        buffers.store(step_input)
        if not (acts or num_updates):
            return state, sums, None, carry
        if not num_updates:  # acting alone reads only the policy's leaves (see `policy_view`)
            actions, carry = self._program(buffers.program(), 0, 0, True)(policy_view(self.agent, state), carry, step_input, keys)
            return state, sums, self._host_actions(actions), carry
        program = self._program(buffers.program(), num_updates, first_update % self.agent.period, acts)
        source = buffers.program_source(source)
        state, sums, actions, carry = program(state, sums, carry, source, step_input, keys)
        return state, sums, (self._host_actions(actions) if acts else None), carry

    def reset_carry(self, carry, k: int):
        fresh = self.agent.start_carry()
        return fresh if self.n == 1 else jax.tree.map(lambda c, z: c.at[k].set(z), carry, fresh)

    def _acting_inputs(self, observations: list[np.ndarray], t: int):
        """The observations and the step index, as the device receives them."""
        obs = observations[0] if self.n == 1 else np.stack(observations)
        return self._send((obs, np.int32(t)))

    def _host_actions(self, actions) -> list[np.ndarray]:
        actions = np.asarray(actions)
        return [actions] if self.n == 1 else list(actions)

    def _program(self, spec, num_updates: int, phase: int, acts: bool) -> Callable:
        key = (spec, num_updates, phase, acts)
        if key not in self._programs:
            self._programs[key] = self._compile(spec, num_updates, phase, acts)
        return self._programs[key]

    def _compile(self, spec, num_updates: int, phase: int, acts: bool) -> Callable:
        """One seed's step program (vmapped over seeds when N > 1), jitted with state and sums donated."""
        agent = self.agent
        if not num_updates:

            def act_one(policy, carry, step_input, key):
                act_obs, t = spec.apply(step_input)
                return agent.step(policy, carry, act_obs, jax.random.fold_in(key, t), deterministic=False)

            return jax.jit(act_one if self.n == 1 else jax.vmap(act_one))

        def one(state, sums, carry, source, step_input, key):
            act_obs, t = spec.apply(step_input)
            if num_updates:
                batches = spec.draw(source, state.step, num_updates)
                state, metrics = agent.update_block(state, batches, phase)
                sums = add_metrics(sums, metrics, agent.metric_names)
            action = None
            if acts:
                action, carry = agent.step(state, carry, act_obs, jax.random.fold_in(key, t), deterministic=False)
            return state, sums, action, carry

        program = one if self.n == 1 else jax.vmap(one)
        return jax.jit(program, donate_argnums=(0, 1))


def _as_is(tree):
    return tree


def _placeholder_obs(buffers, n: int) -> list:
    """Zeros where a step program acts on nothing (its step input still has the slot)."""
    layout = buffers.layout
    return [np.zeros(layout.obs_shape, np.uint8 if layout.image else np.float32)] * n


def add_metrics(sums: dict, metrics: dict, names) -> dict:
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
