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


class Transition(NamedTuple):
    """One env step as it goes to the device (one transfer): what `push` stores."""

    obs: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    next_obs: np.ndarray
    done: np.ndarray


def draw(ring: RingArrays, step: jax.Array, num_batches: int, batch_size: int) -> Batch:
    """`num_batches` batches of one seed's ring ([K, B, ...]), uniform with replacement.

    Args:
      ring: one seed's ring (no seed axis).
      step: the train state's update counter, folded into the ring's key.
    """
    key = jax.random.fold_in(ring.key, step)
    idx = jax.random.randint(key, (num_batches, batch_size), 0, jnp.maximum(ring.size, 1))
    return Batch(obs=ring.obs[idx], action=ring.action[idx], reward=ring.reward[idx], next_obs=ring.next_obs[idx], done=ring.done[idx])


@dataclasses.dataclass(frozen=True)
class RingSampler:
    """`draw` at a batch size: what a learner's update program calls to sample (hashable, so
    programs are cached by it)."""

    batch_size: int
    has_seed_axis = True  # the source is the seed-stacked rings

    def __call__(self, ring: RingArrays, step: jax.Array, num_batches: int) -> Batch:
        return draw(ring, step, num_batches, self.batch_size)


@functools.partial(jax.jit, static_argnums=1, donate_argnums=0)
def _store(ring: RingArrays, seed: int, t: Transition) -> RingArrays:
    """Writes `t` at seed `seed`'s write position and advances it (in place: the ring is donated)."""
    i = ring.ptr[seed]
    capacity = ring.reward.shape[1]
    put = lambda column, value: column.at[seed, i].set(value.astype(column.dtype))  # noqa: E731
    return ring._replace(
        obs=put(ring.obs, t.obs), next_obs=put(ring.next_obs, t.next_obs), action=put(ring.action, t.action),
        reward=put(ring.reward, t.reward), done=put(ring.done, t.done),
        ptr=ring.ptr.at[seed].set((i + 1) % capacity), size=ring.size.at[seed].set(jnp.minimum(ring.size[seed] + 1, capacity)),
    )


@functools.partial(jax.jit, static_argnums=(1, 2), donate_argnums=0)
def _write_column(ring: RingArrays, name: str, seed: int, slots: jax.Array, values: jax.Array) -> RingArrays:
    column = getattr(ring, name)
    return ring._replace(**{name: column.at[seed, slots].set(values.astype(column.dtype))})


@functools.partial(jax.jit, static_argnums=1, donate_argnums=0)
def _set_position(ring: RingArrays, seed: int, ptr: jax.Array, size: jax.Array) -> RingArrays:
    return ring._replace(ptr=ring.ptr.at[seed].set(ptr), size=ring.size.at[seed].set(size))


class DeviceRing:
    """The stacked device rings of N seeds, with one host-side `RingView` per seed.

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
        n, c = num_seeds, self.capacity
        keys = jnp.stack([jax.random.PRNGKey(int(s)) for s in sampling_seeds])
        self.arrays = RingArrays(
            obs=jnp.zeros((n, c, *obs_shape), obs_dtype), next_obs=jnp.zeros((n, c, *obs_shape), obs_dtype),
            action=jnp.zeros((n, c, action_dim), jnp.float32), reward=jnp.zeros((n, c), jnp.float32),
            done=jnp.zeros((n, c), jnp.float32), ptr=jnp.zeros((n,), jnp.int32), size=jnp.zeros((n,), jnp.int32), key=keys,
        )
        self.views = [RingView(self, k) for k in range(n)]

    def can_sample(self) -> bool:
        return all(v.can_sample() for v in self.views)

    def update_source(self, num_batches: int) -> RingArrays:
        """What the update program samples from: the rings themselves (nothing moves)."""
        return self.arrays

    def sampler(self) -> RingSampler:
        return RingSampler(self.batch_size)

    def store(self, seed: int, transition: Transition) -> None:
        self.arrays = _store(self.arrays, seed, jax.device_put(transition))

    def write_column(self, name: str, seed: int, slots: np.ndarray, values: np.ndarray) -> None:
        self.arrays = _write_column(self.arrays, name, seed, jnp.asarray(slots, jnp.int32), jnp.asarray(values))

    def set_position(self, seed: int, ptr: int, size: int) -> None:
        self.arrays = _set_position(self.arrays, seed, jnp.int32(ptr), jnp.int32(size))

    def read(self, name: str, seed: int, slots) -> np.ndarray:
        """Slots of one seed's column, fetched to the host (checkpoints, resumes)."""
        return np.asarray(getattr(self.arrays, name)[seed, slots])


class SlotColumn:
    """One seed's column of the ring as a checkpoint reads and writes it: by slot, on the host."""

    def __init__(self, ring: DeviceRing, name: str, seed: int):
        self.ring, self.name, self.seed = ring, name, seed
        column = getattr(ring.arrays, name)
        self.shape, self.dtype = column.shape[1:], np.dtype(column.dtype)

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
        """Stores one transition on the device; `done` is the terminated flag (`truncated` is not stored)."""
        self.dirty.touch(self.ptr)
        transition = Transition(
            np.asarray(obs), np.asarray(action, np.float32), np.float32(reward), np.asarray(next_obs), np.float32(done)
        )
        self.ring.store(self.seed, transition)
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
        size, ptr = int(state["size"]), int(state["ptr"])
        if not (0 <= ptr < self.capacity and 0 <= size <= self.capacity):
            raise ValueError(f"checkpointed buffer position ptr={ptr}, size={size} does not fit capacity {self.capacity}")
        self.size, self.ptr = size, ptr
        self.ring.set_position(self.seed, ptr, size)

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """A whole-buffer checkpoint (written before chunk files existed): its filled part."""
        n = int(state["size"])
        if n > self.capacity:
            raise ValueError(f"checkpointed buffer holds {n} transitions, more than capacity {self.capacity}")
        for name, column in self.slot_arrays().items():
            if state[name].shape[1:] != column.shape[1:] or len(state[name]) != n:
                raise ValueError(f"checkpointed buffer field '{name}' has shape {state[name].shape}")
            column[:n] = state[name]
        self.load_small_state(state)

    def rng_state(self) -> Optional[dict]:
        """None: sampling is keyed by the seed and the update counter, so there is nothing to save."""
        return None

    def load_rng_state(self, state: Optional[dict]) -> None:
        """A checkpoint of a host buffer's generator has nothing this ring can use; it samples by key."""
