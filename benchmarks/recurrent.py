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

    python -m benchmarks.recurrent --steps 30000 --seeds 1 2 3 [--runs pendulum-v-v0:rsac ...] [--out DIR]
    python -m benchmarks.recurrent --report --out DIR [--runs ...] [--seeds ...]

Runs resume from their checkpoints, so a benchmark too long for one sitting is continued by running
the same command again; `--report` prints (and plots) what the runs have logged so far.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

import jaxpcc
from jaxpcc import runtime
from jaxpcc import plot as plot_lib

RUNS = [
    ("pendulum-p-v0", "sac"),
    ("pendulum-p-v0", "rsac"),
    ("pendulum-v-v0", "sac"),
    ("pendulum-v-v0", "rsac"),
    ("Pendulum-v0", "sac"),
]
CONFIGS = {"sac": "configs/test/template_100k.gin", "rsac": "configs/test/template_recurrent_100k.gin"}


def run(env_id: str, algo: str, seed: int, steps: int, overrides: list[str], out: Path) -> list[tuple[int, float]]:
    """(env steps, test return) after each epoch of one run (resumed from its checkpoint if one exists)."""
    run_dir = out / env_id / algo / str(seed)
    gin_params = [f"train.num_epochs = {max(1, steps // 1000)}", *overrides]
    jaxpcc.train(env_id, algo, seed, config=str(ROOT / CONFIGS[algo]), gin_params=gin_params, run_dir=run_dir)
    return read_curve(run_dir)[0]


def read_curve(run_dir: Path) -> tuple[list[tuple[int, float]], float]:
    """A run's (env steps, test return) per epoch so far, and its hours of training (both from progress.csv)."""
    path = run_dir / "progress.csv"
    if not path.exists():
        return [], 0.0
    steps, returns = plot_lib.read_curve(path, "Episode Return (Test)")
    _, hours = plot_lib.read_curve(path, "Hours")
    return [(int(s), float(r)) for s, r in zip(steps, returns)], float(hours[-1]) if len(hours) else 0.0


def print_curves(env_id: str, algo: str, curves: dict, took: str) -> None:
    """Mean +- std over seeds per epoch, with each seed's return; epochs that not every seed has reached are left out."""
    done = min((len(c) for c in curves.values()), default=0)
    print(f"\n{env_id} {algo} ({len(curves)} seeds, {took}): test return mean +- std "
          f"| seeds {' '.join(str(s) for s in curves)}")
    for i in range(done):
        returns = np.array([c[i][1] for c in curves.values()])
        step = next(iter(curves.values()))[i][0]
        print(f"  {step:7d}  {returns.mean():9.1f} +- {returns.std():6.1f} | " + " ".join(f"{r:7.1f}" for r in returns))
    longer = {seed: c[done:] for seed, c in curves.items() if len(c) > done}
    for seed, rest in longer.items():
        print(f"  seed {seed} further: " + ", ".join(f"{step}: {ret:.1f}" for step, ret in rest))


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
    parser.add_argument("--report", action="store_true",
                        help="train nothing: print and plot what the runs under --out have logged so far "
                             "(runs resumed across sessions)")
    args = parser.parse_args()
    if args.report and args.out is None:
        parser.error("--report reads the runs under --out; give the folder")
    runtime.configure()
    chosen = [tuple(r.split(":", 1)) for r in args.runs]
    unknown = [f"{e}:{a}" for e, a in chosen if (e, a) not in RUNS]
    if unknown:
        parser.error(f"unknown runs {unknown}; choose from {[f'{e}:{a}' for e, a in RUNS]}")
    out = args.out or Path(tempfile.mkdtemp(prefix="jaxpcc-recurrent-bench-"))
    print(f"results under {out}")
    for env_id, algo in chosen:
        start = time.perf_counter()
        if not args.report:
            for seed in args.seeds:
                run(env_id, algo, seed, args.steps, args.gin_param, out)
        logged = {seed: read_curve(out / env_id / algo / str(seed)) for seed in args.seeds}
        curves = {seed: curve for seed, (curve, _) in logged.items() if curve}
        if not curves:
            print(f"\n{env_id} {algo}: nothing logged yet")
            continue
        # In a report, progress.csv's clock: it runs from a run's first start, across pauses and resumes.
        took = (
            "hours since each run began: " + " ".join(f"{hours:.1f}" for curve, hours in logged.values() if curve)
            if args.report else f"{(time.perf_counter() - start) / 60:.1f} min"
        )
        print_curves(env_id, algo, curves, took)
        figure = plot_lib.plot(out / env_id, "Episode Return (Test)", out / env_id / "curves.png")
        print(f"  learning curves of every algorithm run on {env_id} so far: {figure}")


if __name__ == "__main__":
    main()
