"""A preallocated numpy ring buffer of transitions with the reference's semantics.

Capacity counts transitions; once full, the oldest are overwritten. Sampling is uniform with
replacement over the filled slots, and `sample_many(k)` draws K batches at once so the device
receives them in one transfer. Image observations are stored as uint8 (the agent rescales).
"""

from __future__ import annotations

from typing import Optional

import gin
import numpy as np

from jaxpcc.replay.dirty import DirtyRange
from jaxpcc.types import Batch


@gin.configurable("ReplayBuffer")
class ReplayBuffer:
    """Transitions (s, a, r, s', d) in fixed arrays; d = 1 only for true terminal states.

    Args:
      obs_shape: shape of one observation ((O,) vectors, (C, H, W) images).
      action_dim: |A|.
      capacity: number of transitions kept (reference default 1,000,000).
      batch_size: transitions per sampled batch (reference default 100).
      use_aug_for_img: DrQ augmentation of image batches (read by image agents).
      obs_dtype: storage dtype of observations (uint8 for images, float32 otherwise).
      seed: seeds the buffer's own sampling generator.
    """

    def __init__(
        self,
        obs_shape: tuple[int, ...],
        action_dim: int,
        capacity: int = 1_000_000,
        batch_size: int = 100,
        use_aug_for_img: bool = True,
        obs_dtype=np.float32,
        seed: Optional[int] = None,
    ):
        if capacity < 1 or batch_size < 1:
            raise ValueError(f"ReplayBuffer needs capacity and batch_size >= 1, got {capacity}, {batch_size}")
        self.capacity = int(capacity)
        self.batch_size = int(batch_size)
        self.use_aug_for_img = bool(use_aug_for_img)
        self.obs = np.zeros((self.capacity, *obs_shape), obs_dtype)
        self.next_obs = np.zeros((self.capacity, *obs_shape), obs_dtype)
        self.action = np.zeros((self.capacity, action_dim), np.float32)
        self.reward = np.zeros((self.capacity,), np.float32)
        self.done = np.zeros((self.capacity,), np.float32)
        self.ptr = 0
        self.size = 0
        self.rng = np.random.default_rng(seed)
        self.dirty = DirtyRange(self.capacity)  # slots pushed since the last checkpoint

    def __len__(self) -> int:
        return self.size

    def push(self, obs, action, reward: float, next_obs, done: bool, truncated: bool = False) -> None:
        """Stores one transition; `done` must be the *terminated* flag, not truncation.

        `truncated` is taken so both buffers store the same transition; a ring of single steps has
        no episodes to close, so it stores nothing of it.
        """
        i = self.ptr
        self.dirty.touch(i)
        self.obs[i] = obs
        self.action[i] = action
        self.reward[i] = reward
        self.next_obs[i] = next_obs
        self.done[i] = float(done)
        self.ptr = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def can_sample(self) -> bool:
        return self.size >= self.batch_size

    def sample_many(self, num_batches: int) -> dict[str, np.ndarray]:
        """`num_batches` batches at once: arrays of shape [K, B, ...], uniform with replacement."""
        if not self.can_sample():
            raise ValueError(f"buffer holds {self.size} transitions, fewer than batch_size {self.batch_size}")
        idx = self.rng.integers(0, self.size, size=(num_batches, self.batch_size))
        return {
            "obs": self.obs[idx],
            "action": self.action[idx],
            "reward": self.reward[idx],
            "next_obs": self.next_obs[idx],
            "done": self.done[idx],
        }

    def sample(self) -> dict[str, np.ndarray]:
        """One batch, arrays of shape [B, ...]."""
        return {k: v[0] for k, v in self.sample_many(1).items()}

    def sample_batches(self, num_batches: int) -> Batch:
        """`sample_many` as the batch type the feed-forward agents' updates take."""
        return Batch(**self.sample_many(num_batches))

    def rng_state(self) -> dict:
        """The sampling generator's state (a checkpoint saves it, so a resumed run samples on)."""
        return self.rng.bit_generator.state

    def load_rng_state(self, state: Optional[dict]) -> None:
        """Restores a saved generator; None (a ring sampled on the device saved none) keeps this one's seeding."""
        if state is not None:
            self.rng.bit_generator.state = state

    def last_next_obs(self) -> np.ndarray:
        """The next observation of the last push (where a rebuilt env must stand)."""
        return self.next_obs[(self.ptr - 1) % self.capacity]

    def last_actions(self, n: int) -> np.ndarray:
        """The `n` most recently pushed actions, oldest first (replayed to rebuild an env on resume)."""
        if n > self.size:
            raise ValueError(f"asked for the last {n} actions of a buffer holding {self.size}")
        idx = (self.ptr - n + np.arange(n)) % self.capacity
        return self.action[idx]

    def slot_arrays(self) -> dict[str, np.ndarray]:
        """The per-slot arrays, [capacity, ...] each (checkpoints save their dirty slots in chunks)."""
        return {"obs": self.obs, "next_obs": self.next_obs, "action": self.action, "reward": self.reward, "done": self.done}

    def small_state(self) -> dict[str, np.ndarray]:
        """Everything but the slots: the ring's write position and fill."""
        return {"ptr": np.asarray(self.ptr), "size": np.asarray(self.size)}

    def load_small_state(self, state: dict[str, np.ndarray]) -> None:
        self.ptr, self.size = checked_position(state, self.capacity)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Arrays that fully describe the buffer (filled part only), in one dict."""
        return {**{name: a[: self.size] for name, a in self.slot_arrays().items()}, **self.small_state()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        load_filled_slots(self, state)


def checked_position(state: dict[str, np.ndarray], capacity: int) -> tuple[int, int]:
    """A checkpointed ring's (ptr, size), refused when they do not fit `capacity`."""
    size, ptr = int(state["size"]), int(state["ptr"])
    if not (0 <= ptr < capacity and 0 <= size <= capacity):
        raise ValueError(f"checkpointed buffer position ptr={ptr}, size={size} does not fit capacity {capacity}")
    return ptr, size


def load_filled_slots(buffer, state: dict[str, np.ndarray]) -> None:
    """Fills a flat ring (this one or a device ring's view) from a `state_dict`: its filled slots
    and position (a checkpoint written before chunk files existed holds the buffer this way)."""
    n = int(state["size"])
    if n > buffer.capacity:
        raise ValueError(f"checkpointed buffer holds {n} transitions, more than capacity {buffer.capacity}")
    for name, target in buffer.slot_arrays().items():
        if state[name].shape[1:] != target.shape[1:] or len(state[name]) != n:
            raise ValueError(f"checkpointed buffer field '{name}' has shape {state[name].shape}")
        target[:n] = state[name]
    buffer.load_small_state(state)


def configured_settings() -> dict:
    """The flat buffer's settings as gin binds them (`ReplayBuffer.*`), for the device ring to use.

    Read by building a one-number-wide ReplayBuffer, so gin records them as operative like any
    other; its arrays are reserved by np.zeros but never touched, so they take no memory.
    """
    probe = ReplayBuffer((1,), 1)
    return {"capacity": probe.capacity, "batch_size": probe.batch_size, "use_aug_for_img": probe.use_aug_for_img}
