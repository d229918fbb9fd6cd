"""Learning curves from the CSV logs: mean and spread over run ids, one line per algorithm.

    python -m jaxpcc.plot results/Pendulum-v0                  # -> results/Pendulum-v0/curves.png
    python -m jaxpcc.plot results/Pendulum-v0 --stat "Episode Return (Train)" --out curves.png
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np


def read_curve(csv_path: Path, stat: str) -> tuple[np.ndarray, np.ndarray]:
    """(timesteps, values) of one run; rows without a finite value are skipped."""
    steps, values = [], []
    with open(csv_path, newline="") as f:
        for row in csv.DictReader(f):
            try:
                value = float(row.get(stat, "nan"))
            except ValueError:
                continue
            if np.isfinite(value):
                steps.append(int(float(row["Timesteps"])))
                values.append(value)
    return np.asarray(steps), np.asarray(values)


def collect(env_dir: Path, stat: str) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """{algo: [curve per run id]} from env_dir/ALGO/RUN_ID/progress.csv."""
    curves: dict[str, list] = {}
    for csv_path in sorted(env_dir.glob("*/*/progress.csv")):
        steps, values = read_curve(csv_path, stat)
        if len(steps):
            curves.setdefault(csv_path.parent.parent.name, []).append((steps, values))
    return curves


def mean_and_spread(runs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and standard deviation over runs, on the timesteps every run has reached."""
    common = sorted(set.intersection(*(set(s.tolist()) for s, _ in runs)))
    table = np.array([[dict(zip(s.tolist(), v))[t] for t in common] for s, v in runs])
    return np.asarray(common), table.mean(axis=0), table.std(axis=0)


def plot(env_dir: Path, stat: str, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = collect(env_dir, stat)
    if not curves:
        raise FileNotFoundError(f"no progress.csv with '{stat}' under {env_dir}/ALGO/RUN_ID/")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for algo, runs in sorted(curves.items()):
        steps, mean, std = mean_and_spread(runs)
        ax.plot(steps, mean, label=f"{algo} ({len(runs)} run{'' if len(runs) == 1 else 's'})")
        ax.fill_between(steps, mean - std, mean + std, alpha=0.2)
    ax.set_xlabel("env steps")
    ax.set_ylabel(stat)
    ax.set_title(env_dir.name)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Plot learning curves (mean +- std over run ids).")
    parser.add_argument("env_dir", type=Path, help="results/ENV")
    parser.add_argument("--stat", default="Episode Return (Test)")
    parser.add_argument("--out", type=Path, default=None, help="PNG path (default ENV_DIR/curves.png)")
    args = parser.parse_args(argv)
    try:
        path = plot(args.env_dir, args.stat, args.out or args.env_dir / "curves.png")
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
