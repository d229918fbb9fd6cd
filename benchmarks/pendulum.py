"""Learning benchmark: DDPG, TD3 and SAC on Pendulum-v0, several seeds.

Prints the final test return (mean and spread over seeds, the mean of the last epoch's test
episodes per seed) and env steps per second for each algorithm. RL-Zoo reports SAC on
Pendulum at about -176 +- 102; a healthy run is better than -250.

    python -m benchmarks.pendulum --steps 15000 --seeds 1 2 3
    python -m benchmarks.pendulum --env-on-device    # the same, Pendulum's JAX twin on the device
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


def run_one(algo: str, seed: int, steps: int, out: Path, on_device: bool = False) -> tuple[float, float]:
    config = config_file(
        f"""
        train.num_epochs = {steps // 1000}
        train.num_steps_per_epoch = 1000
        train.num_test_episodes_per_epoch = 10
        train.update_after = 1000
        """,
        out,
    )
    start = time.perf_counter()
    run = jaxpcc.train("Pendulum-v0", algo, seed, config=config, run_dir=out / algo / str(seed), env_on_device=on_device)
    return run.last_epoch["Episode Return (Test)"], steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algos", nargs="+", default=["ddpg", "td3", "sac"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--steps", type=int, default=15_000)
    parser.add_argument("--out", type=Path, default=None, help="where runs are written (default: a temp dir)")
    parser.add_argument("--env-on-device", action="store_true", help="train with the env's JAX twin on the device")
    args = parser.parse_args()
    runtime.configure()
    out = args.out or Path(tempfile.mkdtemp(prefix="jaxpcc-bench-"))
    where = "on the device (JAX twin)" if args.env_on_device else "on the host"
    print(f"Pendulum-v0 {where}, {args.steps} env steps, seeds {args.seeds}, runs in {out}")
    print(f"{'algo':6s} {'final test return':>26s} {'per seed':>32s} {'env steps/s':>12s}")
    for algo in args.algos:
        results = [run_one(algo, seed, args.steps, out, args.env_on_device) for seed in args.seeds]
        returns = np.array([r for r, _ in results])
        speed = np.mean([s for _, s in results])
        per_seed = " ".join(f"{r:.0f}" for r in returns)
        print(f"{algo:6s} {returns.mean():12.1f} +- {returns.std():9.1f} {per_seed:>32s} {speed:12.0f}", flush=True)


if __name__ == "__main__":
    main()
