"""The local backend: a grid's runs as parallel child processes, one per worker slot.

A slot is a set of CPU cores (the child is pinned to them, and XLA sizes its thread pool from the
cores it may use) or a GPU (the child sees only that device; with several runs per GPU each gets
a share of its memory through JAX's memory-fraction setting). Each child is the run's own
command line and writes its output to the run's log file. Children die with the driver (Linux
parent-death signal), so a killed driver leaves no run training behind, and running the same
grid again resumes every unfinished run from its last checkpoint.
"""

from __future__ import annotations

import collections
import ctypes
import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from jaxpcc.grid.plan import command, log_path
from jaxpcc.grid.progress import GridProgress
from jaxpcc.grid.spec import RunSpec

_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
POLL_SECONDS = 0.5
END_MARK = "==> grid: end,"  # a run's last log line: its exit status and wall time


@dataclasses.dataclass(frozen=True)
class Slot:
    name: str
    cpus: Optional[frozenset[int]] = None
    env: tuple[tuple[str, str], ...] = ()


def cpu_slots(workers: Optional[int] = None) -> list[Slot]:
    """`workers` slots over the cores this process may use (default one per core), cores split evenly."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    workers = workers or len(cores)
    slots = []
    for i in range(workers):
        mine = cores[i::workers] if workers <= len(cores) else [cores[i % len(cores)]]
        env = [("JAX_PLATFORMS", "cpu"), ("OMP_NUM_THREADS", str(len(mine)))]
        if len(mine) == 1:
            env.append(("XLA_FLAGS", _xla_flags("--xla_cpu_multi_thread_eigen=false")))
        slots.append(Slot(f"cpu {','.join(map(str, mine))}", frozenset(mine), tuple(env)))
    return slots


def gpu_slots(gpus: Sequence[str], runs_per_gpu: int = 1) -> list[Slot]:
    """`runs_per_gpu` slots per GPU; with more than one, each run may take 1/runs_per_gpu of its memory (less 5%)."""
    slots = []
    for gpu in gpus:
        env = [("CUDA_VISIBLE_DEVICES", gpu)]
        if runs_per_gpu > 1:
            env.append(("XLA_PYTHON_CLIENT_MEM_FRACTION", f"{0.95 / runs_per_gpu:.3f}"))
        slots += [Slot(f"gpu {gpu}" + (f" #{k + 1}" if runs_per_gpu > 1 else ""), None, tuple(env)) for k in range(runs_per_gpu)]
    return slots


def _xla_flags(flag: str) -> str:
    return " ".join(f for f in (os.environ.get("XLA_FLAGS", ""), flag) if f)


def child_setup(cpus: Optional[frozenset[int]]):
    """What a child does between fork and exec: die with its parent, then pin itself to its cores."""

    def setup():
        if _LIBC is not None:
            _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if cpus:
            os.sched_setaffinity(0, cpus)

    return setup


def start(run: RunSpec, results_dir: Path, slot: Slot) -> subprocess.Popen:
    log = log_path(results_dir, run)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as f:
        f.write(f"==> grid: {run.label} on {slot.name}, {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        f.flush()
        return subprocess.Popen(
            command(run, results_dir), stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **dict(slot.env)}, preexec_fn=child_setup(slot.cpus),
        )


def run_all(runs: Sequence[RunSpec], results_dir: Path, slots: Sequence[Slot], progress: GridProgress) -> bool:
    """Runs `runs` on `slots`, as many at once as there are slots; True when every run exited cleanly.

    Ctrl-C passes the interrupt on to the running children (they stop where they are, their last
    epoch's checkpoint intact), waits for them and re-raises.
    """
    pending = collections.deque(runs)
    free = list(slots)
    active: dict[subprocess.Popen, tuple[RunSpec, Slot, float]] = {}
    all_ok = True
    try:
        while pending or active:
            while pending and free:
                run, slot = pending.popleft(), free.pop(0)
                active[start(run, results_dir, slot)] = (run, slot, time.monotonic())
                progress.started(run, slot.name)
            time.sleep(POLL_SECONDS)
            for proc in [p for p in active if p.poll() is not None]:
                run, slot, started = active.pop(proc)
                free.append(slot)
                with open(log_path(results_dir, run), "a") as f:
                    f.write(f"{END_MARK} exit status {proc.returncode} after {time.monotonic() - started:.1f} s\n")
                all_ok &= proc.returncode == 0
                progress.ended(run, proc.returncode == 0, log_path(results_dir, run), f"exit status {proc.returncode}")
            progress.poll()
    except KeyboardInterrupt:
        for proc in active:
            proc.send_signal(signal.SIGINT)
        for proc, (run, _, started) in active.items():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
            with open(log_path(results_dir, run), "a") as f:
                f.write(f"{END_MARK} interrupted after {time.monotonic() - started:.1f} s\n")
        raise
    return all_ok
