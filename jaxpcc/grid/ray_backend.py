"""The Ray backend: each grid run as a Ray task on an existing cluster (`ray start` on every machine).

The task runs the run's own command line as a child process on whichever node Ray picks, with
the CPU/GPU resources it asked for. The results directory must be storage that every node sees
at the same path (a cluster's shared filesystem), and so must the checkout and its Python: a run
is then the same run wherever it lands. When a node dies, its tasks die with it (their children
get the parent-death signal) and Ray retries them elsewhere; the retried command resumes the run
from its last checkpoint, so only the epoch in flight is lost.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
from pathlib import Path
from typing import Sequence

from jaxpcc.grid.local import child_setup
from jaxpcc.grid.plan import REPO_ROOT, command, log_path
from jaxpcc.grid.progress import GridProgress
from jaxpcc.grid.spec import RunSpec

ATTEMPT_MARK = "==> grid: attempt"
POLL_SECONDS = 0.5


def run_on_node(argv: list[str], cwd: str, log: str, env: dict[str, str]) -> int:
    """The task body: the run's command on this node, its output appended to the run's log."""
    import ray

    node = ray.get_runtime_context().get_node_id()[:12]
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as f:
        f.write(f"{ATTEMPT_MARK} on {socket.gethostname()} (Ray node {node}, pid {os.getpid()})\n")
        f.flush()
        proc = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd,
                                env={**os.environ, **env}, preexec_fn=child_setup(None))
        return proc.wait()


def attempts(log: Path) -> int:
    """How many times a run's task has started (its log's attempt lines)."""
    try:
        return log.read_text(errors="replace").count(ATTEMPT_MARK)
    except OSError:
        return 0


def run_env(cpus_per_run: float, gpus_per_run: float) -> dict[str, str]:
    """Settings for a run's process: CPU-only JAX without GPUs, a GPU memory share with fractional GPUs."""
    if gpus_per_run == 0:
        env = {"JAX_PLATFORMS": "cpu", "OMP_NUM_THREADS": str(max(1, int(cpus_per_run)))}
        if cpus_per_run <= 1:
            flags = os.environ.get("XLA_FLAGS", "")
            env["XLA_FLAGS"] = " ".join(f for f in (flags, "--xla_cpu_multi_thread_eigen=false") if f)
        return env
    if gpus_per_run < 1:
        return {"XLA_PYTHON_CLIENT_MEM_FRACTION": f"{0.95 * gpus_per_run:.3f}"}
    return {}


def run_all(runs: Sequence[RunSpec], results_dir: Path, progress: GridProgress, address: str,
            cpus_per_run: float = 1, gpus_per_run: float = 0, max_retries: int = 3) -> bool:
    """Submits every run as a Ray task and waits for all; True when every run exited cleanly."""
    import ray

    ray.init(
        address=address, logging_level=logging.ERROR, log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)}},
    )
    task = ray.remote(run_on_node).options(num_cpus=cpus_per_run, num_gpus=gpus_per_run, max_retries=max_retries)
    env = run_env(cpus_per_run, gpus_per_run)
    cwd = os.getcwd()
    refs, seen, all_ok = {}, {}, True
    try:
        for run in runs:
            log = log_path(results_dir, run)
            seen[run] = attempts(log)
            refs[task.remote(command(run, results_dir), cwd, str(log), env)] = run
        while refs:
            done, _ = ray.wait(list(refs), num_returns=len(refs), timeout=POLL_SECONDS)
            for ref in done:
                run = refs.pop(ref)
                try:
                    rc, note = ray.get(ref), ""
                except ray.exceptions.RayError as err:
                    rc, note = None, f"{type(err).__name__} after {max_retries} retries"
                if note == "":
                    note = f"exit status {rc}"
                all_ok &= rc == 0
                progress.ended(run, rc == 0, log_path(results_dir, run), note)
            for run in refs.values():
                count = attempts(log_path(results_dir, run))
                if count > seen[run]:
                    seen[run] = count
                    progress.started(run, "Ray" if count == 1 else f"Ray, attempt {count}")
            progress.poll()
    except KeyboardInterrupt:
        for ref in refs:
            ray.cancel(ref, force=True)
        raise
    finally:
        ray.shutdown()
    return all_ok
