"""The transition ring on the device: stored, sampled and read by the update program itself.

With one gradient update per env step (the reference's default), a host buffer must gather a
batch and send it to the device every step. Kept on the device instead, the ring receives one
transition per step and the jitted update samples its own batches, so a step moves only the
transition in and the action out (on a GPU as on the CPU), and the update program can be the
same call that acts.

The semantics are the flat `ReplayBuffer`'s: capacity counts transitions, the oldest are
overwritten once full, sampling is uniform with replacement over the filled slots, and `done`
is the terminated flag alone. Images stay uint8. Sampling draws from a key of the ring's own
(one per seed) folded with the update counter of the train state, so a resumed run samples
what it would have sampled, with no generator state to save.

Several seeds trained together keep their rings stacked along a leading seed axis in one
`DeviceRing`, which the vmapped update reads whole; `DeviceRing.views` gives each seed the host
interface a run's buffer has (push, checkpoint slots, last actions), so checkpoints and resumes
treat it as any other buffer. The ring exists once: on the device, never mirrored on the host.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxpcc.replay.dirty import DirtyRange
from jaxpcc.replay.ring import checked_position, load_filled_slots
from jaxpcc.types import Batch

_SLOT_FIELDS = ("obs", "next_obs", "action", "reward", "done")


class RingArrays(NamedTuple):
    """The rings of N seeds (a pytree; every leaf has a leading [N] seed axis).

    obs, next_obs: [N, C, *obs_shape]; action: [N, C, A]; reward, done: [N, C];
    ptr, size: [N] int32 (next slot to write, slots filled); key: [N, 2] sampling keys.
    """

    obs: jax.Array
    next_obs: jax.Array
    action: jax.Array
    reward: jax.Array
    done: jax.Array
    ptr: jax.Array
    size: jax.Array
    key: jax.Array


class StepInput(NamedTuple):
    """What the host sends the device in one env step, packed in one transfer per dtype.

    floats: [N, F] float32: per seed its transition's action, reward and done, the step index
      (its int32 bits), then, for vector observations, the transition's obs and next_obs and the
      observation to act on. images: [N, 3, *obs_shape] uint8 (those three observations) for image
      observations, else None.
    """

    floats: np.ndarray
    images: Optional[np.ndarray] = None


class StepLayout(NamedTuple):
    """How a `StepInput` is packed for one ring's observation shape and action size."""

    obs_shape: tuple
    action_dim: int
    image: bool

    @property
    def obs_size(self) -> int:
        return int(np.prod(self.obs_shape))

    def encode(self, transitions: Sequence, act_obs: Sequence, t: int) -> StepInput:
        """Packs one transition per seed ((obs, action, reward, next_obs, done), or None when the
        step stored nothing) with the observations to act on and the step index."""
        n, a = len(act_obs), self.action_dim
        width = a + 3 + (0 if self.image else 3 * self.obs_size)
        floats = np.zeros((n, width), np.float32)
        images = np.zeros((n, 3, *self.obs_shape), np.uint8) if self.image else None
        floats[:, a + 2] = np.array([t], np.int32).view(np.float32)[0]
        for k, (transition, obs_now) in enumerate(zip(transitions, act_obs)):
            observations = (transition[0], transition[3], obs_now) if transition is not None else (obs_now, obs_now, obs_now)
            if transition is not None:
                floats[k, :a] = transition[1]
                floats[k, a] = transition[2]
                floats[k, a + 1] = transition[4]
            if self.image:
                images[k] = observations
            else:
                floats[k, a + 3 :] = np.concatenate([np.ravel(o) for o in observations])
        return StepInput(floats, images)

    def decode(self, step: StepInput):
        """One seed's transition (obs, action, reward, next_obs, done), the observation to act on
        and the step index."""
        f, a = step.floats, self.action_dim
        t = jax.lax.bitcast_convert_type(f[a + 2], jnp.int32)
        if self.image:
            obs, next_obs, act_obs = step.images[0], step.images[1], step.images[2]
        else:
            o = self.obs_size
            obs, next_obs, act_obs = (f[a + 3 + i * o : a + 3 + (i + 1) * o].reshape(self.obs_shape) for i in range(3))
        return (obs, f[:a], f[a], next_obs, f[a + 1]), act_obs, t


