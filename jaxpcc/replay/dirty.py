"""Which ring slots a buffer wrote since its last save, so a checkpoint stores only those.

Buffers write their slots in ring order (the same slot again, or the next one), so the slots
written since a save always form one contiguous range, [start, start + count) modulo capacity.
"""

from __future__ import annotations

import numpy as np


def ring_slots(start: int, count: int, capacity: int) -> np.ndarray:
    """The slot indices start, start + 1, ... (count of them) around a ring of `capacity`."""
    return (start + np.arange(count)) % capacity


class DirtyRange:
    """The contiguous ring range of slots written since the last `clear()`.

    Args:
      capacity: slots in the ring.
    """

    def __init__(self, capacity: int):
        self.capacity = int(capacity)
        self.start = 0
        self.count = 0

    def touch(self, slot: int) -> None:
        """Records a write to `slot`, which must be the last slot written or the next one."""
        if self.count == self.capacity:  # the whole ring is dirty already
            return
        if self.count == 0:
            self.start, self.count = slot, 1
            return
        end = (self.start + self.count) % self.capacity
        if slot == end:
            self.count += 1
        elif slot != (end - 1) % self.capacity:
            raise ValueError(f"slot {slot} written out of ring order (dirty range starts at {self.start}, {self.count} slots)")

    def mark_all(self) -> None:
        """Every slot counts as written (a buffer restored from a whole-buffer checkpoint)."""
        self.start, self.count = 0, self.capacity

    def clear(self) -> None:
        """Called once the dirty slots are safely on disk."""
        self.start, self.count = 0, 0

    def slots(self) -> np.ndarray:
        """The dirty slot indices in write order, [count] int64."""
        return ring_slots(self.start, self.count, self.capacity)
