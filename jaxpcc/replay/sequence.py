"""An episode-sequence buffer for recurrent agents, with the reference's semantics and static shapes.

Capacity counts episodes, one slot each (o: [max_len + 1, O]; a, r, d: [max_len]); once full, the
oldest episode is overwritten. A slot is zeroed when an episode starts in it and becomes sampleable
when the episode ends (terminated or truncated), which also stores the final next observation.
Episodes are drawn with replacement with probability proportional to their length, so every stored
transition is about equally likely.

How training sequences start (gin `RecurrentReplayBuffer.segment_len` and `.burn_in`):
  * whole episodes (`segment_len=None`, the default): o_0..o_T from a zero state. The reference cuts
    each batch to its longest episode; here every batch is padded to `max_len`, so shapes are static
    and the update compiles once per run (the mask removes the padding; the RNN is causal).
  * zero-state segments (`segment_len=S`, `burn_in=0`): per drawn episode, one of its
    ceil(len / S) non-overlapping segments aligned at multiples of S (S must divide max_len),
    S + 1 observations, started from a zero state, as the reference.
  * segments with burn-in (`segment_len=S`, `burn_in=N > 0`, beyond the reference): as above, plus
    the N observations before the segment (fewer at the episode's start; `burn_in_mask` marks
    them), which the agent runs through its summarizers without gradient to get the start state.
"""

from __future__ import annotations

from typing import Optional

import gin
import numpy as np

from jaxpcc.replay.dirty import DirtyRange
from jaxpcc.types import SequenceBatch

_FIELDS = ("obs", "action", "reward", "done", "ep_len", "ready")


