"""TensorBoard event files beside progress.csv, with the same statistics (the 'tensorboard' extra).

Off by default; `--tensorboard` on the command line, `tensorboard=True` in `jaxpcc.train`, or
the gin binding `tensorboard.enabled = True` turns it on. Each CSV column becomes one scalar
series, stepped by env steps ("Timesteps"), under a TensorBoard-safe tag: the part in
parentheses becomes the group, the rest snake case, e.g. "Episode Return (Test)" ->
"test/episode_return", "(qfunc) Q1 pred" -> "qfunc/q1_pred", "Hours" -> "progress/hours".
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Mapping

import gin

DEFAULT_GROUP = "progress"


@gin.configurable("tensorboard")
def tensorboard_enabled(enabled: bool = False) -> bool:
    """Whether runs write TensorBoard event files (gin: `tensorboard.enabled`)."""
    return bool(enabled)


def tag_of(column: str) -> str:
    """The TensorBoard tag of a progress.csv column (see the module docstring)."""
    group = re.search(r"\(([^)]*)\)", column)
    name = re.sub(r"\([^)]*\)", " ", column)
    snake = "_".join(re.findall(r"[a-z0-9]+", name.lower()))
    prefix = "_".join(re.findall(r"[a-z0-9]+", group.group(1).lower())) if group else DEFAULT_GROUP
    return f"{prefix}/{snake}"


class TensorBoardLog:
    """One event file per session of a run; a resumed run hides the steps past its checkpoint.

    Args:
      run_dir: the run's folder (the event files go straight into it, beside progress.csv).
      start_step: the checkpoint's env step; events of earlier sessions after it are purged,
        as progress.csv drops its rows past the checkpoint.
    """

    def __init__(self, run_dir: Path, start_step: int = 0):
        from tensorboardX import SummaryWriter

        purge = start_step + 1 if start_step > 0 else None
        self.writer = SummaryWriter(logdir=str(run_dir), purge_step=purge, flush_secs=30)

    def write(self, row: Mapping[str, float]) -> None:
        step = int(row["Timesteps"])
        for column, value in row.items():
            if isinstance(value, (int, float)) and not math.isnan(value):
                self.writer.add_scalar(tag_of(column), float(value), step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
