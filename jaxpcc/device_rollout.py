"""Env steps on the device: stretches of the training loop as one compiled program each.

For an env with a pure-JAX twin (`envs.device_envs`) and `device_env.enabled = True` (the command
line's `--env_on_device`), the loop runs its steps between two epoch ends in a few calls, not one
per step. Each step of a program does what the host loop does, in its order: act (uniform random
before `update_after`, else the policy with exploration noise), step the twin, store the
transition in the device ring, and run the update block when one is due; an episode that ends
resets the twin. Per step only its reward and whether an episode ended come back, for the
epoch's log. Test episodes still run on the registered (gymnasium) env.

Its randomness is JAX's, keyed by the run's seed: the twin's resets and the random actions before
`update_after` differ from the host loop's (numpy-seeded), and the twin computes in float32, so a
run on the device is its own reproducible run, not the host loop's bit for bit.

The step's update decides nothing on the device that the host knows: which steps update and the
delay phase of their block follow from the step index and the update count, both unbatched
across seeds, so vmapped seeds branch together (`lax.cond`/`lax.switch`, one branch runs). A
scan step stores one transition: with two stores and a draw between them in one step (TD3's two
delay phases unrolled), XLA copied the whole ring between them, 36 MB a step at a million slots.
"""

from __future__ import annotations

import collections
from typing import Callable, NamedTuple, Optional

import flax
import gin
import jax
import jax.numpy as jnp
import numpy as np

from jaxpcc.agents import Agent
from jaxpcc.device_envs import DeviceEnv, device_twin, twin_ids
from jaxpcc.learner import add_metrics
from jaxpcc.replay import device_ring
from jaxpcc.user_error import UserError

# Steps per call at most: the progress bar and a kill lose no more than this between calls.
MAX_STEPS_PER_CALL = 1000


@gin.configurable("device_env")
def device_env_enabled(enabled: bool = False) -> bool:
    """Whether the loop steps the env's JAX twin on the device (`--env_on_device`)."""
    return bool(enabled)


@flax.struct.dataclass
class EnvCarry:
    """One seed's twin between two steps: its state, the observation to act on, the episode index
    (whose key the twin was reset with). A checkpoint saves it, so a resumed run goes on in the
    same episode."""

    env_state: object
    obs: jax.Array
    episode: jax.Array


class RolloutKeys(NamedTuple):
    """One seed's keys: the policy's exploration noise (the host loop's act key), the random
    actions before `update_after`, and the twin's resets (folded with the episode index)."""

    act: jax.Array
    explore: jax.Array
    env: jax.Array


class Stretch(NamedTuple):
    """A run of steps one program serves: [start, stop), whether the policy acts (else random
    actions) and whether updates come due in it (the ring can sample at every step)."""

    start: int
    stop: int
    policy_acts: bool
    updates: bool


def twin_for(env_id: str, agent: Agent) -> DeviceEnv:
    """The env's twin, or a clear refusal (no twin, or an agent the device loop does not serve)."""
    twin = device_twin(env_id)
    if twin is None:
        raise UserError(
            f"--env_on_device: '{env_id}' has no JAX twin; envs that have one: {', '.join(twin_ids())}. "
            "Train it without the flag (the env steps on the host)."
        )
    if agent.is_recurrent:
        raise UserError(
            f"--env_on_device serves transition agents (ddpg, td3, sac); '{agent.name}' learns from whole "
            "episodes kept on the host. Train it without the flag."
        )
    return twin


def keys_for(act_key: jax.Array, seed: int) -> RolloutKeys:
    """A seed's rollout keys: its act key, and two keys of their own drawn from the seed."""
    base = jax.random.fold_in(jax.random.PRNGKey(seed), 0x0E5)
    explore, env = jax.random.split(base)
    return RolloutKeys(act_key, explore, env)


def start_episode(twin: DeviceEnv, keys: RolloutKeys, episode: int) -> EnvCarry:
    """The twin reset for episode `episode` (a fresh run starts episode 0)."""
    index = jnp.asarray(episode, jnp.int32)
    env_state, obs = twin.reset(jax.random.fold_in(keys.env, index))
    return EnvCarry(env_state, obs, index)


def stretches(start: int, stop: int, update_after: int, filled: int, batch_size: int, capacity: int) -> list[Stretch]:
    """[start, stop) cut where the policy starts acting and where updates can start, then into
    calls of at most `MAX_STEPS_PER_CALL` steps.

    The host loop updates after step t when t >= update_after and the ring, with step t's
    transition stored, holds a batch; `filled` is the ring's count before step `start`.
    """
    can_sample_from = start + max(0, batch_size - min(filled, capacity) - 1)
    # Only where something changes: acting starts, or updates start after acting did.
    changes = (update_after, can_sample_from if can_sample_from > update_after else stop)
    cuts = sorted({start, stop, *(c for c in changes if start < c < stop)})
    pieces = []
    for lo, hi in zip(cuts, cuts[1:]):
        acts = lo >= update_after
        updates = acts and lo >= can_sample_from
        for a in range(lo, hi, MAX_STEPS_PER_CALL):
            pieces.append(Stretch(a, min(hi, a + MAX_STEPS_PER_CALL), acts, updates))
    return pieces


def _row(obs, next_obs, action, reward, done) -> jax.Array:
    """A transition as its ring row (`StepLayout`'s order for vector observations)."""
    return jnp.concatenate([obs.ravel(), next_obs.ravel(), action, reward[None], done[None]]).astype(jnp.float32)


