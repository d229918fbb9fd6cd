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


class HostBuffers:
    """The host buffers of N seeds (`views[k]` is seed k's buffer)."""

    def __init__(self, buffers: Sequence):
        self.views = list(buffers)

    def can_sample(self) -> bool:
        return all(b.can_sample() for b in self.views)

    def update_source(self, num_batches: int):
        """`num_batches` batches per seed, sampled here and sent in one transfer ([N, K, ...] when N > 1)."""
        batches = [b.sample_batches(num_batches) for b in self.views]
        stacked = batches[0] if len(batches) == 1 else jax.tree.map(lambda *xs: np.stack(xs), *batches)
        return jax.device_put(stacked)

    def sampler(self) -> "TakeBatches":
        return TakeBatches()


@dataclasses.dataclass(frozen=True)
class TakeBatches:
    """The batches were drawn on the host: the update program takes them as they are."""

    has_seed_axis = False  # one seed's batches, or seeds stacked by `update_source`

    def __call__(self, batches, step, num_batches: int):
        return batches
