"""The local grid backend: runs equal to runs trained alone, a killed driver resumed, failures contained."""

import os
import signal
import subprocess
from pathlib import Path

import pytest

from grid_helpers import REPO, alone, epochs_logged, grid_command, same_params, wait_for, write_grid  # noqa: F401 (alone: fixture)
from jaxpcc.grid import local
from jaxpcc.persistence.checkpoint import CheckpointError, read_meta

pytestmark = pytest.mark.slow
NUM_EPOCHS = 6


def run_dir(results: Path, algo: str, run_id: int) -> Path:
    return results / "Pendulum-v0" / algo / str(run_id)


def epoch_of(path: Path) -> int:
    try:
        return read_meta(path)["progress"]["epoch"]
    except (CheckpointError, FileNotFoundError):
        return 0


def processes_mentioning(text: str) -> list[int]:
    """Pids whose command line contains `text` (the grid's children name their results dir)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def test_killed_driver_resumes_without_training_anything_twice(tmp_path, alone):
    grid = write_grid(tmp_path / "tiny.toml")
    results = tmp_path / "results"
    runs = [(algo, i) for algo in ("sac", "td3") for i in (1, 2)]
    checkpoints = [run_dir(results, a, i) / "checkpoint.npz" for a, i in runs]
    with open(tmp_path / "driver1.log", "w") as out:
        driver = subprocess.Popen(grid_command("run", grid, "--results_dir", results, "--workers", 2),
                                  cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # Kill just after some run has checkpointed an epoch and before it is finished.
        caught = wait_for(lambda: next((c for c in checkpoints if 0 < epoch_of(c) < NUM_EPOCHS), None), 240, "a first epoch")
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=30)
        finished_before = {c for c in checkpoints if epoch_of(c) == NUM_EPOCHS}
        # The runs die with the driver: nothing keeps training behind the user's back.
        wait_for(lambda: not processes_mentioning(str(results)), 30, "the runs to die with the driver", poll=0.2)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    assert epoch_of(caught) < NUM_EPOCHS

    second = subprocess.run(grid_command("run", grid, "--results_dir", results, "--workers", 2), cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"{len(finished_before)} already finished" in second.stdout
    for (algo, run_id), ckpt in zip(runs, checkpoints):
        log = ckpt.parent / "grid.log"
        epochs = epochs_logged(log)
        starts = log.read_text().count("==> grid:")
        assert sorted(set(epochs)) == list(range(1, NUM_EPOCHS + 1)), (algo, run_id, epochs)
        if ckpt in finished_before:
            assert starts == 1 and len(epochs) == NUM_EPOCHS  # a finished run is not run again
        # At most the epoch in flight at the kill is trained twice; the run caught just after its
        # checkpoint had nothing in flight.
        assert len(epochs) - NUM_EPOCHS <= (0 if ckpt == caught else 1), (algo, run_id, epochs)
        assert epoch_of(ckpt) == NUM_EPOCHS

    for algo, run_id in runs:
        assert same_params(run_dir(results, algo, run_id) / "checkpoint.npz", run_dir(alone, algo, run_id) / "checkpoint.npz")

    third = subprocess.run(grid_command("run", grid, "--results_dir", results), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert third.returncode == 0 and "4 already finished, 0 to run" in third.stdout


def test_a_failing_run_is_reported_and_the_others_finish(tmp_path):
    grid = write_grid(tmp_path / "tiny.toml", algos=("nosuchalgo", "ddpg"), run_ids=(3,))
    results = tmp_path / "results"
    dry = subprocess.run(grid_command("run", grid, "--results_dir", results, "--dry-run"), cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert dry.returncode == 0 and not results.exists()
    assert "Pendulum-v0 nosuchalgo 3" in dry.stdout and "Pendulum-v0 ddpg 3" in dry.stdout
    assert "2 runs, 2,400 env steps" in dry.stdout and "--run_id 3" in dry.stdout

    proc = subprocess.run(grid_command("run", grid, "--results_dir", results, "--workers", 1), cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    bad_log = run_dir(results, "nosuchalgo", 3) / "grid.log"
    assert proc.returncode == 1
    assert f"FAILED  Pendulum-v0 nosuchalgo 3 (exit status 2); log: {bad_log}" in proc.stdout.replace("\n", "")
    assert "unknown algo 'nosuchalgo'" in bad_log.read_text()
    assert epoch_of(run_dir(results, "ddpg", 3) / "checkpoint.npz") == NUM_EPOCHS
    assert "1 done, 0 running, 1 failed, 0 waiting" in proc.stdout


def test_cpu_and_gpu_slots():
    cores = sorted(os.sched_getaffinity(0))
    slots = local.cpu_slots()
    assert len(slots) == len(cores) and sorted(c for s in slots for c in s.cpus) == cores
    one = local.cpu_slots(1)[0]
    assert one.cpus == frozenset(cores) and dict(one.env)["OMP_NUM_THREADS"] == str(len(cores))
    gpus = local.gpu_slots(["0", "1"], runs_per_gpu=2)
    assert [dict(s.env)["CUDA_VISIBLE_DEVICES"] for s in gpus] == ["0", "0", "1", "1"]
    assert {dict(s.env)["XLA_PYTHON_CLIENT_MEM_FRACTION"] for s in gpus} == {"0.475"}
    assert "XLA_PYTHON_CLIENT_MEM_FRACTION" not in dict(local.gpu_slots(["3"])[0].env)


def test_pinned_child_sees_only_its_core(tmp_path):
    core = sorted(os.sched_getaffinity(0))[-1]
    slot = local.Slot("cpu", frozenset({core}), (("OMP_NUM_THREADS", "1"),))
    out = subprocess.run(["python3", "-c", "import os; print(sorted(os.sched_getaffinity(0)), os.environ['OMP_NUM_THREADS'])"],
                         capture_output=True, text=True, preexec_fn=local.child_setup(slot.cpus),
                         env={**os.environ, **dict(slot.env)}, cwd=REPO, timeout=60)
    assert out.stdout.split() == [f"[{core}]", "1"]
