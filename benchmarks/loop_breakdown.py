"""Where the training loop's wall time goes: updates, acting, env steps, sampling, the rest.

Runs `speed.py`'s jaxpcc side (Pendulum-v0, one update per env step, blocks of `--update-every`)
once to warm the compiled programs, then once more with timers around the loop's parts: each
update block is waited for (`block_until_ready`), so its time is the update's own and acting is
not charged for it. The ceiling (`speed.ceiling`) is printed beside it. The timers add a sync
per block, so the timed run's total is a little above an untimed one.

    python benchmarks/loop_breakdown.py --algo td3 --batch-size 100
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

import jax

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import speed  # noqa: E402
from jaxpcc import runtime  # noqa: E402
from jaxpcc import loop  # noqa: E402
from jaxpcc.replay import ring  # noqa: E402

# (label, owner, method name, wait for the result): the loop's parts, in the order they happen.
PARTS = (
    ("acting (jitted, per env step)", loop.Learner, "act", False),
    ("env steps and buffer pushes", loop.SeedRun, "step", False),
    ("sampling batches", ring.ReplayBuffer, "sample_many", False),
    ("updates (waited for)", loop.Learner, "update", True),
)


@contextlib.contextmanager
def timed_parts(seconds: collections.Counter) -> Iterator[None]:
    """Wraps each of `PARTS` with a timer adding into `seconds[label]`; restores them on exit."""
    originals = []
    for label, owner, name, wait in PARTS:
        method = getattr(owner, name)
        originals.append((owner, name, method))
        setattr(owner, name, _timer(method, label, wait, seconds))
    try:
        yield
    finally:
        for owner, name, method in originals:
            setattr(owner, name, method)


def _timer(method: Callable, label: str, wait: bool, seconds: collections.Counter) -> Callable:
    def timed(*args, **kwargs):
        start = time.perf_counter()
        out = method(*args, **kwargs)
        if wait:
            jax.block_until_ready(out)
        seconds[label] += time.perf_counter() - start
        return out

    return timed


def breakdown(algo: str, batch_size: int, steps: int, update_after: int, update_every: int) -> tuple[float, dict]:
    """(wall s, {part: s}) of one warm jaxpcc training run, the rest under "the rest"."""
    out = Path(tempfile.mkdtemp(prefix="jaxpcc-breakdown-"))
    speed.run_jaxpcc(algo, batch_size, steps, update_after, update_every, 1, out)  # warm the programs
    seconds: collections.Counter = collections.Counter()
    with timed_parts(seconds):
        wall = speed.run_jaxpcc(algo, batch_size, steps, update_after, update_every, 2, out)["wall"]
    parts = {label: seconds[label] for label, *_ in PARTS}
    parts["the rest"] = wall - sum(parts.values())
    return wall, parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algo", default="td3", choices=["sac", "td3", "ddpg"])
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--update-after", type=int, default=1_000)
    parser.add_argument("--update-every", type=int, default=50)
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
