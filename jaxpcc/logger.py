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
    """progress.csv with a fixed header, only ever appended to or atomically replaced.

    On resume, rows past the checkpoint (written by an epoch that never committed) and rows cut
    short by a crash are dropped by writing the kept rows to a temporary file and renaming it over
    the old one, so a crash at any moment leaves either the old or the new file whole. A new run
    writes the file with its first row (`keep_until_step` 0), so a run that never finished an
    epoch leaves none.
    """

    def __init__(self, run_dir: Path, columns: Sequence[str], keep_until_step: int):
        self.path = Path(run_dir) / CSV_NAME
        self.columns = list(columns)
        self.steps: set[int] = set()
        self.fresh = keep_until_step <= 0  # a new run: the file is (re)made with its first row
        if self.fresh:
            return
        rows, header = [], None
        if self.path.exists() and keep_until_step > 0:
            with open(self.path, newline="") as f:
                reader = csv.DictReader(f)
                header = reader.fieldnames
                read = list(reader)
            if read and not _ends_with_newline(self.path):
                read[-1] = {}  # cut short by a crash mid-append: dropped below
            rows = [r for r in read if _whole(r, header) and _step(r) is not None and _step(r) <= keep_until_step]
            if len(rows) == len(read) and header == self.columns:
                self.steps = {_step(r) for r in rows}
                return
        self._replace(rows)

    def _replace(self, rows: list) -> None:
        """The header and `rows`, through a temporary file renamed over progress.csv."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            with open(tmp, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=self.columns, extrasaction="ignore")
                writer.writeheader()
                writer.writerows(rows)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException as err:
            tmp.unlink(missing_ok=True)
            if isinstance(err, OSError) and err.filename is None:
                raise OSError(err.errno, f"{err.strerror or err} (while writing {self.path})", str(self.path)) from err
            raise
        self.steps = {_step(r) for r in rows}

    def has_row(self, step: int) -> bool:
        return step in self.steps

    def write(self, row: Mapping[str, float]) -> None:
        if self.fresh:  # the first row of a new run replaces whatever an uncommitted attempt left
            self.fresh = False
            self._replace([row])
            return
        try:
            with open(self.path, "a", newline="") as f:
                csv.DictWriter(f, fieldnames=self.columns, extrasaction="ignore").writerow(row)
        except OSError as err:  # a full disk: say which file (a row cut short is dropped on resume)
            if err.filename is None:
                raise OSError(err.errno, f"{err.strerror or err} (while writing {self.path})", str(self.path)) from err
            raise
        self.steps.add(int(row["Timesteps"]))


def _step(row: Mapping[str, str]) -> Optional[int]:
    try:
        return int(float(row["Timesteps"]))
    except (KeyError, TypeError, ValueError):
        return None


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def _whole(row: Mapping, header) -> bool:
    """A row with every column of the header (a crash mid-append leaves one cut short)."""
    return bool(row) and None not in row and all(row.get(name) is not None for name in header or ())


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
        # The CSV row last: a rerun replays a committed epoch's row everywhere when the CSV lacks it.
        if self.tensorboard is not None:
            self.tensorboard.write(row)
        if self.wandb_run is not None:
            self.wandb_run.log({k: v for k, v in row.items() if _finite(v)}, step=int(row["Timesteps"]))
        self.csv.write(row)
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
