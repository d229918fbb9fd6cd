"""A few earlier checkpoints kept beside the current one, so a user can go back.

Before a new checkpoint replaces `checkpoint.npz`, the old file is hard-linked (no copy) into
`earlier/checkpoint-<step>.npz`; the newest `keep` of them stay. The buffer chunks they list are
kept as long as they are (`listed_chunks`). To go back: stop the run, copy one of them over
`checkpoint.npz` and rerun (docs/checkpoints.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import gin

from jaxpcc.persistence import checkpoint
from jaxpcc.validation import InvalidSetting

EARLIER_DIR = "earlier"
_PREFIX = "checkpoint-"


@gin.configurable("earlier_checkpoints")
def number_to_keep(keep: int = 2) -> int:
    """How many earlier checkpoints a run keeps (0: none). Not part of the run's settings record."""
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
        raise InvalidSetting(f"earlier_checkpoints.keep must be a whole number >= 0, got {keep!r}")
    return keep


def kept(run_dir: Path) -> list[Path]:
    """The earlier checkpoints of a run, oldest first."""
    directory = Path(run_dir) / EARLIER_DIR
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.name.startswith(_PREFIX) and p.suffix == ".npz")


def set_aside(current: Path, keep: int) -> None:
    """Links the committed checkpoint `current` into earlier/ (named by its env step) before it is replaced."""
    if keep == 0 or not current.exists():
        return
    step = int(checkpoint.read_meta(current)["progress"]["step"])
    directory = current.parent / EARLIER_DIR
    directory.mkdir(exist_ok=True)
    target = directory / f"{_PREFIX}{step:010d}.npz"
    target.unlink(missing_ok=True)
    os.link(current, target)


def prune(run_dir: Path, keep: int) -> None:
    """Removes all but the newest `keep` earlier checkpoints."""
    paths = kept(run_dir)
    for path in paths[: max(len(paths) - keep, 0)]:
        path.unlink()


def listed_chunks(run_dir: Path) -> set[str]:
    """Buffer chunk files the kept earlier checkpoints need (an unreadable one needs none)."""
    names = set()
    for path in kept(run_dir):
        try:
            meta = checkpoint.read_meta(path)
        except checkpoint.CheckpointError:
            continue
        names.update(r["file"] for r in meta.get("buffer_chunks", {}).get("chunks", []))
    return names
