"""A run never loses or falsifies its results: divergence, half-written epochs, drifting settings, two writers.

Failures are injected (an exception where a kill would land), never raced against a timer.
"""

import csv
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import gin
import jax
import numpy as np
import pytest

from jaxpcc import cli, logger, loop
from jaxpcc.finite_guard import DivergedError, finite_seeds
from jaxpcc.loop import train
from jaxpcc.persistence import checkpoint, policy_file
from jaxpcc.persistence.earlier_checkpoints import EARLIER_DIR
from jaxpcc.persistence.policy_file import POLICY_NAME
from jaxpcc.persistence.run_checkpoint import BUFFER_DIR, CHECKPOINT_NAME
from jaxpcc.run_lock import LOCK_NAME

from small_run import QUICK, SMALL

REPO = Path(__file__).resolve().parent.parent


def run(run_dir, num_epochs, extra="", accept=()):
    gin.clear_config()
    gin.parse_config(SMALL + f"train.num_epochs = {num_epochs}\n" + extra)
    return train("Pendulum-v0", "sac", run_dir, seed=3, quiet=True, accept_change=list(accept))


def cli_run(capsys, results, num_epochs, *extra):
    argv = ["--env", "Pendulum-v0", "--algo", "sac", "--quiet", "--results_dir", str(results)]
    code = cli.main(argv + QUICK + ["--gin_param", f"train.num_epochs={num_epochs}", *extra])
    return code, capsys.readouterr().err


def folder(run_dir) -> dict:
    """Every file of a run folder (but the lock file, which names its latest owner) and its bytes."""
    return {
        str(p.relative_to(run_dir)): p.read_bytes()
        for p in sorted(Path(run_dir).rglob("*"))
        if p.is_file() and p.name != LOCK_NAME
    }


def csv_steps(run_dir):
    with open(Path(run_dir) / logger.CSV_NAME, newline="") as f:
        return [int(r["Timesteps"]) for r in csv.DictReader(f)]


# 1. A diverging run keeps its last good state.


def test_finite_seeds_flags_each_seed_of_a_stacked_state():
    state = {"w": np.ones((3, 2, 2), np.float32), "step": np.zeros(3, np.int32)}
    state["w"][1, 0, 1] = np.nan
    metrics = [{"loss": np.array([0.5, 0.5, np.inf], np.float32)}]
    assert finite_seeds(jax.device_put(state), metrics, 3).tolist() == [True, False, False]
    assert finite_seeds({"w": np.ones(2, np.float32)}, [{"loss": np.float32(np.nan)}], 1).tolist() == [False]


def test_diverging_run_stops_before_writing_and_resumes_with_a_lower_learning_rate(tmp_path):
    run(tmp_path, 1)
    good = folder(tmp_path)
    with pytest.raises(DivergedError, match="diverged in epoch 2") as err:
        run(tmp_path, 2, "SAC.lr = 1e30", accept=["SAC.lr"])
    assert "--accept_change SAC.lr" in str(err.value) and "epoch 1 are kept" in str(err.value)
    assert folder(tmp_path) == good  # checkpoint, policy, CSV, chunks: nothing written
    row = run(tmp_path, 2, "SAC.lr = 1e-4", accept=["SAC.lr"])
    assert row["Timesteps"] == 400 and np.isfinite(row["(qfunc) Q1 pred"])
    history = checkpoint.read_meta(tmp_path / CHECKPOINT_NAME)["settings_history"]
    assert [h["changes"] for h in history] == [{"SAC.lr": [None, "0.0001"], "train.num_epochs": ["1", "2"]}]


def test_diverging_vectorized_seeds_write_nothing(tmp_path):
    gin.clear_config()
    gin.parse_config(SMALL + "train.num_epochs = 1\nSAC.lr = 1e30\n")
    with pytest.raises(DivergedError, match="diverged in epoch 1") as err:
        loop.train_vectorized("Pendulum-v0", "sac", [tmp_path / "a", tmp_path / "b"], [1, 2], quiet=True)
    assert str(tmp_path / "a") in str(err.value) and str(tmp_path / "b") in str(err.value)
    assert folder(tmp_path / "a") == folder(tmp_path / "b") == {}


