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
what it would have sampled, with no generator state to save. Each transition is one row of
floats (with a uint8 pair of images beside it for image observations), so a batch is one
gather, not one per field.

Several seeds trained together keep their rings stacked along a leading seed axis in one
`DeviceRing`, which the vmapped update reads whole; `DeviceRing.views` gives each seed the host
interface a run's buffer has (push, checkpoint slots, last actions), so checkpoints and resumes
treat it as any other buffer. The ring exists once: on the device, never mirrored on the host.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import NamedTuple, Optional, Sequence

import flax
import jax
import jax.numpy as jnp
import numpy as np

from jaxpcc.replay.dirty import DirtyRange
from jaxpcc.replay.ring import checked_position, load_filled_slots
from jaxpcc.types import Batch

_SLOT_FIELDS = ("obs", "next_obs", "action", "reward", "done")


class StepInput(NamedTuple):
    """What the host sends the device in one env step, packed in one transfer per dtype.

    floats: [N, F] float32: per seed its transition as a ring row (see `StepLayout`), the step
      index (its int32 bits) and, for vector observations, the observation to act on. images:
      [N, 3, *obs_shape] uint8 (the transition's obs and next_obs, and the observation to act on)
      for image observations, else None. A layout that stores nothing (`StepLayout.stores` False)
      carries only the step index and the observation to act on.
    """

    floats: np.ndarray
    images: Optional[np.ndarray] = None


class StepLayout(NamedTuple):
    """How one ring's transitions are laid out, in the ring and in a `StepInput`.

    A transition is one float32 row: [obs, next_obs, action, reward, done] for vector
    observations, [action, reward, done] for images, whose obs and next_obs are a uint8 pair of
    their own. One row per transition lets a batch be drawn with one gather (two for images)
    instead of one per field. `stores`: whether the step input carries a transition to store (a
    device ring's) or only the observation to act on (host buffers', which store on the host).
    """

    obs_shape: tuple
    action_dim: int
    image: bool
    stores: bool = True

    @property
    def obs_size(self) -> int:
        return math.prod(self.obs_shape)

    @property
    def row_width(self) -> int:
        return (0 if self.image else 2 * self.obs_size) + self.action_dim + 2

    def spans(self) -> dict[str, tuple[int, int]]:
        """Where each field lies in a row (images' obs and next_obs lie in the image pair)."""
        o = 0 if self.image else self.obs_size
        a = 2 * o + self.action_dim
        spans = {"action": (2 * o, a), "reward": (a, a + 1), "done": (a + 1, a + 2)}
        return spans if self.image else {"obs": (0, o), "next_obs": (o, 2 * o), **spans}

    def field_shape(self, name: str) -> tuple:
        return {"obs": self.obs_shape, "next_obs": self.obs_shape, "action": (self.action_dim,)}.get(name, ())

    def field_dtype(self, name: str) -> np.dtype:
        return np.dtype(np.uint8 if self.image and name in ("obs", "next_obs") else np.float32)

    def fields(self, rows: jax.Array, pair: Optional[jax.Array]) -> dict:
        """Each field of gathered rows [..., W] (and image pairs [..., 2, *obs_shape])."""
        lead = rows.shape[:-1]
        fields = {name: rows[..., lo:hi].reshape(lead + self.field_shape(name)) for name, (lo, hi) in self.spans().items()}
        if self.image:
            trailing = (slice(None),) * len(self.obs_shape)
            fields.update(obs=pair[(..., 0, *trailing)], next_obs=pair[(..., 1, *trailing)])
        return fields

    def row(self, transition) -> np.ndarray:
        """One transition (obs, action, reward, next_obs, done) as its ring row."""
        obs, action, reward, next_obs, done = transition
        parts = [] if self.image else [np.ravel(obs), np.ravel(next_obs)]
        return np.concatenate([*parts, np.ravel(action), (reward, done)], dtype=np.float32)

    @property
    def _head(self) -> int:
        """Floats before the observation to act on: the row (when storing) and the step index."""
        return (self.row_width if self.stores else 0) + 1

    def encode(self, transitions: Sequence, act_obs: Sequence, t: int) -> StepInput:
        """Packs one transition per seed ((obs, action, reward, next_obs, done), or None when the
        step stored nothing) with the observations to act on and the step index."""
        n, head = len(act_obs), self._head
        floats = np.zeros((n, head + (0 if self.image else self.obs_size)), np.float32)
        pictures = 3 if self.stores else 1
        images = np.zeros((n, pictures, *self.obs_shape), np.uint8) if self.image else None
        floats[:, head - 1] = np.array([t], np.int32).view(np.float32)[0]
        for k, (transition, obs_now) in enumerate(zip(transitions, act_obs)):
            if transition is not None:
                floats[k, : self.row_width] = self.row(transition)
            if self.image:
                images[k, -1] = obs_now
                if transition is not None:
                    images[k, 0], images[k, 1] = transition[0], transition[3]
            else:
                floats[k, head:] = np.ravel(obs_now)
        return StepInput(floats, images)

    def decode(self, step: StepInput):
        """One seed's transition as (row, image pair or None) (None when the layout stores
        nothing), the observation to act on and the step index."""
        f, head = step.floats, self._head
        t = jax.lax.bitcast_convert_type(f[head - 1], jnp.int32)
        act_obs = step.images[-1] if self.image else f[head:].reshape(self.obs_shape)
        transition = None
        if self.stores:
            transition = (f[: self.row_width], step.images[:2] if self.image else None)
        return transition, act_obs, t


