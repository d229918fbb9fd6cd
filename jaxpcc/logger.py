"""Where training statistics go: a progress bar and epoch table, a CSV file, TensorBoard, and wandb.

Statistic names are the reference's ("Episode Return (Test)", "(qfunc) Q1 pred", ...).
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Mapping, Optional, Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from jaxpcc.tensorboard_log import TensorBoardLog, tensorboard_enabled

CSV_NAME = "progress.csv"
BASE_COLUMNS = (
    "Epoch",
    "Timesteps",
    "Episode Length (Train)",
    "Episode Return (Train)",
    "Episode Length (Test)",
    "Episode Return (Test)",
    "Success Rate",
    "Hours",
    "Steps per Second",
)
CONSOLE_COLUMNS = BASE_COLUMNS[:6] + ("Hours", "Steps per Second")


def wandb_settings() -> Optional[dict]:
    """wandb project/entity from JAXPCC_WANDB_* or the reference's OFFPCC_WANDB_*; None disables wandb."""
    project = os.environ.get("JAXPCC_WANDB_PROJECT") or os.environ.get("OFFPCC_WANDB_PROJECT")
    if not project:
        return None
    entity = os.environ.get("JAXPCC_WANDB_ENTITY") or os.environ.get("OFFPCC_WANDB_ENTITY")
    return {"project": project, "entity": entity}


class CSVLog:
    """progress.csv with a fixed header; on resume, rows past the checkpoint are dropped."""

    def __init__(self, run_dir: Path, columns: Sequence[str], keep_until_step: int):
        self.path = Path(run_dir) / CSV_NAME
        self.columns = list(columns)
        rows = []
        if self.path.exists() and keep_until_step > 0:
            with open(self.path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(float(r["Timesteps"])) <= keep_until_step]
        with open(self.path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)

    def write(self, row: Mapping[str, float]) -> None:
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, fieldnames=self.columns, extrasaction="ignore").writerow(row)


class RunLogger:
    """Console (progress bar + a table per epoch), CSV always, TensorBoard and wandb when configured.

    Args:
      run_dir: results/ENV/ALGO/RUN_ID.
      metric_columns: the agent's logged statistic names, appended to the CSV header.
      total_steps, start_step: for the progress bar (start_step > 0 on resume).
      wandb_group, wandb_name, wandb_id, wandb_config: the wandb run (resumed if `wandb_id`).
      quiet: no console output (tests).
      show_progress: draw the progress bar (one bar per process: vectorized seeds share the first's).
    """

    def __init__(
        self,
        run_dir: Path,
        metric_columns: Sequence[str],
        total_steps: int,
        start_step: int = 0,
        wandb_group: str = "",
        wandb_name: str = "",
        wandb_id: Optional[str] = None,
        wandb_config: Optional[dict] = None,
        quiet: bool = False,
        show_progress: bool = True,
    ):
        self.csv = CSVLog(run_dir, list(BASE_COLUMNS) + list(metric_columns), keep_until_step=start_step)
        self.console = Console(quiet=quiet)
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            disable=quiet or not show_progress,
        )
        self.task = self.progress.add_task(wandb_name or "steps", total=total_steps, completed=start_step)
        self.progress.start()
        self.tensorboard = TensorBoardLog(run_dir, start_step) if tensorboard_enabled() else None
        self.wandb_run = None
        settings = wandb_settings()
        if settings is not None:
            import wandb

            self.wandb_run = wandb.init(
                project=settings["project"],
                entity=settings["entity"],
                group=wandb_group,
                name=wandb_name,
                id=wandb_id,
                resume="allow",
                reinit="create_new",
                dir=str(run_dir),
                config=wandb_config or {},
            )

    @property
    def wandb_id(self) -> Optional[str]:
        return None if self.wandb_run is None else self.wandb_run.id

    def advance(self, steps: int) -> None:
        self.progress.update(self.task, advance=steps)

    def log_epoch(self, row: Mapping[str, float], num_epochs: int) -> None:
        self.csv.write(row)
        if self.tensorboard is not None:
            self.tensorboard.write(row)
        if self.wandb_run is not None:
            self.wandb_run.log({k: v for k, v in row.items() if _finite(v)}, step=int(row["Timesteps"]))
        table = Table(show_header=False, box=None, padding=(0, 2))
        for name in CONSOLE_COLUMNS:
            value = row.get(name, float("nan"))
            text = f"{int(value)}/{num_epochs}" if name == "Epoch" else _fmt(value)
            table.add_row(name, text)
        self.console.print(table)

    def close(self) -> None:
        self.progress.stop()
        if self.tensorboard is not None:
            self.tensorboard.close()
            self.tensorboard = None
        if self.wandb_run is not None:
            self.wandb_run.finish()
            self.wandb_run = None


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _fmt(value) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.2f}"
    return str(value)
