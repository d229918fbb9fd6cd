"""The lines a run prints before it starts: what it trains, where, and whether it resumes.

    jaxpcc 0.1.0 | env Pendulum-v0 | algo sac | seed 1 | config test/template_short.gin
    folder results/Pendulum-v0/sac/1: resuming from epoch 3 of 20
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from jaxpcc import __version__
from jaxpcc.persistence import checkpoint

CHECKPOINT_NAME = "checkpoint.npz"  # jaxpcc.persistence.run_checkpoint's name for it (not imported: this module stays light)


def checkpoint_epoch(run_dir: Path) -> Optional[int]:
    """The last finished epoch that `run_dir`'s checkpoint holds; None without a checkpoint."""
    path = Path(run_dir) / CHECKPOINT_NAME
    if not path.exists():
        return None
    return int(checkpoint.read_meta(path)["progress"]["epoch"])


def run_status(run_dir: Path, num_epochs: Optional[int]) -> str:
    """'new run, N epochs', 'resuming from epoch K of N' or 'already finished, nothing to do'."""
    epoch = checkpoint_epoch(run_dir)
    total = "?" if num_epochs is None else str(num_epochs)
    if epoch is None:
        return f"new run, {total} epoch{'' if num_epochs == 1 else 's'}"
    if num_epochs is not None and epoch >= num_epochs:
        return f"already finished (epoch {epoch} of {total}), nothing to do"
    return f"resuming from epoch {epoch} of {total}"


def header(env_id: str, algo: str, seed: int, config: str, run_dir: Path, num_epochs: Optional[int]) -> str:
    """The two header lines of one run."""
    return (
        f"jaxpcc {__version__} | env {env_id} | algo {algo} | seed {seed} | config {config}\n"
        f"folder {run_dir}: {run_status(run_dir, num_epochs)}"
    )
