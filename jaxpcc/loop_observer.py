"""What the training loop tells an observer as it runs (benchmarks time its parts and measure its files here).

The loop calls `lap` after each of its parts and the checkpoint hooks around each seed's commit.
The base class does nothing beyond reading the clock; subclass it and override what you need.
"""

from __future__ import annotations

import time

# The loop's parts, in the order they happen within a step.
ACTING = "acting (jitted, per env step)"
ENV_STEPS = "env steps and buffer pushes"
SAMPLING = "sampling batches"
UPDATES = "updates"
PARTS = (ACTING, ENV_STEPS, SAMPLING, UPDATES)


class LoopObserver:
    """A silent observer; the loop runs as if none were given.

    `wait_for_updates`: the loop waits for each update block before its lap, so the block's time
    is its own (a sync per block, which an unobserved loop does not make).
    """

    wait_for_updates = False

    def lap(self, part: str, since: float) -> float:
        """`part` ran from `since` until now; returns now (the next part's start)."""
        now = time.perf_counter()
        self.part_done(part, now - since)
        return now

    def part_done(self, part: str, seconds: float) -> None:
        pass

    def checkpoint_saving(self, run) -> None:
        """Before a seed's checkpoint is written (`run` is its `seed_run.SeedRun`)."""

    def checkpoint_saved(self, run, state) -> None:
        """After it was committed, with the device state it holds."""
