"""From a grid to runs: each run's budget, its status in the results tree, and its command.

A run is finished when its checkpoint says its last epoch is done; partial when a checkpoint
exists short of that (the run's command resumes it); waiting otherwise. Budgets come from the
runs' gin configs, read in one child process (`python -m jaxpcc.grid.budget`), so the grid
driver never imports JAX or the training loop.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Optional, Sequence

from jaxpcc.grid.spec import GridError, RunSpec
from jaxpcc.persistence.checkpoint import CheckpointError, read_meta

REPO_ROOT = Path(__file__).resolve().parents[2]
MAIN = REPO_ROOT / "main.py"
CHECKPOINT_NAME = "checkpoint.npz"  # the name jaxpcc.persistence.run_checkpoint gives a run's checkpoint
LOG_NAME = "grid.log"  # a grid run's stdout and stderr, beside its progress.csv
SB3_PREFIX = "sb3-"  # algo names run by the SB3 backend (`main.py sb3`, jaxpcc.sb3), e.g. sb3-sac

# Default env steps per second of one worker for the --dry-run time estimate, measured on the
# 2-core CPU (README: SAC 81-150 steps/s on Pendulum; RSAC at the reference's size about 2
# updates/s, one update per step). A grid's own progress.csv files replace them once it has run.
DEFAULT_RATES = {"recurrent": 2.0, "sb3": 60.0, "other": 100.0}
RECURRENT_ALGOS = ("rdpg", "rtd3", "rsac", "rsac_s")


@dataclasses.dataclass(frozen=True)
class Budget:
    num_epochs: int
    steps_per_epoch: int
    update_after: int

    @property
    def total_steps(self) -> int:
        return self.num_epochs * self.steps_per_epoch


@dataclasses.dataclass(frozen=True)
class RunStatus:
    state: str  # "finished", "partial" or "waiting"
    epoch: int = 0
    steps: int = 0


def run_dir(results_dir: Path, run: RunSpec) -> Path:
    return Path(results_dir) / run.env / run.algo / str(run.run_id)


def log_path(results_dir: Path, run: RunSpec) -> Path:
    return run_dir(results_dir, run) / LOG_NAME


def read_budgets(runs: Sequence[RunSpec]) -> dict[RunSpec, Budget]:
    """Each run's epochs, steps per epoch and update_after, from its config and gin params."""
    queries = sorted({(r.config, r.gin_params) for r in runs})
    payload = json.dumps([[config, list(params)] for config, params in queries])
    # In the caller's directory, as the runs themselves: configs resolve as they will for them.
    path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    proc = subprocess.run(
        [sys.executable, "-m", "jaxpcc.grid.budget"], input=payload, capture_output=True, text=True,
        env={**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": path},
    )
    if proc.returncode == 2:
        raise GridError(proc.stderr.strip().splitlines()[-1].removeprefix("error: "))
    if proc.returncode != 0:
        raise RuntimeError(f"reading the grid's configs failed:\n{proc.stderr}")
    answers = dict(zip(queries, (Budget(*b) for b in json.loads(proc.stdout))))
    return {run: answers[(run.config, run.gin_params)] for run in runs}


def run_status(results_dir: Path, run: RunSpec, budget: Budget) -> RunStatus:
    path = run_dir(results_dir, run) / CHECKPOINT_NAME
    if not path.exists():
        return RunStatus("waiting")
    try:
        progress = read_meta(path)["progress"]
    except (CheckpointError, KeyError):
        return RunStatus("partial")  # the run's own command reports what is wrong with it
    epoch, steps = int(progress["epoch"]), int(progress["step"])
    return RunStatus("finished" if epoch >= budget.num_epochs else "partial", epoch, steps)


def command(run: RunSpec, results_dir: Path, python: Optional[str] = None) -> list[str]:
    """The run's own command line: `main.py --env --algo --config --run_id`, or the SB3 backend's."""
    python = python or sys.executable
    if run.algo.startswith(SB3_PREFIX):
        head = [python, str(MAIN), "sb3", "--algo", run.algo.removeprefix(SB3_PREFIX)]
    else:
        head = [python, str(MAIN), "--algo", run.algo]
    argv = head + ["--env", run.env, "--config", run.config, "--run_id", str(run.run_id),
                   "--results_dir", str(Path(results_dir).resolve())]
    for binding in run.gin_params:
        argv += ["--gin_param", binding]
    return argv


def rate_of(run: RunSpec) -> float:
    if run.algo.startswith(SB3_PREFIX):
        return DEFAULT_RATES["sb3"]
    return DEFAULT_RATES["recurrent" if run.algo in RECURRENT_ALGOS else "other"]


def describe(results_dir: Path, runs: Sequence[RunSpec], budgets: dict, workers: int) -> str:
    """The --dry-run text: one line per run, then steps left and a time estimate."""
    lines, left, seconds = [], 0, 0.0
    for run in runs:
        budget, status = budgets[run], run_status(results_dir, run, budgets[run])
        remaining = budget.total_steps - status.steps
        left += remaining
        seconds += remaining / rate_of(run)
        where = f"epoch {status.epoch}/{budget.num_epochs}" if status.state == "partial" else status.state
        lines.append(f"{run.label:45s} {run.config:52s} {budget.total_steps:>9,d} steps  {where}")
        lines.append("    " + " ".join(_quote(a) for a in command(run, results_dir)[1:]))
    lines.append(
        f"{len(runs)} runs, {left:,d} env steps (and about as many updates) left; about "
        f"{duration(seconds / max(workers, 1))} on {workers} worker(s) at the 2-core CPU rates of "
        "jaxpcc.grid.plan.DEFAULT_RATES (a GPU or a cluster divides it)"
    )
    return "\n".join(lines)


def duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    return f"{seconds // 60} min {seconds % 60:02d} s"


def _quote(arg: str) -> str:
    return f"'{arg}'" if any(c in arg for c in " =()%") else arg
