"""Process-wide settings, applied once at start-up by the CLI and the benchmarks.

Three settings: the persistent compilation cache, so a rerun or a resumed run starts without
recompiling; synchronous dispatch on CPU; and a malloc that keeps freed blocks (below). Settings like these must be made before JAX
creates its backends (the first computation), which is why importing jaxpcc computes nothing
with JAX.

Why synchronous: the training loop can do nothing useful while a jitted call runs (each action
is needed for the next env step, and each update block for the next action), so dispatching to
a worker thread only adds two thread hand-offs to every call. Run in the calling thread, a
jitted action costs about half as much inside the loop (TD3 at batch 100 on the 2-core CPU:
acting 1.55-1.62 s -> 0.78-0.84 s per 10,000 steps), and the update blocks run as fast as before.
The setting applies to the CPU backend alone; GPU dispatch stays asynchronous.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from pathlib import Path

import jax


def enable_compilation_cache() -> None:
    """Keeps compiled XLA programs on disk (JAXPCC_COMPILATION_CACHE sets the folder; "0" turns it off)."""
    location = os.environ.get("JAXPCC_COMPILATION_CACHE", str(Path.home() / ".cache" / "jaxpcc" / "xla"))
    if location == "0":
        return
    jax.config.update("jax_compilation_cache_dir", location)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def synchronous_cpu_dispatch() -> None:
    """Runs CPU computations in the calling thread (see the module docstring for why)."""
    jax.config.update("jax_cpu_enable_async_dispatch", False)


# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024  # the largest glibc accepts on 64-bit
_TRIM_THRESHOLD = 256 * 1024 * 1024


def keep_freed_memory() -> bool:
    """Lets glibc's malloc reuse freed blocks instead of returning them to the OS after every call.

    Each call of a compiled XLA:CPU program allocates its temporary buffers (about a megabyte for
    a SAC update at batch 256) and frees them on return. By default glibc serves such blocks
    with fresh `mmap`s and hands them back on free, so every call touches new pages: about 200
    page faults per update, 0.6-0.8 ms of a 2-3 ms update on the 2-core CPU when one update
    runs per env step (a block of 50 in one call pays it once). Serving blocks up to 32 MB from
    the heap and trimming it only above 256 MB keeps the pages mapped: 1 fault per call.
    Larger blocks (a replay ring) are still mapped and unmapped on their own. Returns whether
    the setting took (False off glibc, where nothing is changed).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))


def configure() -> None:
    """Every start-up setting above; call before the first JAX computation of the process."""
    enable_compilation_cache()
    synchronous_cpu_dispatch()
    keep_freed_memory()
