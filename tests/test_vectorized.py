"""Several seeds in one process: seed k of a vectorized run matches seed k trained alone."""


import gin
import numpy as np
import pytest

from jaxpcc.loop import train, train_vectorized
from jaxpcc.persistence import checkpoint
from jaxpcc.persistence.run_checkpoint import CHECKPOINT_NAME

SMALL = """
make_MLP.hidden_dimensions = (32, 32)
ReplayBuffer.batch_size = 32
train.num_epochs = 1
train.num_steps_per_epoch = 300
train.num_test_episodes_per_epoch = 1
train.update_after = 200
train.update_every = 10
"""


def params(run_dir):
    groups, meta = checkpoint.load(run_dir / CHECKPOINT_NAME)
    return groups["state"], groups["buffer"], meta


@pytest.fixture(scope="module")
def seeds_1_and_2(tmp_path_factory):
    """`runs(algo)`: seeds 1 and 2 trained vectorized (v1, v2) and each alone (alone1, alone2), with
    SMALL and 2 test episodes an epoch; (root folder, vectorized rows, alone rows), trained once per algo."""
    done = {}

    def runs(algo):
        if algo not in done:
            root = tmp_path_factory.mktemp(f"vectorized_{algo}")
            gin.clear_config()
            gin.parse_config(SMALL)
            gin.bind_parameter("train.num_test_episodes_per_epoch", 2)
            rows = train_vectorized("Pendulum-v0", algo, [root / "v1", root / "v2"], [1, 2], quiet=True)
            alone = [train("Pendulum-v0", algo, root / f"alone{seed}", seed=seed, quiet=True) for seed in (1, 2)]
            gin.clear_config()
            done[algo] = root, rows, alone
        return done[algo]

    return runs


@pytest.mark.parametrize("algo", ["td3", "sac"])
def test_vectorized_seeds_match_seeds_run_alone(seeds_1_and_2, algo):
    root, rows, _ = seeds_1_and_2(algo)
    for k, seed in enumerate([1, 2]):
        v_state, v_buffer, v_meta = params(root / f"v{seed}")
        a_state, a_buffer, a_meta = params(root / f"alone{seed}")
        for counter in ("step", "epoch", "episode", "episode_len"):
            assert v_meta["progress"][counter] == a_meta["progress"][counter]
        assert v_meta["progress"]["episode_return"] == pytest.approx(a_meta["progress"]["episode_return"], rel=1e-5)
        for key in a_buffer:  # the same transitions were collected ...
            np.testing.assert_allclose(v_buffer[key], a_buffer[key], rtol=1e-4, atol=1e-4, err_msg=key)
        for key in a_state:  # ... and the same parameters learned
            np.testing.assert_allclose(v_state[key], a_state[key], rtol=1e-3, atol=1e-4, err_msg=key)
        assert rows[k]["Timesteps"] == 300
    a, _, _ = params(root / "v1")
    b, _, _ = params(root / "v2")
    assert not all(np.array_equal(a[key], b[key]) for key in a)  # the seeds really differ


def test_vectorized_test_returns_match_seeds_tested_alone(seeds_1_and_2):
    _, rows, alone_rows = seeds_1_and_2("td3")
    for row, alone in zip(rows, alone_rows):
        assert row["Episode Length (Test)"] == alone["Episode Length (Test)"] == 200
        assert row["Episode Return (Test)"] == pytest.approx(alone["Episode Return (Test)"], rel=1e-3)
    assert rows[0]["Episode Return (Test)"] != rows[1]["Episode Return (Test)"]


def test_vectorized_run_resumes_and_levels_seeds(tmp_path):
    gin.parse_config(SMALL)
    dirs = [tmp_path / "s1", tmp_path / "s2"]
    train("Pendulum-v0", "td3", dirs[0], seed=1, quiet=True)  # as if a crash hit between two checkpoint writes
    gin.bind_parameter("train.num_epochs", 2)
    train_vectorized("Pendulum-v0", "td3", dirs, [1, 2], quiet=True)
    for d, seed in zip(dirs, [1, 2]):
        state, buffer, meta = params(d)
        assert meta["progress"]["step"] == 600
        # caught up, not just counted up: the same parameters as the seed trained alone
        train("Pendulum-v0", "td3", tmp_path / f"alone{seed}", seed=seed, quiet=True)
        alone_state, alone_buffer, _ = params(tmp_path / f"alone{seed}")
        for key in alone_buffer:
            np.testing.assert_allclose(buffer[key], alone_buffer[key], rtol=1e-4, atol=1e-4, err_msg=key)
        for key in alone_state:
            np.testing.assert_allclose(state[key], alone_state[key], rtol=1e-3, atol=1e-4, err_msg=key)


def test_wandb_offline_logs_without_network(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("JAXPCC_WANDB_PROJECT", "jaxpcc-test")
    monkeypatch.setenv("WANDB_SILENT", "true")
    gin.parse_config(SMALL)
    train("Pendulum-v0", "ddpg", tmp_path / "w", seed=1, quiet=True)
    runs = list((tmp_path / "w" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    meta = params(tmp_path / "w")[2]
    assert meta["wandb_id"] and meta["wandb_id"] in runs[0].name
