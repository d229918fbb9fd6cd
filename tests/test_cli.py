"""Command line: clear errors with exit status 2, configs resolved, policies reloaded exactly."""


import jax
import numpy as np
import pytest

from jaxpcc import cli
from jaxpcc.agents import ALGOS
from jaxpcc.persistence.policy_file import POLICY_NAME, load_policy, save_policy

QUICK = [
    "--gin_param", "train.num_epochs=1",
    "--gin_param", "train.num_steps_per_epoch=250",
    "--gin_param", "train.update_after=100",
    "--gin_param", "train.num_test_episodes_per_epoch=1",
    "--gin_param", "make_MLP.hidden_dimensions=(16, 16)",
    "--gin_param", "ReplayBuffer.batch_size=16",
]


def error_of(capsys, argv):
    code = cli.main(argv)
    return code, capsys.readouterr().err


def test_unknown_env_lists_close_matches(capsys):
    code, err = error_of(capsys, ["--env", "Pendulm-v0", "--algo", "sac"])
    assert code == 2 and "unknown env 'Pendulm-v0'" in err and "Pendulum-v1" in err and "Traceback" not in err


def test_unknown_algo_lists_valid_names(capsys):
    code, err = error_of(capsys, ["--env", "Pendulum-v0", "--algo", "sacc"])
    assert code == 2 and "Did you mean: sac" in err
    valid = err.split("Valid algos:")[1]
    assert all(name in valid for name in ("ddpg", "td3", "sac"))


def test_missing_config_says_which_paths_were_tried(capsys):
    code, err = error_of(capsys, ["--env", "Pendulum-v0", "--algo", "sac", "--config", "nope.gin"])
    assert code == 2 and "nope.gin" in err and "configs/nope.gin" in err


def test_unknown_gin_binding_is_named(capsys, tmp_path):
    code, err = error_of(capsys, ["--env", "Pendulum-v0", "--algo", "sac", "--gin_param", "SAC.not_a_param=3", "--results_dir", str(tmp_path)])
    assert code == 2 and "not_a_param" in err


def test_unbound_required_parameter_is_named(capsys, tmp_path):
    config = tmp_path / "partial.gin"
    config.write_text("train.num_epochs = 1\ntrain.num_steps_per_epoch = 10\ntrain.update_after = 5\n")
    code, err = error_of(capsys, ["--env", "Pendulum-v0", "--algo", "sac", "--config", str(config), "--results_dir", str(tmp_path)])
    assert code == 2 and "num_test_episodes_per_epoch" in err


def test_config_resolves_relative_to_configs_dir():
    assert cli.resolve_config("test/template_short.gin", "sac") == cli.CONFIG_DIR / "test" / "template_short.gin"
    assert cli.resolve_config(None, "sac") == cli.CONFIG_DIR / cli.DEFAULT_CONFIG


def test_corrupt_checkpoint_is_refused_not_overwritten(capsys, tmp_path):
    run_dir = tmp_path / "Pendulum-v0" / "sac" / "1"
    run_dir.mkdir(parents=True)
    (run_dir / "checkpoint.npz").write_bytes(b"garbage")
    code, err = error_of(capsys, ["--env", "Pendulum-v0", "--algo", "sac", "--results_dir", str(tmp_path), "--quiet"] + QUICK)
    assert code == 2 and "corrupt" in err
    assert (run_dir / "checkpoint.npz").read_bytes() == b"garbage"


def test_render_without_a_trained_policy_says_so(capsys, tmp_path):
    code, err = error_of(capsys, ["--env", "Pendulum-v0", "--algo", "sac", "--render", "--results_dir", str(tmp_path)])
    assert code == 2 and "no saved policy" in err


@pytest.mark.parametrize("algo", ["ddpg", "td3", "sac"])
def test_policy_save_load_round_trip_gives_identical_actions(tmp_path, algo):
    agent = ALGOS[algo](3, 1, (16, 16))
    state = agent.init(jax.random.PRNGKey(0))
    save_policy(tmp_path, agent, state, "Pendulum-v0")
    restored = load_policy(tmp_path, agent, agent.init(jax.random.PRNGKey(1)))
    obs = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)
    key = jax.random.PRNGKey(0)
    np.testing.assert_array_equal(agent.act(state, obs, key, deterministic=True), agent.act(restored, obs, key, deterministic=True))


def test_train_then_record_writes_videos_and_prints_returns(capsys, tmp_path):
    base = ["--env", "Pendulum-v0", "--algo", "td3", "--results_dir", str(tmp_path), "--quiet"] + QUICK
    assert cli.main(base) == 0
    run_dir = tmp_path / "Pendulum-v0" / "td3" / "1"
    for name in (POLICY_NAME, "checkpoint.npz", "progress.csv", "config.gin", "operative_config.gin"):
        assert (run_dir / name).exists(), name
    capsys.readouterr()
    assert cli.main(base + ["--record", "--episodes", "2"]) == 0
    out = capsys.readouterr().out
    assert "returns" in out and "lengths [200, 200]" in out
    videos = sorted(p.name for p in (run_dir / "videos").iterdir())
    assert len(videos) == 2 and all(v.endswith((".mp4", ".gif")) for v in videos)


def test_render_and_record_together_are_refused():
    with pytest.raises(SystemExit) as exc:
        cli.main(["--env", "Pendulum-v0", "--algo", "sac", "--render", "--record"])
    assert exc.value.code == 2