def stretch_program(agent: Agent, twin: DeviceEnv, batch_size: int, update_every: int, num_steps: int,
                    policy_acts: bool, updates: bool, n: int) -> Callable:
    """The compiled program of one stretch of `num_steps` steps, for n seeds (vmapped when n > 1).

    (state, sums, ring, env, keys, start, updates_done) -> ((state, sums, ring, env), (rewards
    [n?, S], ended [n?, S])); state, sums and ring are donated. `start` is the first step's index,
    `updates_done` the run's update count before it (the delay phase of its first block).
    """
    period = agent.period

    def block_at(phase):
        return lambda state, batches: agent.update_block(state, batches, phase)

    blocks = [block_at(p) for p in range(period)]

    def update(state, sums, ring, first_update):
        batches = device_ring.draw(ring, state.step, update_every, batch_size)
        phase = first_update % period
        state, metrics = blocks[0](state, batches) if period == 1 else jax.lax.switch(phase, blocks, state, batches)
        return state, add_metrics(sums, metrics, agent.metric_names)

    def one_seed(state, sums, ring, env: EnvCarry, keys: RolloutKeys, start, updates_done):
        def step(carry, i):
            state, sums, ring, env = carry
            t = start + i
            if policy_acts:
                action = agent.act(state, env.obs, jax.random.fold_in(keys.act, t), deterministic=False)
            else:
                action = jax.random.uniform(jax.random.fold_in(keys.explore, t), (twin.action_dim,), jnp.float32, -1.0, 1.0)
            env_state, next_obs, reward, terminated, truncated = twin.step(env.env_state, action)
            ring = device_ring.store(ring, (_row(env.obs, next_obs, action, reward, terminated.astype(jnp.float32)), None))
            if updates:
                # Blocks come due after steps t with (t + 1) % update_every == 0; those before this
                # one in the stretch made update_every updates each.
                first_update = updates_done + update_every * ((t // update_every) - (start // update_every))
                if update_every == 1:
                    state, sums = update(state, sums, ring, first_update)
                else:
                    state, sums = jax.lax.cond(
                        (t + 1) % update_every == 0, update, lambda s, m, r, u: (s, m), state, sums, ring, first_update
                    )
            ended = terminated | truncated
            fresh = start_episode(twin, keys, env.episode + 1)
            env = jax.tree.map(lambda new, old: jnp.where(ended, new, old), fresh, EnvCarry(env_state, next_obs, env.episode))
            return (state, sums, ring, env), (reward, ended)

        return jax.lax.scan(step, (state, sums, ring, env), jnp.arange(num_steps, dtype=jnp.int32))

    program = one_seed if n == 1 else jax.vmap(one_seed, in_axes=(0, 0, 0, 0, 0, None, None))
    return jax.jit(program, donate_argnums=(0, 1, 2))


# Compiled stretch programs outlive a run (later run ids, resumes, benchmark repeats): keyed by
# the agent's identity (the entry holds the agent, so its id is not reused while it lives) and the
# stretch's shape; the most recent few are kept.
_PROGRAMS: "collections.OrderedDict[tuple, tuple]" = collections.OrderedDict()
_PROGRAMS_KEPT = 16


def cached_program(agent: Agent, twin: DeviceEnv, batch_size: int, update_every: int, num_steps: int,
                   policy_acts: bool, updates: bool, n: int) -> Callable:
    """`stretch_program`, compiled once per agent, twin and stretch shape in a process."""
    key = (id(agent), twin, batch_size, update_every, num_steps, policy_acts, updates, n)
    if key not in _PROGRAMS:
        _PROGRAMS[key] = (agent, stretch_program(agent, twin, batch_size, update_every, num_steps, policy_acts, updates, n))
        while len(_PROGRAMS) > _PROGRAMS_KEPT:
            _PROGRAMS.popitem(last=False)
    _PROGRAMS.move_to_end(key)
    return _PROGRAMS[key][1]


def run_stretch(agent, twin, ring: device_ring.DeviceRing, stretch: Stretch, update_every: int, n: int,
                state, sums, env, keys, updates_done: int):
    """Runs one stretch; the ring's arrays and host positions move along. Returns (state, sums,
    env, rewards, ended), the last two on the host ([S], or [n, S] for several seeds)."""
    program = cached_program(agent, twin, ring.batch_size, update_every, stretch.stop - stretch.start,
                             stretch.policy_acts, stretch.updates, n)
    start, done = jax.device_put((np.int32(stretch.start), np.int32(updates_done)))  # the stretch's one transfer in
    (state, sums, arrays, env), (rewards, ended) = program(state, sums, ring.arrays, env, keys, start, done)
    ring.arrays = arrays
    ring.stored_on_device(stretch.stop - stretch.start)
    return state, sums, env, jax.device_get(rewards), jax.device_get(ended)


def updates_in(stretch: Stretch, update_every: int) -> int:
    """The updates a stretch makes (blocks after steps t with (t + 1) % update_every == 0)."""
    if not stretch.updates:
        return 0
    return update_every * (stretch.stop // update_every - stretch.start // update_every)


def env_template_of(env_id: str) -> Optional[EnvCarry]:
    """An EnvCarry of the env's twin's shapes (what a checkpoint's twin is read into), or None
    for an env without a twin."""
    twin = device_twin(env_id)
    if twin is None:
        return None
    return start_episode(twin, RolloutKeys(*jax.random.split(jax.random.PRNGKey(0), 3)), 0)
