"""The training loop end to end: resume equals an uninterrupted run, and SAC really learns."""

import collections
import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import gin
import numpy as np
import pytest

from jaxpcc import programs, seed_run
from jaxpcc.envs import make_env
from jaxpcc.loop import train
from jaxpcc.persistence import checkpoint
from jaxpcc.persistence.run_checkpoint import CHECKPOINT_NAME

REPO = Path(__file__).resolve().parent.parent
SMALL = """
make_MLP.hidden_dimensions = (32, 32)
ReplayBuffer.batch_size = 32
train.num_steps_per_epoch = 300
train.num_test_episodes_per_epoch = 1
train.update_after = 100
train.update_every = 2
"""


def run(run_dir, num_epochs, algo="td3", extra=""):
    gin.clear_config()
    gin.parse_config(SMALL + f"train.num_epochs = {num_epochs}\n" + extra)
    return train("Pendulum-v0", algo, run_dir, seed=5, quiet=True)


def saved_state(run_dir):
    groups, meta = checkpoint.load(Path(run_dir) / CHECKPOINT_NAME)
    return groups["state"], meta


def count_env_steps(monkeypatch) -> collections.Counter:
    """Steps taken from now on in every env the loop makes, by the seed the env was made with."""
    counts = collections.Counter()

    def counting_make_env(env_id, seed=None, **kwargs):
        env = make_env(env_id, seed=seed, **kwargs)
        step = env.step

        def counted_step(action):
            counts[seed] += 1
            return step(action)

        env.step = counted_step
        return env

    monkeypatch.setattr(seed_run, "make_env", counting_make_env)
    return counts


def test_resumed_run_equals_uninterrupted_run(tmp_path, monkeypatch):
    """Epochs of 300 steps end mid-episode (200-step episodes): resume must rebuild the env too."""
    full = run(tmp_path / "full", 2)
    run(tmp_path / "resumed", 1)
    steps = count_env_steps(monkeypatch)
    resumed = run(tmp_path / "resumed", 2)
    # The train env (seed 5) replays the 100 steps of the episode in progress, then runs epoch 2's
    # 300; a run that silently restarted from step 0 would take 600.
    assert steps[5] == 100 + 300
    state_full, meta_full = saved_state(tmp_path / "full")
    state_resumed, meta_resumed = saved_state(tmp_path / "resumed")
    assert meta_full["progress"]["step"] == meta_resumed["progress"]["step"] == 600
    for key in state_full:
        np.testing.assert_array_equal(state_full[key], state_resumed[key], err_msg=key)
    assert full["Episode Return (Test)"] == resumed["Episode Return (Test)"]
    with open(tmp_path / "resumed" / "progress.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["Timesteps"] for r in rows] == ["300", "600"]


def test_finished_run_is_not_retrained(tmp_path):
    run(tmp_path / "r", 1)
    before = (tmp_path / "r" / CHECKPOINT_NAME).stat().st_mtime_ns
    row = run(tmp_path / "r", 1)
    assert row["Timesteps"] == 300
    assert (tmp_path / "r" / CHECKPOINT_NAME).stat().st_mtime_ns == before


def test_checkpoint_of_another_run_is_refused_and_kept(tmp_path):
    run(tmp_path / "r", 1, algo="td3")
    data = (tmp_path / "r" / CHECKPOINT_NAME).read_bytes()
    with pytest.raises(checkpoint.CheckpointError, match="another run"):
        run(tmp_path / "r", 2, algo="ddpg")
    assert (tmp_path / "r" / CHECKPOINT_NAME).read_bytes() == data


def test_csv_has_the_reference_stat_names(tmp_path):
    run(tmp_path / "r", 1, algo="sac")
    with open(tmp_path / "r" / "progress.csv") as f:
        header = next(csv.reader(f))
    for name in ["Episode Return (Test)", "Episode Length (Train)", "(qfunc) Q1 pred", "(alpha) alpha", "Hours", "Timesteps", "Steps per Second"]:
        assert name in header


@pytest.mark.slow
def test_killed_process_resumes_to_the_same_parameters(tmp_path):
    """SIGKILL a real training process after its first checkpoint, rerun the command, compare."""
    base = [sys.executable, str(REPO / "main.py"), "--env", "Pendulum-v0", "--algo", "sac", "--quiet", "--run_id", "1"]
    params = []
    for line in SMALL.strip().splitlines() + ["train.num_epochs = 3"]:
        params += ["--gin_param", line.replace(" ", "")]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    killed = subprocess.Popen(base + params + ["--results_dir", str(tmp_path / "killed")], env=env, cwd=REPO)
    ckpt = tmp_path / "killed" / "Pendulum-v0" / "sac" / "1" / CHECKPOINT_NAME
    csv = ckpt.parent / "progress.csv"

    def first_epoch_committed() -> bool:  # its CSV row is the last file an epoch writes
        text = csv.read_text() if csv.exists() else ""
        return text.endswith("\n") and len(text.splitlines()) >= 2

    deadline = time.time() + 240
    while not first_epoch_committed() and time.time() < deadline and killed.poll() is None:
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert ckpt.exists()
    assert saved_state(ckpt.parent)[1]["progress"]["step"] < 900
    logged_before = (ckpt.parent / "progress.csv").read_text().splitlines()
    assert len(logged_before) >= 2  # the header and the checkpointed epoch's row
    subprocess.run(base + params + ["--results_dir", str(tmp_path / "killed")], env=env, cwd=REPO, check=True, timeout=600)
    subprocess.run(base + params + ["--results_dir", str(tmp_path / "clean")], env=env, cwd=REPO, check=True, timeout=600)
    # Resumed, not restarted: the rows logged before the kill (with their wall-clock "Hours") are kept as written.
    logged_after = (ckpt.parent / "progress.csv").read_text().splitlines()
    assert logged_after[: len(logged_before)] == logged_before and len(logged_after) == 4
    a, _ = saved_state(ckpt.parent)
    b, _ = saved_state(tmp_path / "clean" / "Pendulum-v0" / "sac" / "1")
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.mark.slow
def test_sac_learns_pendulum_within_8000_steps(tmp_path):
    gin.parse_config(
        """
        train.num_epochs = 8
        train.num_steps_per_epoch = 1000
        train.num_test_episodes_per_epoch = 5
        train.update_after = 1000
        """
    )
    row = train("Pendulum-v0", "sac", tmp_path / "sac", seed=1, quiet=True)
    assert row["Timesteps"] == 8000
    assert row["Episode Return (Test)"] > -400


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["ddpg", "td3"])
def test_deterministic_agents_learn_pendulum_within_8000_steps(tmp_path, algo):
    """Mean test return over 5 episodes: about -1200 to -1600 for the untrained policy (the first
    epochs), about -150 for a good one. Seed 0 reached -119 (DDPG) and -126 (TD3) at 8000 steps,
    TD3 still -527 at 6000 (its actor steps half as often)."""
    gin.parse_config(
        """
        make_MLP.hidden_dimensions = (64, 64)
        ReplayBuffer.batch_size = 64
        DDPG.lr = 1e-3
        TD3.lr = 1e-3
        train.num_epochs = 8
        train.num_steps_per_epoch = 1000
        train.num_test_episodes_per_epoch = 5
        train.update_after = 1000
        """
    )
    row = train("Pendulum-v0", algo, tmp_path / algo, seed=0, quiet=True)
    assert row["Timesteps"] == 8000
    assert row["Episode Return (Test)"] > -400


