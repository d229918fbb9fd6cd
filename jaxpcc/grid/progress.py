"""One display for a whole grid: runs done / running / failed / waiting, env steps/s, time left.

Backends report each run's start and end; between them the display reads the running runs'
progress.csv files for the env steps they have reached. Start and end lines are printed as they
happen (so a log of the grid reads well); on a terminal a live summary line (and, with
`detail`, a line per running run) stays below them.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Optional

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from jaxpcc.grid.plan import Budget, RunStatus, duration, run_dir
from jaxpcc.grid.spec import RunSpec

PROGRESS_CSV = "progress.csv"


def steps_reached(path: Path) -> int:
    """The last logged Timesteps of a progress.csv (0 when it has no rows yet)."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError:
        return 0
    for row in reversed(rows):
        try:
            return int(float(row["Timesteps"]))
        except (KeyError, TypeError, ValueError):
            continue
    return 0


class GridProgress:
    def __init__(self, results_dir: Path, budgets: dict[RunSpec, Budget], statuses: dict[RunSpec, RunStatus],
                 detail: bool = False, console: Optional[Console] = None):
        self.results_dir = Path(results_dir)
        self.budgets = budgets
        self.detail = detail
        self.console = console or Console()
        self.state = {run: ("done" if s.state == "finished" else "waiting") for run, s in statuses.items()}
        self.steps = {run: s.steps for run, s in statuses.items()}
        self.steps_at_start = dict(self.steps)
        self.logs: dict[RunSpec, Path] = {}
        self.started_at = time.monotonic()
        self._live: Optional[Live] = None

    # -- events from the backends
    def started(self, run: RunSpec, where: str = "") -> None:
        self.state[run] = "running"
        self.console.print(f"start   {run.label}{f' on {where}' if where else ''}")

    def ended(self, run: RunSpec, ok: bool, log: Path, note: str = "") -> None:
        self.state[run] = "done" if ok else "failed"
        self.refresh_steps(run)
        if ok:
            self.console.print(f"done    {run.label}")
        else:
            self.logs[run] = log
            self.console.print(f"[red]FAILED[/red]  {run.label}{f' ({note})' if note else ''}; log: {log}")

    def refresh_steps(self, run: RunSpec) -> None:
        self.steps[run] = max(self.steps[run], steps_reached(run_dir(self.results_dir, run) / PROGRESS_CSV))

    def poll(self) -> None:
        for run, state in self.state.items():
            if state == "running":
                self.refresh_steps(run)
        if self._live is not None:
            self._live.update(self.render())

    # -- the summary
    def counts(self) -> dict[str, int]:
        counts = {"done": 0, "running": 0, "failed": 0, "waiting": 0}
        for state in self.state.values():
            counts[state] += 1
        return counts

    def steps_per_second(self) -> float:
        elapsed = time.monotonic() - self.started_at
        gained = sum(self.steps[r] - self.steps_at_start[r] for r in self.steps)
        return gained / elapsed if elapsed > 0 else 0.0

    def summary(self) -> str:
        c = self.counts()
        left = sum(self.budgets[r].total_steps - self.steps[r] for r, s in self.state.items() if s in ("running", "waiting"))
        rate = self.steps_per_second()
        eta = duration(left / rate) if rate > 0 else "unknown"
        return (
            f"grid: {c['done']} done, {c['running']} running, {c['failed']} failed, {c['waiting']} waiting | "
            f"{rate:,.0f} env steps/s | {left:,d} steps left, about {eta}"
        )

    def render(self) -> Group:
        lines = [Text(self.summary(), style="bold")]
        if self.detail:
            for run, state in self.state.items():
                if state == "running":
                    total = self.budgets[run].total_steps
                    lines.append(Text(f"  {run.label:45s} {self.steps[run]:>9,d}/{total:,d} steps"))
        return Group(*lines)

    def __enter__(self) -> "GridProgress":
        if self.console.is_terminal:
            self._live = Live(self.render(), console=self.console, refresh_per_second=2, transient=True)
            self._live.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        self.console.print(self.summary())
        for run, log in self.logs.items():
            self.console.print(f"failed: {run.label}: {log}")

