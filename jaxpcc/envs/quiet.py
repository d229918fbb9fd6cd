"""Silences prints that C extensions (PyBullet) write straight to the process's stdout or stderr."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from typing import Iterator


@contextlib.contextmanager
def quiet_c_output(*fds: int) -> Iterator[None]:
    """Silences C-level prints on the given file descriptors (PyBullet's banner, "argv[0]=" on connect)."""
    sys.stdout.flush()
    sys.stderr.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    saved = [os.dup(fd) for fd in fds]
    try:
        for fd in fds:
            os.dup2(devnull, fd)
        yield
    finally:
        ctypes.CDLL(None).fflush(None)  # C stdio buffers go to /dev/null, not to the restored streams
        for fd, copy in zip(fds, saved):
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)