@flax.struct.dataclass
class RingArrays:
    """The rings of N seeds (a pytree; every array has a leading [N] seed axis when N > 1).

    rows: [N, C, W] float32 transitions (see `StepLayout`); pairs: [N, C, 2, *obs_shape] uint8
    image observations (obs, next_obs), or None for vector observations; ptr, size: [N] int32
    (next slot to write, slots filled); key: [N, 2] sampling keys.
    """

    rows: jax.Array
    pairs: Optional[jax.Array]
    ptr: jax.Array
    size: jax.Array
    key: jax.Array
    layout: StepLayout = flax.struct.field(pytree_node=False)


def sample_slots(key: jax.Array, shape: tuple, size: jax.Array) -> jax.Array:
    """Slots uniform over [0, size) (size >= 1), by one 32-bit draw each scaled to the range.

    Multiply-and-shift (Lemire's method) reads one draw per slot, where `jax.random.randint` reads
    two; its bias is below size / 2**32 (under 0.03% for a million slots).
    """
    bits = jax.random.bits(key, shape, jnp.uint32)
    return jax.lax.mulhi(bits, size.astype(jnp.uint32)).astype(jnp.int32)


def draw(ring: RingArrays, step: jax.Array, num_batches: int, batch_size: int) -> Batch:
    """`num_batches` batches of one seed's ring ([K, B, ...]), uniform with replacement.

    Args:
      ring: one seed's ring (no seed axis).
      step: the train state's update counter, folded into the ring's key.
    """
    idx = sample_slots(jax.random.fold_in(ring.key, step), (num_batches, batch_size), jnp.maximum(ring.size, 1))
    fields = ring.layout.fields(ring.rows[idx], None if ring.pairs is None else ring.pairs[idx])
    return Batch(**fields)


def store(ring: RingArrays, transition) -> RingArrays:
    """One seed's ring (no seed axis) with `transition` (its row, and its image pair or None)
    written at its write position, which advances. Pure; under jit with the ring donated it
    writes in place (nothing may read the ring before the write, or XLA copies it whole)."""
    i, capacity = ring.ptr, ring.rows.shape[0]
    row, pair = transition
    return ring.replace(
        rows=ring.rows.at[i].set(row), pairs=None if pair is None else ring.pairs.at[i].set(pair),
        ptr=(i + 1) % capacity, size=jnp.minimum(ring.size + 1, capacity),
    )


@dataclasses.dataclass(frozen=True)
class RingProgram:
    """The device ring's part of a learner's step program (hashable: programs are cached by it):
    the observation to act on and the step index from the step input, batches from the ring."""

    layout: StepLayout
    batch_size: int

    def apply(self, step: StepInput):
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
def _write_field(ring: RingArrays, name: str, at: tuple, slots: jax.Array, values: jax.Array) -> RingArrays:
    """`values` [S, *field shape] into one field of one seed's ring at `slots`."""
    layout = ring.layout
    if layout.image and name in ("obs", "next_obs"):
        which = 0 if name == "obs" else 1
        return ring.replace(pairs=ring.pairs.at[(*at, slots, which)].set(values.astype(jnp.uint8)))
    lo, hi = layout.spans()[name]
    flat = values.astype(jnp.float32).reshape(slots.shape[0], hi - lo)
    return ring.replace(rows=ring.rows.at[(*at, slots, slice(lo, hi))].set(flat))


