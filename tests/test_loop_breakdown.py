"""The loop-breakdown benchmark's timers: parts are counted while wrapped and restored after."""

import collections
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from loop_breakdown import PARTS, timed_parts  # noqa: E402
from jaxpcc.replay import ring  # noqa: E402


def test_timers_count_calls_of_wrapped_parts_and_restore_the_methods():
    originals = {(owner, name): getattr(owner, name) for _, owner, name, _ in PARTS}
    buffer = ring.ReplayBuffer((3,), 1, capacity=10, batch_size=2, seed=0)
    for i in range(4):
        buffer.push(np.full(3, i, np.float32), np.zeros(1, np.float32), 1.0, np.zeros(3, np.float32), False)
    seconds = collections.Counter()
    with timed_parts(seconds):
        assert ring.ReplayBuffer.sample_many is not originals[(ring.ReplayBuffer, "sample_many")]
        batches = buffer.sample_many(3)
    assert batches["obs"].shape == (3, 2, 3)
    assert seconds["sampling batches"] > 0.0
    assert set(seconds) == {"sampling batches"}  # nothing else ran
    for (owner, name), method in originals.items():
        assert getattr(owner, name) is method