@gin.configurable("RecurrentReplayBuffer")
class RecurrentReplayBuffer:
    """Whole episodes in fixed float32 arrays; `done` is 1 only on a true terminal step.

    Args:
      obs_dim, action_dim: vector sizes.
      max_episode_len: the env's time limit (every episode fits in a slot).
      capacity: episodes kept (reference configs: 5000 = 1M / 200, or 1000 = 1M / 1000).
      batch_size: episodes (or segments) per batch (reference configs: 10).
      segment_len: None for whole episodes, else the segment length S (divides max_episode_len).
      burn_in: observations before each segment that set its start state (needs segment_len).
      seed: seeds the buffer's own sampling generator.
    """

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        max_episode_len: int,
        capacity: int = gin.REQUIRED,
        batch_size: int = gin.REQUIRED,
        segment_len: Optional[int] = None,
        burn_in: int = 0,
        seed: Optional[int] = None,
    ):
        if capacity < 1 or batch_size < 1:
            raise ValueError(f"RecurrentReplayBuffer needs capacity, batch_size >= 1, got {capacity}, {batch_size}")
        if segment_len is not None and (segment_len < 1 or max_episode_len % segment_len):
            raise ValueError(
                f"RecurrentReplayBuffer.segment_len must divide the episode limit {max_episode_len}, got {segment_len}"
            )
        if burn_in < 0 or (burn_in and segment_len is None):
            raise ValueError(f"RecurrentReplayBuffer.burn_in must be >= 0 and needs segment_len, got {burn_in}")
        self.capacity, self.batch_size, self.max_len = int(capacity), int(batch_size), int(max_episode_len)
        self.segment_len = None if segment_len is None else int(segment_len)
        self.burn_in = int(burn_in)
        self.obs = np.zeros((self.capacity, self.max_len + 1, obs_dim), np.float32)
        self.action = np.zeros((self.capacity, self.max_len, action_dim), np.float32)
        self.reward = np.zeros((self.capacity, self.max_len), np.float32)
        self.done = np.zeros((self.capacity, self.max_len), np.float32)
        self.ep_len = np.zeros((self.capacity,), np.int64)
        self.ready = np.zeros((self.capacity,), bool)
        self.episode_ptr = 0
        self.num_episodes = 0
        self.starting_new_episode = True
        self.pending_next_obs = np.zeros((obs_dim,), np.float32)  # the last push's next obs (resume check)
        self.rng = np.random.default_rng(seed)
        self.dirty = DirtyRange(self.capacity)  # episode rows written since the last checkpoint

    def __len__(self) -> int:
        return self.num_episodes

    def push(self, obs, action, reward: float, next_obs, done: bool, truncated: bool = False) -> None:
        """Stores one step; the episode ends on `done` (terminated) or `truncated` (time limit)."""
        i = self.episode_ptr
        self.dirty.touch(i)
        if self.starting_new_episode:
            for name in _FIELDS:
                getattr(self, name)[i] = 0
            self.starting_new_episode = False
        t = int(self.ep_len[i])
        if t >= self.max_len:
            raise ValueError(f"an episode ran past max_episode_len={self.max_len} without ending")
        self.obs[i, t] = obs
        self.action[i, t] = action
        self.reward[i, t] = reward
        self.done[i, t] = float(done)
        self.ep_len[i] = t + 1
        self.pending_next_obs[:] = next_obs
        if done or truncated:
            self.obs[i, t + 1] = next_obs
            self.ready[i] = True
            self.episode_ptr = (i + 1) % self.capacity
            self.starting_new_episode = True
            self.num_episodes = min(self.num_episodes + 1, self.capacity)

    def can_sample(self) -> bool:
        return self.num_episodes >= self.batch_size

    @property
    def sequence_len(self) -> int:
        """T, the number of steps per sampled sequence (max_len or segment_len)."""
        return self.max_len if self.segment_len is None else self.segment_len

    def sample_many(self, num_batches: int) -> dict[str, np.ndarray]:
        """`num_batches` batches at once, the fields of `jaxpcc.types.SequenceBatch` with a leading [K, B].

        obs [K, B, T+1, O]; action [K, B, T, A]; reward, done, mask [K, B, T] (and burn_in_obs
        [K, B, N, O], burn_in_mask [K, B, N] when burn_in > 0).
        """
        if not self.can_sample():
            raise ValueError(f"buffer holds {self.num_episodes} episodes, fewer than batch_size {self.batch_size}")
        options = np.flatnonzero(self.ready)
        lengths = self.ep_len[options].astype(np.float64)
        ep = self.rng.choice(options, size=(num_batches, self.batch_size), p=lengths / lengths.sum())
        ep_len = self.ep_len[ep]
        if self.segment_len is None:
            start = np.zeros_like(ep_len)
        else:
            num_segments = -(-ep_len // self.segment_len)
            start = (self.rng.random(ep.shape) * num_segments).astype(np.int64) * self.segment_len
        steps = start[..., None] + np.arange(self.sequence_len)
        obs_steps = start[..., None] + np.arange(self.sequence_len + 1)
        row = ep[..., None]
        batch = {
            "obs": self.obs[row, obs_steps],
            "action": self.action[row, steps],
            "reward": self.reward[row, steps],
            "done": self.done[row, steps],
            "mask": (steps < ep_len[..., None]).astype(np.float32),
        }
        if self.burn_in:
            prefix = start[..., None] - self.burn_in + np.arange(self.burn_in)
            valid = prefix >= 0
            batch["burn_in_obs"] = self.obs[row, np.maximum(prefix, 0)] * valid[..., None]
            batch["burn_in_mask"] = valid.astype(np.float32)
        return batch

    def sample(self) -> dict[str, np.ndarray]:
        """One batch, arrays of shape [B, ...]."""
        return {k: v[0] for k, v in self.sample_many(1).items()}

    def sample_batches(self, num_batches: int) -> SequenceBatch:
        """`sample_many` as the batch type the recurrent agents' updates take."""
        return SequenceBatch(**self.sample_many(num_batches))

    def current_episode_len(self) -> int:
        """Steps stored of the episode in progress (0 right after an episode ended)."""
        return 0 if self.starting_new_episode else int(self.ep_len[self.episode_ptr])

    def last_actions(self, n: int) -> np.ndarray:
        """The actions of the episode in progress, oldest first (replayed to rebuild an env on resume)."""
        if n != self.current_episode_len():
            raise ValueError(f"the episode in progress holds {self.current_episode_len()} steps, not {n}")
        return self.action[self.episode_ptr, :n]

    def rng_state(self) -> dict:
        """The sampling generator's state (a checkpoint saves it, so a resumed run samples on)."""
        return self.rng.bit_generator.state

    def load_rng_state(self, state: Optional[dict]) -> None:
        """Restores a saved generator; None (a ring sampled on the device saved none) keeps this one's seeding."""
        if state is not None:
            self.rng.bit_generator.state = state

    def last_next_obs(self) -> np.ndarray:
        """The next observation of the last push (where a rebuilt env must stand)."""
        return self.pending_next_obs

    def slot_arrays(self) -> dict[str, np.ndarray]:
        """The per-episode-row arrays, [capacity, ...] each (checkpoints save their dirty rows in chunks)."""
        return {name: getattr(self, name) for name in _FIELDS}

    def small_state(self) -> dict[str, np.ndarray]:
        """Everything but the rows: write position, fill, and where the episode in progress stands."""
        return {
            "episode_ptr": np.asarray(self.episode_ptr),
            "num_episodes": np.asarray(self.num_episodes),
            "starting_new_episode": np.asarray(self.starting_new_episode),
            "pending_next_obs": self.pending_next_obs,
        }

    def load_small_state(self, state: dict[str, np.ndarray]) -> None:
        ptr, num = int(state["episode_ptr"]), int(state["num_episodes"])
        if not (0 <= ptr < self.capacity and 0 <= num <= self.capacity):
            raise ValueError(f"checkpointed buffer position {ptr} with {num} episodes does not fit capacity {self.capacity}")
        if state["pending_next_obs"].shape != self.pending_next_obs.shape:
            raise ValueError(f"checkpointed buffer observation has shape {state['pending_next_obs'].shape}")
        self.episode_ptr, self.num_episodes = ptr, num
        self.starting_new_episode = bool(state["starting_new_episode"])
        self.pending_next_obs[:] = state["pending_next_obs"]

    def state_dict(self) -> dict[str, np.ndarray]:
        """Arrays that fully describe the buffer (rows in use only), in one dict."""
        n = self.capacity if self.num_episodes == self.capacity else self.episode_ptr + 1
        return {**{name: a[:n] for name, a in self.slot_arrays().items()}, **self.small_state()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        n = len(state["ep_len"])
        if n > self.capacity:
            raise ValueError(f"checkpointed buffer holds {n} episode slots, more than capacity {self.capacity}")
        for name, target in self.slot_arrays().items():
            if state[name].shape[1:] != target.shape[1:] or len(state[name]) != n:
                raise ValueError(f"checkpointed buffer field '{name}' has shape {state[name].shape}")
            target[:n] = state[name]
        self.load_small_state(state)
