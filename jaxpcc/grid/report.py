"""A grid's report: a table (Markdown and CSV) and figures, from the runs' progress.csv files.

Table: one row per env x algo with runs finished, env steps reached, final and best test return
as mean +- std over run ids (std over runs, ddof 0, as jaxpcc.plot). Figures: one panel per env,
test return against env steps, one line per algorithm with a +-std band over run ids, as PNG and
SVG. A partial grid is reported as it stands: unfinished runs count with what they have logged
and are marked (`*` in the table, "unfinished" in the legend).
"""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from jaxpcc.grid.plan import Budget, run_dir, run_status
from jaxpcc.grid.spec import Grid, RunSpec
from jaxpcc.plot import mean_and_spread, read_curve

DEFAULT_STAT = "Episode Return (Test)"
COLUMNS = ("env", "algo", "runs finished", "env steps reached", "final return", "final std", "best return", "best std")


@dataclasses.dataclass
class Cell:
    """One env x algo of the grid: its runs' curves and how far each got."""

    env: str
    algo: str
    runs: list[RunSpec]
    curves: list[tuple[np.ndarray, np.ndarray]]  # one per run that has logged a value
    finished: int
    steps: list[int]  # env steps reached, per run (0 for a run that has not logged)

    @property
    def unfinished(self) -> int:
        return len(self.runs) - self.finished

    def final(self) -> tuple[float, float]:
        return _mean_std([v[-1] for _, v in self.curves])

    def best(self) -> tuple[float, float]:
        return _mean_std([v.max() for _, v in self.curves])


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    if not values:
        return math.nan, math.nan
    return float(np.mean(values)), float(np.std(values))


def is_finished(results_dir: Path, run: RunSpec, budget: Budget) -> bool:
    """The checkpoint decides; without one (progress.csv files copied out of a results tree, as in
    docs/), a run is finished when its progress.csv has the last epoch's row."""
    status = run_status(results_dir, run, budget)
    folder = run_dir(results_dir, run)
    if status.state != "waiting" or not (folder / "progress.csv").exists():
        return status.state == "finished"
    _, epochs = read_curve(folder / "progress.csv", "Epoch")
    return len(epochs) > 0 and int(epochs[-1]) >= budget.num_epochs


def collect(grid: Grid, results_dir: Path, budgets: dict[RunSpec, Budget], stat: str = DEFAULT_STAT) -> list[Cell]:
    cells: dict[tuple[str, str], Cell] = {}
    for run in grid.runs:
        cell = cells.setdefault((run.env, run.algo), Cell(run.env, run.algo, [], [], 0, []))
        cell.runs.append(run)
        path = run_dir(results_dir, run) / "progress.csv"
        cell.finished += is_finished(results_dir, run, budgets[run])
        steps, values = read_curve(path, stat) if path.exists() else (np.zeros(0, int), np.zeros(0))
        cell.steps.append(int(steps[-1]) if len(steps) else 0)
        if len(steps):
            cell.curves.append((steps, values))
    return list(cells.values())


def table_rows(cells: Sequence[Cell]) -> list[dict]:
    rows = []
    for c in cells:
        final, best = c.final(), c.best()
        rows.append({
            "env": c.env, "algo": c.algo, "runs finished": f"{c.finished}/{len(c.runs)}",
            "env steps reached": int(np.mean(c.steps)), "final return": final[0], "final std": final[1],
            "best return": best[0], "best std": best[1],
        })
    return rows


def markdown(cells: Sequence[Cell], title: str, stat: str) -> str:
    lines = [
        f"# {title}", "",
        f"{stat}: final = the last logged epoch, best = the best epoch; mean +- std over run ids. "
        "`*`: some runs unfinished (counted with what they have logged).", "",
        "| env | algo | runs finished | env steps reached (mean) | final | best |", "|---|---|---|---|---|---|",
    ]
    for c, row in zip(cells, table_rows(cells)):
        mark = "*" if c.unfinished else ""
        lines.append(
            f"| {c.env} | {c.algo} | {row['runs finished']}{mark} | {row['env steps reached']:,d} | "
            f"{_pm(row['final return'], row['final std'])} | {_pm(row['best return'], row['best std'])} |"
        )
    return "\n".join(lines) + "\n"


def _pm(mean: float, std: float) -> str:
    return "n/a" if math.isnan(mean) else f"{mean:.1f} +- {std:.1f}"


def write_csv(cells: Sequence[Cell], path: Path) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for row in table_rows(cells):
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})


def figure(cells: Sequence[Cell], title: str, stat: str, out_stem: Path) -> list[Path]:
    """One panel per env (in grid order), one line per algorithm with a band over run ids."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = list(dict.fromkeys(c.env for c in cells))
    cols = min(len(envs), 3)
    rows = math.ceil(len(envs) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.8 * rows), squeeze=False)
    for ax, env in zip(axes.flat, envs):
        for c in (c for c in cells if c.env == env):
            if not c.curves:
                continue
            steps, mean, std = mean_and_spread(c.curves)
            note = f"{len(c.curves)} run{'' if len(c.curves) == 1 else 's'}" + (f", {c.unfinished} unfinished" if c.unfinished else "")
            ax.plot(steps, mean, label=f"{c.algo} ({note})")
            ax.fill_between(steps, mean - std, mean + std, alpha=0.2)
        ax.set_title(env)
        ax.set_xlabel("env steps")
        ax.set_ylabel(stat)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(envs):]:
        ax.set_visible(False)
    fig.suptitle(title)
    fig.tight_layout()
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [out_stem.with_suffix(".png"), out_stem.with_suffix(".svg")]
    fig.savefig(paths[0], dpi=120)
    fig.savefig(paths[1], metadata={"Date": None})
    plt.close(fig)
    return paths


def write_report(grid: Grid, results_dir: Path, budgets: dict[RunSpec, Budget], out_dir: Path,
                 stat: str = DEFAULT_STAT, title: Optional[str] = None) -> list[Path]:
    """Writes OUT/NAME.md, OUT/NAME.csv, OUT/NAME.png and OUT/NAME.svg; returns their paths."""
    cells = collect(grid, results_dir, budgets, stat)
    title = title or grid.name
    out_dir.mkdir(parents=True, exist_ok=True)
    md, table = out_dir / f"{grid.name}.md", out_dir / f"{grid.name}.csv"
    md.write_text(markdown(cells, title, stat))
    write_csv(cells, table)
    paths = [md, table]
    if any(c.curves for c in cells):
        paths += figure(cells, title, stat, out_dir / grid.name)
    return paths
