"""Short SAC runs on the reference's custom domains, to show that they can be learned.

    python -m benchmarks.envs --steps 20000 --envs dmc-cartpole-balance-v0 water-maze-simple-mdp-v0 reacher-mdp-v0

Prints the test return after the first and the last epoch and env steps per second.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

import jaxpcc
from benchmarks.bindings import config_file
from jaxpcc import runtime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", nargs="+", default=["dmc-cartpole-balance-v0", "water-maze-simple-mdp-v0", "reacher-mdp-v0"])
    parser.add_argument("--algo", default="sac")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--update-every", type=int, default=50)
    args = parser.parse_args()
    runtime.configure()
    out = Path(tempfile.mkdtemp(prefix="jaxpcc-envs-"))
    print(f"{args.algo}, {args.steps} env steps, seed {args.seed}, update_every {args.update_every}")
    for env_id in args.envs:
        config = config_file(
            f"""
            train.num_epochs = {args.steps // 2000}
            train.num_steps_per_epoch = 2000
            train.num_test_episodes_per_epoch = 5
            train.update_after = 1000
            train.update_every = {args.update_every}
            """,
            out,
        )
        start = time.perf_counter()
        jaxpcc.train(env_id, args.algo, args.seed, config=config, run_dir=out / env_id)
        wall = time.perf_counter() - start
        with open(out / env_id / "progress.csv") as f:
            rows = list(csv.DictReader(f))
        first, last = float(rows[0]["Episode Return (Test)"]), float(rows[-1]["Episode Return (Test)"])
        best = max(float(r["Episode Return (Test)"]) for r in rows)
        print(f"{env_id:32s} test return first epoch {first:9.1f}  last {last:9.1f}  best {best:9.1f}  "
              f"{args.steps / wall:6.0f} env steps/s ({wall / 60:.1f} min)", flush=True)


if __name__ == "__main__":
    main()