@functools.partial(jax.jit, static_argnums=1, donate_argnums=0)
def _write_slot(ring: RingArrays, at: tuple, slot, row, pair, ptr, size) -> RingArrays:
    """One transition (its row and image pair) into one seed's slot, and that seed's position."""
    pairs = ring.pairs if pair is None else ring.pairs.at[(*at, slot)].set(pair)
    return ring.replace(
        rows=ring.rows.at[(*at, slot)].set(row), pairs=pairs, ptr=ring.ptr.at[at].set(ptr), size=ring.size.at[at].set(size)
    )


@functools.partial(jax.jit, static_argnums=1)
def _read_slots(ring: RingArrays, at: tuple, slots: jax.Array) -> dict:
    """Every field of one seed at `slots`: one gather program per slot count."""
    pairs = None if ring.pairs is None else ring.pairs[(*at, slots)]
    return ring.layout.fields(ring.rows[(*at, slots)], pairs)


@functools.partial(jax.jit, static_argnums=1, donate_argnums=0)
def _set_position(ring: RingArrays, at: tuple, ptr: jax.Array, size: jax.Array) -> RingArrays:
    return ring.replace(ptr=ring.ptr.at[at].set(ptr), size=ring.size.at[at].set(size))


class DeviceRing:
    """The device rings of N seeds, with one host-side `RingView` per seed.

    Like the train states, one seed's ring has no seed axis and several are stacked along a
    leading one. A push is staged on the host, sent in the step's input (`step_input`) and written
    by the store program (`store`) before the step program samples; reading the ring (a
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
        image = np.dtype(obs_dtype) == np.uint8
        self.layout = StepLayout(tuple(int(d) for d in obs_shape), int(action_dim), image)
        self._arrays = RingArrays(
            rows=jnp.zeros((*lead, c, self.layout.row_width), jnp.float32),
            pairs=jnp.zeros((*lead, c, 2, *obs_shape), jnp.uint8) if image else None,
            ptr=jnp.zeros(lead, jnp.int32), size=jnp.zeros(lead, jnp.int32), key=keys if self.stacked else keys[0],
            layout=self.layout,
        )
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
        """Writes the staged transitions, sent in `step` (already on the device), into the rings.

        Seeds trained together push together; should only some have a staged transition, those
        are written one by one (`flush`), so no ring receives the placeholder of another."""
        if not self.has_staged():
            return
        if not all(t is not None for t in self.staged):
            self.flush()
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
            view = self.views[seed]
            slot = (view.ptr - 1) % self.capacity  # the view advanced on push
            pair = np.stack([transition[0], transition[3]]).astype(np.uint8) if self.layout.image else None
            self.arrays = _write_slot(
                self.arrays, self._at(seed), np.int32(slot), self.layout.row(transition), pair, np.int32(view.ptr), np.int32(view.size)
            )
            self.staged[seed] = None

    def stored_on_device(self, count: int) -> None:
        """A program wrote `count` transitions per seed at each seed's write position (the
        device rollout): the host's positions and dirty ranges move along, as `count` pushes would."""
        if self.has_staged():
            raise RuntimeError("a transition is staged on the host; flush it before a program stores on the device")
        for view in self.views:
            view.advance(count)

    def _at(self, seed: int) -> tuple:
        return (seed,) if self.stacked else ()

    def write_column(self, name: str, seed: int, slots: np.ndarray, values: np.ndarray) -> None:
        self.flush()
        self.arrays = _write_field(self.arrays, name, self._at(seed), jnp.asarray(slots, jnp.int32), jnp.asarray(values))

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
    """One seed's field of the ring as a checkpoint reads and writes it: by slot, as a column of
    the host ring's shape and dtype (the chunk files are the same for both rings)."""

    def __init__(self, ring: DeviceRing, name: str, seed: int):
        self.ring, self.name, self.seed = ring, name, seed
        self.shape = (ring.capacity, *ring.layout.field_shape(name))
        self.dtype = ring.layout.field_dtype(name)

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
        self.ring.staged[self.seed] = (obs, action, float(reward), next_obs, float(done))
        self.advance(1)

    def advance(self, count: int) -> None:
        """`count` slots from the write position on were written (staged, or by a device program)."""
        for _ in range(min(count, self.capacity)):
            self.dirty.touch(self.ptr)
            self.ptr = (self.ptr + 1) % self.capacity
        self.ptr = (self.ptr + max(0, count - self.capacity)) % self.capacity
        self.size = min(self.size + count, self.capacity)

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
