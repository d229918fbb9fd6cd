"""The SB3 backend: SB3's settings from jaxpcc's gin configs, and SB3 runs beside jaxpcc's in one grid."""

import csv
import subprocess

import pytest

from grid_helpers import grid_command, write_grid
from jaxpcc import cli
from jaxpcc.logger import BASE_COLUMNS
from jaxpcc.persistence.checkpoint import read_meta
from jaxpcc.sb3 import read_settings, sb3_kwargs


def kwargs_for(config: str, algo: str, action_dim: int = 3, bindings=()):
    cli.parse_gin(cli.resolve_config(config, algo), list(bindings))
    return sb3_kwargs(algo, read_settings(algo), action_dim)


def test_sac_settings_from_a_reproduce_sb3_config():
    kw = kwargs_for("configs/reproduce_sb3/sac_hopper_walker2d.gin", "sac")
    assert {k: kw[k] for k in ("buffer_size", "batch_size", "gamma", "learning_starts", "train_freq", "gradient_steps")} == {
        "buffer_size": 300000, "batch_size": 256, "gamma": 0.98, "learning_starts": 10000,
        "train_freq": (64, "step"), "gradient_steps": 64,
    }
    assert kw["tau"] == pytest.approx(0.02) and kw["policy_kwargs"] == {"net_arch": [400, 300]}
    assert kw["ent_coef"] == "auto_1.0" and kw["target_entropy"] == -3.0
    # linear_decay over 1e6 updates: update k = steps done - update_after (SB3 passes the progress left).
    assert kw["learning_rate"](1.0) == pytest.approx(7.3e-4)
    assert kw["learning_rate"](0.5) == pytest.approx(7.3e-4 * (1 - (490_000 - 1) / 1e6))


def test_td3_and_ddpg_settings():
    kw = kwargs_for("configs/reproduce_sb3/td3_all.gin", "td3", action_dim=2)
    assert (kw["policy_delay"], kw["target_policy_noise"], kw["target_noise_clip"]) == (2, 0.2, 0.5)
    assert kw["learning_rate"] == 1e-3 and kw["buffer_size"] == 200000 and kw["batch_size"] == 100
    assert list(kw["action_noise"]._sigma) == [0.1, 0.1]
    kw = kwargs_for("configs/reproduce_sb3/ddpg_hopper.gin", "ddpg")
    assert kw["learning_rate"] == 7e-4 and kw["train_freq"] == (64, "step") and kw["buffer_size"] == 1_000_000
    assert "policy_delay" not in kw


def test_td3_and_sac_run_from_the_plain_templates():
    # The reference's SB3 driver took update_after for DDPG only; here every algorithm reads train.update_after.
    for algo in ("ddpg", "td3", "sac"):
        kw = kwargs_for("configs/test/template_100k.gin", algo)
        assert kw["learning_starts"] == 1000 and kw["gradient_steps"] == 1
        assert kw["buffer_size"] == 1_000_000 and kw["batch_size"] == 100 and kw["policy_kwargs"] == {"net_arch": [256, 256]}


def test_unbound_schedule_is_a_clear_error(tmp_path, capsys):
    from jaxpcc.sb3 import main

    config = tmp_path / "partial.gin"
    config.write_text("train.num_epochs = 1\n")
    assert main(["--env", "Pendulum-v0", "--algo", "sac", "--config", str(config), "--results_dir", str(tmp_path)]) == 2
    assert "train.num_steps_per_epoch" in capsys.readouterr().err


@pytest.mark.slow
def test_sb3_and_jaxpcc_runs_in_one_grid_and_one_report(tmp_path):
    grid = write_grid(tmp_path / "g.toml", algos=("td3", "sb3-td3"), run_ids=(1,), entry_params=["train.num_epochs = 2"])
    results = tmp_path / "results"
    proc = subprocess.run(grid_command("run", grid, "--results_dir", results), cwd=tmp_path, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for algo in ("td3", "sb3-td3"):
        folder = results / "Pendulum-v0" / algo / "1"
        with open(folder / "progress.csv", newline="") as f:
            rows = list(csv.reader(f))
        assert tuple(rows[0][: len(BASE_COLUMNS)]) == BASE_COLUMNS
        assert [r[:2] for r in rows[1:]] == [["1", "200"], ["2", "400"]]
        assert read_meta(folder / "checkpoint.npz")["progress"]["epoch"] == 2
    assert read_meta(results / "Pendulum-v0" / "sb3-td3" / "1" / "checkpoint.npz")["algo"] == "sb3-td3"
    again = subprocess.run(grid_command("run", grid, "--results_dir", results), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "2 already finished, 0 to run" in again.stdout
    rep = subprocess.run(grid_command("report", grid, "--results_dir", results, "--out", tmp_path / "rep"), cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    md = (tmp_path / "rep" / "tiny.md").read_text()
    assert rep.returncode == 0 and "| Pendulum-v0 | td3 | 1/1 | 400 |" in md and "| Pendulum-v0 | sb3-td3 | 1/1 | 400 |" in md