def draw(ring: RingArrays, step: jax.Array, num_batches: int, batch_size: int) -> Batch:
    """`num_batches` batches of one seed's ring ([K, B, ...]), uniform with replacement.

    Args:
      ring: one seed's ring (no seed axis).
      step: the train state's update counter, folded into the ring's key.
    """
    key = jax.random.fold_in(ring.key, step)
    idx = jax.random.randint(key, (num_batches, batch_size), 0, jnp.maximum(ring.size, 1))
    return Batch(obs=ring.obs[idx], action=ring.action[idx], reward=ring.reward[idx], next_obs=ring.next_obs[idx], done=ring.done[idx])


def store(ring: RingArrays, transition) -> RingArrays:
    """One seed's ring (no seed axis) with `transition` (obs, action, reward, next_obs, done) written
    at its write position, which advances. Pure; under jit with the ring donated it writes in
    place (nothing may read a column before the write, or XLA copies the whole ring)."""
    i, capacity = ring.ptr, ring.reward.shape[0]
    obs, action, reward, next_obs, done = transition
    put = lambda column, value: column.at[i].set(value.astype(column.dtype))  # noqa: E731
    return ring._replace(
        obs=put(ring.obs, obs), next_obs=put(ring.next_obs, next_obs), action=put(ring.action, action),
        reward=put(ring.reward, reward), done=put(ring.done, done),
        ptr=(i + 1) % capacity, size=jnp.minimum(ring.size + 1, capacity),
    )


@dataclasses.dataclass(frozen=True)
class RingProgram:
    """The device ring's part of a learner's step program (hashable: programs are cached by it):
    the observation to act on and the step index from the step input, batches from the ring."""

    layout: StepLayout
    batch_size: int

    def apply(self, ring: RingArrays, step: StepInput):
        _, act_obs, t = self.layout.decode(step)
        return act_obs, t

    def draw(self, ring: RingArrays, step: jax.Array, num_batches: int) -> Batch:
        return draw(ring, step, num_batches, self.batch_size)


def store_step(layout: StepLayout, ring: RingArrays, step: StepInput) -> RingArrays:
    """One seed's ring with the step input's transition stored.

    A program of its own, apart from the update that samples: XLA copies the whole ring when one
    program both writes it in place and gathers from it (2-13 ms a step at a million transitions),
    where this one writes a slot in place in a few microseconds.
    """
    transition, _, _ = layout.decode(step)
    return store(ring, transition)


@functools.lru_cache(maxsize=None)
def _store_program(layout: StepLayout, stacked: bool):
    """The jitted `store_step` for a layout (one compiled program per layout, whatever the run)."""
    one = functools.partial(store_step, layout)
    return jax.jit(jax.vmap(one) if stacked else one, donate_argnums=0)


# `at` is () for a ring of one seed (no seed axis) or (k,) for seed k of stacked rings.
@functools.partial(jax.jit, static_argnums=(1, 2), donate_argnums=0)
def _write_column(ring: RingArrays, name: str, at: tuple, slots: jax.Array, values: jax.Array) -> RingArrays:
    column = getattr(ring, name)
    return ring._replace(**{name: column.at[(*at, slots)].set(values.astype(column.dtype))})


@functools.partial(jax.jit, static_argnums=1)
def _read_slots(ring: RingArrays, at: tuple, slots: jax.Array) -> dict:
    """Every column of one seed at `slots`: one gather program per slot count."""
    return {name: getattr(ring, name)[(*at, slots)] for name in _SLOT_FIELDS}


@functools.partial(jax.jit, static_argnums=1, donate_argnums=0)
def _set_position(ring: RingArrays, at: tuple, ptr: jax.Array, size: jax.Array) -> RingArrays:
    return ring._replace(ptr=ring.ptr.at[at].set(ptr), size=ring.size.at[at].set(size))


