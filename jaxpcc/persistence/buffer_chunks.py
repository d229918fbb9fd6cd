"""The replay buffer on disk as write-once chunk files, so each checkpoint writes only new slots.

Rewriting a whole buffer every epoch costs gigabytes for image runs (100k frame-stack pairs are
4.2 GB). Instead each checkpoint adds one chunk, `buffer/chunk-<step>.npz` (plain npz, no
pickle), holding the slots the buffer wrote since the previous checkpoint: one contiguous ring
range (`DirtyRange`; an episode row is the sequence buffer's slot). The checkpoint's metadata lists
the chunks that make up the buffer, oldest first, each with its slot range, file size and array
shapes. Restoring writes them into a fresh buffer in that order, so a later chunk overwrites the
slots it shares with an earlier one.

Crash safety comes from ordering. A chunk is written (temporary file, fsync, rename) before the
checkpoint that lists it; files are deleted only after a checkpoint that no longer lists them is
committed: orphans of a crash between the two writes, and chunks whose slots later chunks all
overwrote once the ring wrapped. A file that no committed checkpoint lists is never read.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Iterable

import numpy as np

from jaxpcc.persistence.checkpoint import CheckpointError, write_npz_atomic
from jaxpcc.replay.dirty import ring_slots

_PREFIX = "chunk-"
_READ_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, NotImplementedError)


def _chunk_slots(record: dict, capacity: int) -> np.ndarray:
    return ring_slots(record["start"], record["count"], capacity)


def _live(records: list[dict], capacity: int) -> list[dict]:
    """`records` less the chunks whose every slot a later chunk holds too (order kept)."""
    covered = np.zeros(capacity, bool)
    kept = []
    for record in reversed(records):
        slots = _chunk_slots(record, capacity)
        if not covered[slots].all():
            kept.append(record)
        covered[slots] = True
    return kept[::-1]


def _npz_headers(path: Path) -> dict[str, tuple[list[int], str]]:
    """{array name: (shape, dtype)} of an npz, read from the array headers without loading the data."""
    out = {}
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            with zf.open(info) as f:
                version = np.lib.format.read_magic(f)
                reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, _, dtype = reader(f)
            out[info.filename.removesuffix(".npy")] = (list(shape), dtype.str)
    return out


class ChunkStore:
    """One buffer's chunk files in `directory`, and the chunk list of the last committed checkpoint.

    A save is `entry = store.prepare(buffer, step)`, then the checkpoint with `entry` in its
    metadata, then `store.commit(buffer, entry)`. A resume is `store.restore(buffer, entry)`.
    """

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self.committed: list[dict] = []

    def prepare(self, buffer, step: int) -> dict:
        """Writes the buffer's dirty slots as a new chunk; returns the metadata entry listing the buffer's chunks.

        Args:
          buffer: a ReplayBuffer or RecurrentReplayBuffer (`slot_arrays()`, `dirty`, `capacity`).
          step: the env step of the checkpoint, which names the chunk.
        """
        records = list(self.committed)
        slots = buffer.dirty.slots()
        if len(slots):
            name = f"{_PREFIX}{step:010d}.npz"
            if any(r["file"] == name for r in records):
                raise ValueError(f"buffer chunk {name} is already part of the checkpoint; one save per step")
            self.directory.mkdir(parents=True, exist_ok=True)
            if len(slots) == buffer.capacity:
                slots = np.arange(buffer.capacity)
            start = int(slots[0])
            if slots[-1] >= start:  # no wrap: a view, so a whole image buffer is not copied in memory
                arrays = {k: a[start : start + len(slots)] for k, a in buffer.slot_arrays().items()}
            else:
                arrays = {k: a[slots] for k, a in buffer.slot_arrays().items()}
            size = write_npz_atomic(self.directory / name, arrays)
            shapes = {k: [list(a.shape), a.dtype.str] for k, a in arrays.items()}
            records.append({"file": name, "start": start, "count": len(slots), "bytes": size, "arrays": shapes})
        return {"capacity": buffer.capacity, "chunks": _live(records, buffer.capacity)}

    def commit(self, buffer, entry: dict, keep: Iterable[str] = ()) -> None:
        """After the checkpoint holding `entry` is on disk: the dirty slots are saved; unlisted chunks go.

        `keep` names further chunk files to leave in place (those earlier checkpoints list).
        """
        buffer.dirty.clear()
        self.committed = list(entry["chunks"])
        self._remove_unlisted(set(keep))

    def restore(self, buffer, entry: dict) -> None:
        """Loads the chunks `entry` lists into a freshly allocated `buffer`, all or nothing.

        Every file is checked (present, recorded size, array names, shapes and dtypes) before any
        is read; a bad CRC found while reading zeroes the slots loaded so far. Files are never
        modified. Raises CheckpointError naming the file.
        """
        if entry["capacity"] != buffer.capacity:
            raise CheckpointError(
                f"the checkpointed buffer has capacity {entry['capacity']}, this run's buffer {buffer.capacity}; "
                "was it written with other settings?"
            )
        targets = buffer.slot_arrays()
        for record in entry["chunks"]:
            self._check(record, targets)
        touched = np.zeros(buffer.capacity, bool)
        try:
            for record in entry["chunks"]:
                slots = _chunk_slots(record, buffer.capacity)
                touched[slots] = True
                with np.load(self.directory / record["file"], allow_pickle=False) as data:
                    for name, target in targets.items():
                        target[slots] = data[name]
        except _READ_ERRORS as err:
            for target in targets.values():
                target[touched] = 0
            raise CheckpointError(
                f"buffer chunk {self.directory / record['file']} is corrupt ({err}); the checkpoint was left untouched"
            ) from err
        self.committed = list(entry["chunks"])

    def _check(self, record: dict, targets: dict[str, np.ndarray]) -> None:
        path = self.directory / record["file"]
        if not path.is_file():
            raise CheckpointError(f"buffer chunk {path}, part of the checkpoint, is missing; the checkpoint was left untouched")
        if path.stat().st_size != record["bytes"]:
            raise CheckpointError(
                f"buffer chunk {path} has {path.stat().st_size} bytes, the checkpoint recorded {record['bytes']} "
                "(truncated?); the checkpoint was left untouched"
            )
        expected = {name: ([record["count"], *a.shape[1:]], a.dtype.str) for name, a in targets.items()}
        try:
            found = _npz_headers(path)
        except _READ_ERRORS as err:
            raise CheckpointError(f"buffer chunk {path} is corrupt or unreadable ({err}); the checkpoint was left untouched") from err
        if found != expected:
            raise CheckpointError(
                f"buffer chunk {path} holds {found}, this run's buffer expects {expected}; was it written with other settings?"
            )

    def _remove_unlisted(self, keep: set[str]) -> None:
        """Deletes chunk files (and temporary files) neither the committed checkpoint nor `keep` lists."""
        if not self.directory.is_dir():
            return
        listed = {r["file"] for r in self.committed} | keep
        for path in self.directory.iterdir():
            if path.name.startswith(_PREFIX) and path.name not in listed:
                path.unlink()
