"""Learning under partial observability: SAC against RSAC on the pendulum POMDPs.

Runs, for each seed, SAC and RSAC on `pendulum-p-v0` (angle only) and `pendulum-v-v0` (angular
velocity only), plus SAC on the fully observed `Pendulum-v0`, and prints the mean and spread over
seeds of the test return after each epoch of 1000 env steps (and plots them per env, every
algorithm run into the same results folder together, as `ENV/curves.png`). SAC uses the reference's
`template_100k.gin` values, RSAC its `template_recurrent_100k.gin` values (5000-episode buffer,
batches of 10 whole episodes, 10,000 random steps first, 2 x 256 LSTM summarizers), with the
number of epochs set from `--steps`. The reference reports RSAC solving both POMDPs while SAC
fails them (its README's pendulum figure); within 30,000 steps expect RSAC to pull ahead on
pendulum-p first.

    python benchmarks/recurrent.py --steps 30000 --seeds 1 2 3 [--runs pendulum-v-v0:rsac ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import gin
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jaxpcc import runtime  # noqa: E402
from jaxpcc.plot import plot  # noqa: E402
from jaxpcc.train import train  # noqa: E402

RUNS = [
    ("pendulum-p-v0", "sac"),
    ("pendulum-p-v0", "rsac"),
    ("pendulum-v-v0", "sac"),
    ("pendulum-v-v0", "rsac"),
    ("Pendulum-v0", "sac"),
]
CONFIGS = {"sac": "configs/test/template_100k.gin", "rsac": "configs/test/template_recurrent_100k.gin"}


def run(env_id: str, algo: str, seed: int, steps: int, overrides: list[str], out: Path) -> list[tuple[int, float]]:
    """(env steps, test return) after each epoch of one run."""
    gin.clear_config()
    gin.parse_config_files_and_bindings(
        [str(ROOT / CONFIGS[algo])], [f"train.num_epochs = {max(1, steps // 1000)}", *overrides]
    )
    run_dir = out / env_id / algo / str(seed)
    train(env_id, algo, run_dir, seed, quiet=True)
    lines = (run_dir / "progress.csv").read_text().strip().splitlines()
    header = lines[0].split(",")
    step_col, ret_col = header.index("Timesteps"), header.index("Episode Return (Test)")
    return [(int(float(r.split(",")[step_col])), float(r.split(",")[ret_col])) for r in lines[1:]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=30_000, help="env steps per run (multiples of 1000)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--gin_param", action="append", default=[], help="extra gin bindings, e.g. train.update_after=1000")
    parser.add_argument("--out", type=Path, default=None, help="results folder (a temporary one by default)")
    parser.add_argument(
        "--runs", nargs="+", default=[f"{env}:{algo}" for env, algo in RUNS], metavar="ENV:ALGO",
        help="which of the runs to do (default: all of " + ", ".join(f"{e}:{a}" for e, a in RUNS) + ")",
    )
    args = parser.parse_args()
    runtime.configure()
    chosen = [tuple(r.split(":", 1)) for r in args.runs]
    unknown = [f"{e}:{a}" for e, a in chosen if (e, a) not in RUNS]
    if unknown:
        parser.error(f"unknown runs {unknown}; choose from {[f'{e}:{a}' for e, a in RUNS]}")
    out = args.out or Path(tempfile.mkdtemp(prefix="jaxpcc-recurrent-bench-"))
    print(f"results under {out}")
    for env_id, algo in chosen:
        start = time.perf_counter()
        curves = [run(env_id, algo, seed, args.steps, args.gin_param, out) for seed in args.seeds]
        hours = (time.perf_counter() - start) / 3600
        returns = np.array([[ret for _, ret in curve] for curve in curves])
        print(f"\n{env_id} {algo} ({len(args.seeds)} seeds, {hours * 60:.1f} min): test return mean +- std")
        for i, (step, _) in enumerate(curves[0]):
            print(f"  {step:7d}  {returns[:, i].mean():9.1f} +- {returns[:, i].std():6.1f}")
        figure = plot(out / env_id, "Episode Return (Test)", out / env_id / "curves.png")
        print(f"  learning curves of every algorithm run on {env_id} so far: {figure}")


if __name__ == "__main__":
    main()
