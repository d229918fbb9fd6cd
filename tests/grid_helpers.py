"""Tiny grids for the grid tests: runs of a few hundred steps with 8-unit networks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from jaxpcc.persistence import checkpoint

REPO = Path(__file__).resolve().parent.parent
TINY = [
    "train.num_epochs = 6", "train.num_steps_per_epoch = 200", "train.update_after = 50",
    "train.num_test_episodes_per_epoch = 1", "make_MLP.hidden_dimensions = (8, 8)", "ReplayBuffer.batch_size = 8",
]
EPOCH_LINE = re.compile(r"^\s*Epoch\s+(\d+)/(\d+)\s*$", re.MULTILINE)


def write_grid(path: Path, algos=("sac", "td3"), run_ids=(1, 2), entry_params=()) -> Path:
    """A grid of Pendulum-v0 runs with TINY settings for all, and `entry_params` for its one entry."""
    quoted = lambda params: ", ".join(f'"{p}"' for p in params)  # noqa: E731
    algos_toml, ids_toml = ", ".join(f'"{a}"' for a in algos), ", ".join(map(str, run_ids))
    path.write_text(
        f'name = "tiny"\ngin_params = [{quoted(TINY)}]\n\n[[runs]]\nenv = "Pendulum-v0"\nalgo = [{algos_toml}]\n'
        f'config = "configs/test/template_short.gin"\nrun_ids = [{ids_toml}]\ngin_params = [{quoted(entry_params)}]\n'
    )
    return path


def grid_command(*args: str) -> list[str]:
    return [sys.executable, str(REPO / "main.py"), "grid", *map(str, args)]


def train_alone(results: Path, algo: str, run_ids, extra_params=()) -> None:
    """The same runs from a plain `main.py` command, one process, as a user would train them."""
    argv = [sys.executable, str(REPO / "main.py"), "--env", "Pendulum-v0", "--algo", algo, "--config",
            "configs/test/template_short.gin", "--run_id", *map(str, run_ids), "--results_dir", str(results), "--quiet"]
    for p in [*TINY, *extra_params]:
        argv += ["--gin_param", p]
    subprocess.run(argv, check=True, cwd=REPO, timeout=300, env={**os.environ, "JAX_PLATFORMS": "cpu"})


def same_params(a: Path, b: Path) -> bool:
    """The two checkpoints' train states (every network, target and optimizer array) and counters are equal."""
    ga, ma = checkpoint.load(a)
    gb, mb = checkpoint.load(b)
    return (
        ga["state"].keys() == gb["state"].keys()
        and all(np.array_equal(ga["state"][k], gb["state"][k]) for k in ga["state"])
        and _counters(ma) == _counters(mb)
    )


def _counters(meta: dict) -> dict:
    return {k: v for k, v in meta["progress"].items() if k != "hours"}  # wall time differs, the rest must not


def epochs_logged(log: Path) -> list[int]:
    """The epoch numbers a run's log shows finished (each run prints a table per epoch)."""
    return [int(m.group(1)) for m in EPOCH_LINE.finditer(log.read_text())]


def wait_for(predicate, timeout: float, what: str, poll: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture(scope="session")
def alone(tmp_path_factory) -> Path:
    """The tiny grid's four runs (sac and td3, run ids 1 and 2) trained by plain `main.py` commands."""
    results = tmp_path_factory.mktemp("alone")
    for algo in ("sac", "td3"):
        train_alone(results, algo, [1, 2])
    return results
