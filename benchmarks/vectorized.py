"""Several seeds in one process against the same seeds one after another.

    python -m benchmarks.vectorized --algo sac --seeds 1 2 3 4 --steps 5000

Prints the wall time of the seeds run sequentially, of the same seeds vectorized (`--vectorized`),
their ratio, and the final test returns of both (equal up to float noise). It also sets the
vectorized run against one seed alone (the GPU target: 8 seeds in at most 1.5x one seed's time),
both with the first seed, which pays for compiling as the vectorized run does, and with the
median of the seeds that reuse its compiled programs.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import jaxpcc
from benchmarks.bindings import config_file
from jaxpcc import runtime


def bind(steps: int, update_every: int, batch_size: int, out: Path) -> str:
    return config_file(
        f"""
        train.num_epochs = {steps // 1000}
        train.num_steps_per_epoch = 1000
        train.num_test_episodes_per_epoch = 5
        train.update_after = 1000
        train.update_every = {update_every}
        ReplayBuffer.batch_size = {batch_size}
        """,
        out,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="Pendulum-v0")
    parser.add_argument("--algo", default="sac")
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 4])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--update-every", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="jaxpcc-vec-"))
    runtime.configure()

    config = bind(args.steps, args.update_every, args.batch_size, out)
    alone, seconds_alone = [], []
    for s in args.seeds:
        start = time.perf_counter()
        alone.append(jaxpcc.train(args.env, args.algo, s, config=config, results_dir=out / "alone").last_epoch)
        seconds_alone.append(time.perf_counter() - start)
    sequential = sum(seconds_alone)

    start = time.perf_counter()
    together = [run.last_epoch for run in jaxpcc.train_together(args.env, args.algo, args.seeds, config=config, results_dir=out / "vec")]
    vectorized = time.perf_counter() - start

    print(f"{args.algo} on {args.env}, {len(args.seeds)} seeds x {args.steps} steps, update_every {args.update_every}, batch {args.batch_size}")
    print(f"sequential {sequential:7.1f} s   vectorized {vectorized:7.1f} s   ratio {vectorized / sequential:.2f}")
    first, warm = seconds_alone[0], float(np.median(seconds_alone[1:])) if len(seconds_alone) > 1 else None
    against_one = f"one seed alone {first:7.1f} s (compiling)   vectorized / one: {vectorized / first:.2f}"
    if warm is not None:
        against_one += f"   (against a warm seed, {warm:.1f} s: {vectorized / warm:.2f})"
    print(against_one)
    for s, a, v in zip(args.seeds, alone, together):
        print(f"seed {s}: test return alone {a['Episode Return (Test)']:8.1f}   vectorized {v['Episode Return (Test)']:8.1f}")


if __name__ == "__main__":
    main()
