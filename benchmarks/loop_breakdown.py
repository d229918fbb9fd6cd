"""Where the training loop's wall time goes: updates, acting, env steps, sampling, the rest.

Runs `speed.py`'s jaxpcc side (Pendulum-v0, one update per env step: by default after every env
step, the reference's default, or in blocks of `--update-every`)
once to warm the compiled programs, then once more with a `PartTimer` observing the loop (the
loop's `observer` hook): each update block is waited for (`block_until_ready`), so its time is
the update's own and acting is not charged for it. The ceiling (`speed.ceiling`) is printed
beside it. The wait adds a sync per block, so the timed run's total is a little above an
untimed one.

    python -m benchmarks.loop_breakdown --algo td3 --batch-size 100
"""

from __future__ import annotations

import argparse
import collections
import tempfile
from pathlib import Path

from benchmarks import speed
from jaxpcc import runtime
from jaxpcc.loop_observer import PARTS, UPDATES, LoopObserver

UPDATES_WAITED = f"{UPDATES} (waited for)"


class PartTimer(LoopObserver):
    """Sums the seconds of each of the loop's parts; update blocks are waited for."""

    wait_for_updates = True

    def __init__(self):
        self.seconds: collections.Counter = collections.Counter()

    def part_done(self, part: str, seconds: float) -> None:
        self.seconds[part] += seconds


def breakdown(algo: str, batch_size: int, steps: int, update_after: int, update_every: int) -> tuple[float, dict]:
    """(wall s, {part: s}) of one warm jaxpcc training run, the rest under "the rest"."""
    out = Path(tempfile.mkdtemp(prefix="jaxpcc-breakdown-"))
    speed.run_jaxpcc(algo, batch_size, steps, update_after, update_every, 1, out)  # warm the programs
    timer = PartTimer()
    wall = speed.run_jaxpcc(algo, batch_size, steps, update_after, update_every, 2, out, observer=timer)["wall"]
    parts = {(UPDATES_WAITED if part == UPDATES else part): timer.seconds[part] for part in PARTS}
    parts["the rest"] = wall - sum(parts.values())
    return wall, parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algo", default="td3", choices=["sac", "td3", "ddpg"])
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--update-after", type=int, default=1_000)
    parser.add_argument("--update-every", type=int, default=1)
    args = parser.parse_args()
    runtime.configure()
    updates = args.steps - args.update_after
    wall, parts = breakdown(args.algo, args.batch_size, args.steps, args.update_after, args.update_every)
    ceil = speed.ceiling(args.algo, args.batch_size, block=args.update_every)
    print(f"{args.algo} batch {args.batch_size}, {args.steps} env steps, {updates} updates, "
          f"blocks of {args.update_every}: {wall:.2f} s (timed run, warm)")
    for label, sec in parts.items():
        print(f"  {label:32s} {sec:7.2f} s  {100 * sec / wall:5.1f}%")
    print(f"  ceiling: {ceil:.0f} updates/s = {updates / ceil:.2f} s for the updates alone")


if __name__ == "__main__":
    main()