def test_divergence_exits_non_zero_with_one_line(capsys, tmp_path):
    code, err = cli_run(capsys, tmp_path, 1, "--gin_param", "SAC.lr=1e30")
    assert code == 3 and err.count("\n") == 1 and "diverged in epoch 1" in err and "nothing was written" in err
    assert not (tmp_path / "Pendulum-v0" / "sac" / "1" / CHECKPOINT_NAME).exists()


# 2. The final policy is never stale; a committed epoch's rows are never lost.


def test_crash_between_checkpoint_and_policy_is_repaired_on_rerun(tmp_path, monkeypatch):
    run(tmp_path, 1)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(policy_file, "save_policy", killed)
        with pytest.raises(KeyboardInterrupt):
            run(tmp_path, 2)
    assert checkpoint.read_meta(tmp_path / CHECKPOINT_NAME)["progress"]["step"] == 400
    assert checkpoint.read_meta(tmp_path / POLICY_NAME)["step"] == 200  # stale
    run(tmp_path, 2)  # a finished run: nothing trains, the policy is rewritten
    assert checkpoint.read_meta(tmp_path / POLICY_NAME)["step"] == 400
    state, _ = checkpoint.load(tmp_path / CHECKPOINT_NAME)
    policy, _ = checkpoint.load(tmp_path / POLICY_NAME)
    for key, value in policy["actor"].items():
        np.testing.assert_array_equal(value, state["state"][".actor" + key], err_msg=key)
    assert not list(tmp_path.glob("*.tmp"))


def test_garbage_policy_beside_a_finished_checkpoint_is_rewritten(tmp_path):
    run(tmp_path, 1)
    good = (tmp_path / POLICY_NAME).read_bytes()
    (tmp_path / POLICY_NAME).write_bytes(b"garbage")
    run(tmp_path, 1)
    assert (tmp_path / POLICY_NAME).read_bytes() == good