class DeviceRing:
    """The device rings of N seeds, with one host-side `RingView` per seed.

    Like the train states, one seed's ring has no seed axis and several are stacked along a
    leading one. A push is staged on the host and written by the next program the learner runs
    (`program`, `step_input`, `accept`), so an env step costs one call; reading the ring (a
    checkpoint, a resume) first writes what is staged (`flush`).

    Args:
      num_seeds: N.
      obs_shape, action_dim, obs_dtype: one transition's observation shape, |A|, storage dtype.
      sampling_seeds: one integer per seed, the seed of its sampling key.
      capacity, batch_size, use_aug_for_img: as the flat `ReplayBuffer`'s (its gin settings).
    """

    def __init__(
        self, num_seeds: int, obs_shape: Sequence[int], action_dim: int, sampling_seeds: Sequence[int], *,
        capacity: int = 1_000_000, batch_size: int = 100, use_aug_for_img: bool = True, obs_dtype=np.float32,
    ):
        if capacity < 1 or batch_size < 1:
            raise ValueError(f"ReplayBuffer needs capacity and batch_size >= 1, got {capacity}, {batch_size}")
        if len(sampling_seeds) != num_seeds:
            raise ValueError(f"{num_seeds} seeds need {num_seeds} sampling seeds, got {len(sampling_seeds)}")
        self.capacity, self.batch_size, self.use_aug_for_img = int(capacity), int(batch_size), bool(use_aug_for_img)
        self.stacked = num_seeds > 1
        lead, c = ((num_seeds,) if self.stacked else ()), self.capacity
        keys = jnp.stack([jax.random.PRNGKey(int(s)) for s in sampling_seeds])
        self._arrays = RingArrays(
            obs=jnp.zeros((*lead, c, *obs_shape), obs_dtype), next_obs=jnp.zeros((*lead, c, *obs_shape), obs_dtype),
            action=jnp.zeros((*lead, c, action_dim), jnp.float32), reward=jnp.zeros((*lead, c), jnp.float32),
            done=jnp.zeros((*lead, c), jnp.float32), ptr=jnp.zeros(lead, jnp.int32), size=jnp.zeros(lead, jnp.int32),
            key=keys if self.stacked else keys[0],
        )
        image = np.dtype(obs_dtype) == np.uint8
        self.layout = StepLayout(tuple(int(d) for d in obs_shape), int(action_dim), image)
        self.staged: list = [None] * num_seeds
        self.views = [RingView(self, k) for k in range(num_seeds)]
        self._program = RingProgram(self.layout, self.batch_size)
        self._fetched = None  # the last `read`'s slots and columns, until the ring changes

    @property
    def arrays(self) -> RingArrays:
        return self._arrays

    @arrays.setter
    def arrays(self, arrays: RingArrays) -> None:
        self._arrays, self._fetched = arrays, None

    def can_sample(self) -> bool:
        return all(v.can_sample() for v in self.views)

    def program(self) -> RingProgram:
        return self._program

    def has_staged(self) -> bool:
        return any(t is not None for t in self.staged)

    def step_input(self, act_obs: Sequence, t: int) -> StepInput:
        """The staged transitions with the observations to act on at step t, packed for one transfer."""
        step = self.layout.encode(self.staged, act_obs, t)
        return step if self.stacked else StepInput(step.floats[0], None if step.images is None else step.images[0])

    def update_source(self, num_batches: int) -> None:
        """Nothing to send: update blocks sample the ring where it is (see `program_source`)."""
        return None

    def store(self, step: StepInput) -> None:
        """Writes the staged transitions, sent in `step` (already on the device), into the rings."""
        if not self.has_staged():
            return
        self.staged = [None] * len(self.staged)
        self.arrays = _store_program(self.layout, self.stacked)(self.arrays, step)

    def program_source(self, source) -> RingArrays:
        """What a step program samples from: the rings themselves (nothing moves)."""
        return self.arrays

    def flush(self) -> None:
        """Writes the staged transitions now (before the ring is read outside a step program)."""
        for seed, transition in enumerate(self.staged):
            if transition is None:
                continue
            obs, action, reward, next_obs, done = transition
            at, slot = self._at(seed), (self.views[seed].ptr - 1) % self.capacity  # the view advanced on push
            columns = {"obs": obs, "next_obs": next_obs, "action": action, "reward": reward, "done": done}
            for name, value in columns.items():
                self.arrays = _write_column(self.arrays, name, at, jnp.asarray([slot], jnp.int32), jnp.asarray(np.asarray(value)[None]))
            self.arrays = _set_position(self.arrays, at, jnp.int32(self.views[seed].ptr), jnp.int32(self.views[seed].size))
            self.staged[seed] = None

    def _at(self, seed: int) -> tuple:
        return (seed,) if self.stacked else ()

    def write_column(self, name: str, seed: int, slots: np.ndarray, values: np.ndarray) -> None:
        self.flush()
        self.arrays = _write_column(self.arrays, name, self._at(seed), jnp.asarray(slots, jnp.int32), jnp.asarray(values))

    def set_position(self, seed: int, ptr: int, size: int) -> None:
        self.flush()
        self.arrays = _set_position(self.arrays, self._at(seed), jnp.int32(ptr), jnp.int32(size))

    def read(self, name: str, seed: int, slots) -> np.ndarray:
        """Slots of one seed's column, fetched to the host (checkpoints, resumes).

        A checkpoint reads every column at the same slots, so the first read fetches them all in
        one program (compiled once per slot count) and the others come from that fetch.
        """
        self.flush()
        slots = np.asarray(slots, np.int32)
        key = (seed, slots.shape, slots.tobytes())
        if self._fetched is None or self._fetched[0] != key:
            columns = _read_slots(self.arrays, self._at(seed), slots.reshape(-1))
            self._fetched = (key, {k: np.asarray(v) for k, v in columns.items()})
        column = self._fetched[1][name]
        return column.reshape(slots.shape + column.shape[1:])