def test_runs_in_one_process_share_compiled_programs_until_the_config_changes():
    from jaxpcc.programs import build_agent
    from jaxpcc.programs import learner_for as _learner

    gin.clear_config()
    gin.parse_config(SMALL)
    first, _ = build_agent("Pendulum-v0", "sac")
    second, _ = build_agent("Pendulum-v0", "sac")
    assert second is first and _learner(first, 1) is _learner(second, 1)
    assert _learner(first, 2) is not _learner(first, 1)
    gin.parse_config("SAC.gamma = 0.9")
    changed, _ = build_agent("Pendulum-v0", "sac")
    assert changed is not first and changed.config.gamma == 0.9
    assert build_agent("Pendulum-v0", "td3")[0] is not first
    gin.clear_config()


def test_a_run_reusing_compiled_programs_equals_a_run_compiled_afresh(tmp_path):
    """Seeds share the cached programs (acting keys are arguments, not baked-in constants)."""
    programs._PROGRAM_CACHE.clear()
    gin.clear_config()
    gin.parse_config(SMALL + "train.num_epochs = 1\n")
    train("Pendulum-v0", "sac", tmp_path / "seed7", seed=7, quiet=True)  # compiles with seed 7's key
    shared = run(tmp_path / "shared", 1, algo="sac")  # seed 5 on the programs compiled for seed 7
    programs._PROGRAM_CACHE.clear()
    fresh = run(tmp_path / "fresh", 1, algo="sac")
    state_shared, _ = saved_state(tmp_path / "shared")
    state_fresh, _ = saved_state(tmp_path / "fresh")
    for key in state_fresh:
        np.testing.assert_array_equal(state_shared[key], state_fresh[key], err_msg=key)
    assert shared["Episode Return (Test)"] == fresh["Episode Return (Test)"]