def test_crash_before_the_log_row_is_repaired_from_the_checkpoint(tmp_path, monkeypatch):
    run(tmp_path, 1)
    with monkeypatch.context() as patch:
        patch.setattr(logger.RunLogger, "log_epoch", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
        with pytest.raises(KeyboardInterrupt):
            run(tmp_path, 2)
    assert csv_steps(tmp_path) == [200]
    run(tmp_path, 2)
    assert csv_steps(tmp_path) == [200, 400]
    run(tmp_path, 3)
    assert csv_steps(tmp_path) == [200, 400, 600]


# 9. progress.csv is only appended to or atomically replaced.


def test_progress_csv_survives_a_crash_while_it_is_repaired(tmp_path, monkeypatch):
    run(tmp_path, 2)
    path = tmp_path / logger.CSV_NAME
    with open(path, "a") as f:  # the row of an epoch whose checkpoint never landed, cut short
        f.write("3,600,200.0")
    before = path.read_bytes()
    with monkeypatch.context() as patch:
        patch.setattr(csv.DictWriter, "writerows", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
        with pytest.raises(KeyboardInterrupt):
            run(tmp_path, 3)
    assert path.read_bytes() == before and not list(tmp_path.glob("*.tmp"))
    run(tmp_path, 3)
    assert csv_steps(tmp_path) == [200, 400, 600]


# 3, 4. Settings are fixed at the first epoch; the config files are written once.


@pytest.mark.parametrize(
    "change",
    [
        "make_MLP.hidden_dimensions=(8, 8)",
        "ReplayBuffer.batch_size=32",
        "train.update_after=150",
        "train.update_every=25",
        "train.num_test_episodes_per_epoch=2",
        "train.num_steps_per_epoch=100",
        "SAC.gamma=0.9",
    ],
)
def test_rerun_with_other_settings_is_refused_and_changes_nothing(capsys, tmp_path, change):
    run_dir = tmp_path / "Pendulum-v0" / "sac" / "1"
    assert cli_run(capsys, tmp_path, 1)[0] == 0
    before = folder(run_dir)
    for num_epochs in (1, 2):  # a finished run, and one that would continue
        code, err = cli_run(capsys, tmp_path, num_epochs, "--gin_param", change)
        assert code == 2 and err.count("\n") == 1, err
        name = change.split("=")[0]
        assert f"{name}:" in err and f"--accept_change {name}" in err and "In call to" not in err
        assert folder(run_dir) == before


def test_extended_run_keeps_its_config_files_and_records_the_change(capsys, tmp_path):
    run_dir = tmp_path / "Pendulum-v0" / "sac" / "1"
    assert cli_run(capsys, tmp_path, 1)[0] == 0
    config = {name: (run_dir / name).read_bytes() for name in ("config.gin", "operative_config.gin")}
    assert b"train.num_epochs = 1" in config["config.gin"] and b"train.update_every = 50" in config["operative_config.gin"]
    assert cli_run(capsys, tmp_path, 2)[0] == 0
    assert {name: (run_dir / name).read_bytes() for name in config} == config
    history = checkpoint.read_meta(run_dir / CHECKPOINT_NAME)["settings_history"]
    assert [(h["step"], h["changes"]) for h in history] == [(200, {"train.num_epochs": ["1", "2"]})]
    assert csv_steps(run_dir) == [200, 400]


def test_accepted_change_is_recorded(capsys, tmp_path):
    run_dir = tmp_path / "Pendulum-v0" / "sac" / "1"
    assert cli_run(capsys, tmp_path, 1)[0] == 0
    assert cli_run(capsys, tmp_path, 2, "--gin_param", "ReplayBuffer.batch_size=32", "--accept_change", "ReplayBuffer.batch_size")[0] == 0
    meta = checkpoint.read_meta(run_dir / CHECKPOINT_NAME)
    assert meta["settings"]["ReplayBuffer.batch_size"] == "32"
    assert meta["settings_history"][0]["changes"]["ReplayBuffer.batch_size"] == ["16", "32"]


# Earlier checkpoints.


def test_earlier_checkpoints_are_kept_with_their_chunks_and_a_run_can_go_back(tmp_path):
    run(tmp_path / "full", 3)
    run(tmp_path / "r", 4, "earlier_checkpoints.keep = 2\nReplayBuffer.capacity = 250")
    kept = sorted(p.name for p in (tmp_path / "r" / EARLIER_DIR).iterdir())
    assert kept == ["checkpoint-0000000400.npz", "checkpoint-0000000600.npz"]
    # The 250-slot ring dropped the first chunks from the current checkpoint; the earlier ones still need theirs.
    shutil.copy(tmp_path / "r" / EARLIER_DIR / kept[0], tmp_path / "r" / CHECKPOINT_NAME)
    for name in checkpoint.read_meta(tmp_path / "r" / CHECKPOINT_NAME)["buffer_chunks"]["chunks"]:
        assert (tmp_path / "r" / BUFFER_DIR / name["file"]).exists()
    row = run(tmp_path / "r", 4, "earlier_checkpoints.keep = 2\nReplayBuffer.capacity = 250")
    assert row["Timesteps"] == 800 and csv_steps(tmp_path / "r") == [200, 400, 600, 800]


# 5. One writer per run folder.


HOLD_LOCK = """
import sys
from pathlib import Path
from jaxpcc.run_lock import run_locks
with run_locks([Path(sys.argv[1])]):
    print("locked", flush=True)
    sys.stdin.read()
"""


def test_second_process_on_a_run_is_refused_with_the_owner_and_a_killed_owner_frees_it(capsys, tmp_path):
    run_dir = tmp_path / "Pendulum-v0" / "sac" / "1"
    owner = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(run_dir)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO
    )
    try:
        assert owner.stdout.readline() == b"locked\n"
        code, err = cli_run(capsys, tmp_path, 1)
        assert code == 2 and f"pid {owner.pid} on host {socket.gethostname()}" in err
        assert sorted(p.name for p in run_dir.iterdir()) == [LOCK_NAME]
    finally:
        owner.kill()  # SIGKILL: the kernel releases the lock
        owner.wait()
    assert cli_run(capsys, tmp_path, 1)[0] == 0