class SlotColumn:
    """One seed's column of the ring as a checkpoint reads and writes it: by slot, on the host."""

    def __init__(self, ring: DeviceRing, name: str, seed: int):
        self.ring, self.name, self.seed = ring, name, seed
        column = getattr(ring.arrays, name)
        self.shape, self.dtype = column.shape[1:] if ring.stacked else column.shape, np.dtype(column.dtype)

    def __len__(self) -> int:
        return self.shape[0]

    def _slots(self, index) -> np.ndarray:
        if isinstance(index, slice):
            return np.arange(*index.indices(self.shape[0]))
        index = np.asarray(index)
        return np.flatnonzero(index) if index.dtype == bool else index

    def __getitem__(self, index) -> np.ndarray:
        return self.ring.read(self.name, self.seed, self._slots(index))

    def __setitem__(self, index, values) -> None:
        slots = self._slots(index)
        values = np.broadcast_to(np.asarray(values, self.dtype), (len(slots), *self.shape[1:]))
        self.ring.write_column(self.name, self.seed, slots, values)


class RingView:
    """Seed `seed`'s ring seen from the host: the interface a run's buffer offers.

    The host keeps the write position and fill (they follow from the pushes), so bookkeeping
    never reads the device; the device keeps its own copy for sampling.
    """

    def __init__(self, ring: DeviceRing, seed: int):
        self.ring, self.seed = ring, seed
        self.capacity, self.batch_size, self.use_aug_for_img = ring.capacity, ring.batch_size, ring.use_aug_for_img
        self.ptr = 0
        self.size = 0
        self.dirty = DirtyRange(self.capacity)

    def __len__(self) -> int:
        return self.size

    def push(self, obs, action, reward: float, next_obs, done: bool, truncated: bool = False) -> None:
        """Stages one transition for the device; `done` is the terminated flag (`truncated` is not stored)."""
        if self.ring.staged[self.seed] is not None:
            self.ring.flush()  # one transition per seed and program: write the earlier one first
        self.dirty.touch(self.ptr)
        self.ring.staged[self.seed] = (obs, action, float(reward), next_obs, float(done))
        self.ptr = (self.ptr + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def can_sample(self) -> bool:
        return self.size >= self.batch_size

    def last_next_obs(self) -> np.ndarray:
        return self.ring.read("next_obs", self.seed, (self.ptr - 1) % self.capacity)

    def last_actions(self, n: int) -> np.ndarray:
        if n > self.size:
            raise ValueError(f"asked for the last {n} actions of a buffer holding {self.size}")
        return self.ring.read("action", self.seed, (self.ptr - n + np.arange(n)) % self.capacity)

    def slot_arrays(self) -> dict[str, SlotColumn]:
        """The per-slot columns, read and written by slot (checkpoints save their dirty slots in chunks)."""
        return {name: SlotColumn(self.ring, name, self.seed) for name in _SLOT_FIELDS}

    def small_state(self) -> dict[str, np.ndarray]:
        return {"ptr": np.asarray(self.ptr), "size": np.asarray(self.size)}

    def load_small_state(self, state: dict[str, np.ndarray]) -> None:
        self.ptr, self.size = checked_position(state, self.capacity)
        self.ring.set_position(self.seed, self.ptr, self.size)

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """A whole-buffer checkpoint (written before chunk files existed): its filled part."""
        load_filled_slots(self, state)

    def rng_state(self) -> Optional[dict]:
        """None: sampling is keyed by the seed and the update counter, so there is nothing to save."""
        return None

    def load_rng_state(self, state: Optional[dict]) -> None:
        """A checkpoint of a host buffer's generator has nothing this ring can use; it samples by key."""
