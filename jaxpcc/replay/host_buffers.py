"""Buffers kept in host memory (the episode-sequence buffer, or the flat ring by choice), as one group.

Each seed has its own numpy buffer; an update block's batches are sampled on the host and sent
to the device together. The group offers the interface the learner reads from a `DeviceRing`,
so the loop holds one kind of thing whatever the buffer and wherever it lives.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import jax
import numpy as np

from jaxpcc.replay.device_ring import StepInput, StepLayout


class HostBuffers:
    """The host buffers of N seeds (`views[k]` is seed k's buffer); pushes are stored on the host.

    Args:
      buffers: one per seed.
      obs_shape: the env's observation shape (what the agent acts on).
    """

    def __init__(self, buffers: Sequence, obs_shape: Sequence[int]):
        self.views = list(buffers)
        self.layout = StepLayout(tuple(int(d) for d in obs_shape), 0, False, stores=False)
        self._program = HostProgram(self.layout)

    def can_sample(self) -> bool:
        return all(b.can_sample() for b in self.views)

    def program(self) -> "HostProgram":
        return self._program

    def has_staged(self) -> bool:
        return False

    def step_input(self, act_obs: Sequence, t: int) -> StepInput:
        step = self.layout.encode([None] * len(act_obs), act_obs, t)
        return step if len(self.views) > 1 else StepInput(step.floats[0])

    def update_source(self, num_batches: int):
        """`num_batches` batches per seed, sampled here and sent in one transfer ([N, K, ...] when N > 1);
        None for a program without updates."""
        if num_batches == 0:
            return None
        batches = [b.sample_batches(num_batches) for b in self.views]
        stacked = batches[0] if len(batches) == 1 else jax.tree.map(lambda *xs: np.stack(xs), *batches)
        return jax.device_put(stacked)

    def store(self, step: StepInput) -> None:
        """Nothing to store on the device: pushes were stored on the host as they came."""

    def program_source(self, source):
        return source

    def flush(self) -> None:
        """Nothing is staged: pushes are stored as they come."""


@dataclasses.dataclass(frozen=True)
class HostProgram:
    """Host buffers' part of a learner's step program: the batches were drawn on the host, and
    the step input carries only the observation to act on and the step index."""

    layout: StepLayout

    def apply(self, step: StepInput):
        _, act_obs, t = self.layout.decode(step)
        return act_obs, t

    def draw(self, batches, step, num_batches: int):
        return batches
