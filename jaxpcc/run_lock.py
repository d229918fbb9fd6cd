"""One writer per run folder: an OS lock held by the training process for its whole life.

`fcntl.flock` on `<run_dir>/.lock` is released by the kernel whenever the process ends, even by
`kill -9`, so a stale lock never blocks a resume. The file keeps the owner's PID and host, so a
second process on the same folder is refused with who holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from pathlib import Path
from typing import Iterator, Sequence

from jaxpcc.persistence.checkpoint import CheckpointError

LOCK_NAME = ".lock"


class RunLocked(CheckpointError):
    """Another process is training in this run folder."""


@contextlib.contextmanager
def run_locks(run_dirs: Sequence[Path]) -> Iterator[None]:
    """Holds the lock of every run folder (created if needed) until the block ends.

    Folders are locked in sorted order, so two processes locking overlapping sets cannot deadlock
    (neither waits: a held lock is refused at once).
    """
    with contextlib.ExitStack() as stack:
        for run_dir in sorted({Path(d).resolve() for d in run_dirs}):
            stack.enter_context(_locked(run_dir))
        yield


@contextlib.contextmanager
def _locked(run_dir: Path) -> Iterator[None]:
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 256, 0).decode(errors="replace").strip() or "an unknown process"
            raise RunLocked(
                f"{run_dir} is in use by {owner}; one process at a time trains a run "
                "(wait for it to finish, or use another --run_id)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on host {socket.gethostname()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the only descriptor releases the lock
