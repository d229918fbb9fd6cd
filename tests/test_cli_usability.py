"""The command line as a person uses it: several bindings per flag, algorithms in --help, a run header,
--render/--record under the run's own config, module:id envs, unsuitable envs and missing extras refused."""

import contextlib
import csv
import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jaxpcc import cli
from jaxpcc.agents import ALGOS

REPO = Path(__file__).resolve().parent.parent
QUICK = [
    "--gin_param", "train.num_steps_per_epoch=250", "train.update_after=100", "train.num_test_episodes_per_epoch=1",
    "make_MLP.hidden_dimensions=(16, 16)",
    "--gin_param", "ReplayBuffer.batch_size=16",
]


def test_gin_param_takes_several_bindings_after_one_flag_and_repeats():
    args = cli.build_parser().parse_args(
        ["--env", "Pendulum-v0", "--algo", "sac", "--gin_param", "a.b=1", "c.d=2", "--gin_param", "e.f=3"]
    )
    assert args.gin_param == ["a.b=1", "c.d=2", "e.f=3"]


def test_help_lists_every_algorithm(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert set(cli.ALGO_SUMMARIES) == set(ALGOS)
    listing = out.split("algorithms (--algo):")[1]
    assert all(f"  {name} " in listing for name in ALGOS)


@pytest.fixture(scope="module")
def three_sessions(tmp_path_factory):
    """One run trained for 1 epoch, started again unchanged, then extended to 2 epochs (each with its header)."""
    import gin

    results = tmp_path_factory.mktemp("results")
    base = ["--env", "Pendulum-v0", "--algo", "sac", "--results_dir", str(results), "--quiet", "--tensorboard"] + QUICK
    outputs = []
    for epochs in (1, 1, 2):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = cli.main(base + ["--gin_param", f"train.num_epochs={epochs}"])
        outputs.append(out.getvalue())
        gin.clear_config()
        assert code == 0
    return results / "Pendulum-v0" / "sac" / "1", outputs


def test_every_run_starts_with_a_header(three_sessions):
    run_dir, (first, again, extended) = three_sessions
    assert first.startswith("jaxpcc ")
    assert "env Pendulum-v0 | algo sac | seed 1 | config default.gin" in first
    assert f"folder {run_dir}: new run, 1 epoch" in first
    assert f"folder {run_dir}: already finished (epoch 1 of 1), nothing to do" in again
    assert f"folder {run_dir}: resuming from epoch 1 of 2" in extended


def test_render_uses_the_runs_saved_config(three_sessions, capsys):
    """Trained with 16x16 networks, rendered without --config (the default would build 256x256)."""
    run_dir, _ = three_sessions
    code = cli.main(["--env", "Pendulum-v0", "--algo", "sac", "--render", "--episodes", "1", "--results_dir", str(run_dir.parents[2])])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "run 1: returns [" in captured.out and "run 1: lengths [200]" in captured.out


def test_tensorboard_events_hold_the_csv_statistics(three_sessions):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from jaxpcc.tensorboard_log import tag_of

    run_dir, _ = three_sessions
    with open(run_dir / "progress.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    events = EventAccumulator(str(run_dir))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    expected = {tag_of(column) for column, value in rows[0].items() if value not in ("", "nan")}
    assert expected and expected == tags
    for column in rows[0]:
        if rows[0][column] in ("", "nan"):
            continue
        series = events.Scalars(tag_of(column))
        assert [s.step for s in series] == [int(r["Timesteps"]) for r in rows]  # one point per epoch, none twice
        assert [s.value for s in series] == pytest.approx([float(r[column]) for r in rows], rel=1e-6, abs=1e-6)


def test_tensorboard_tags():
    from jaxpcc.tensorboard_log import tag_of

    assert tag_of("Episode Return (Test)") == "test/episode_return"
    assert tag_of("(qfunc) Q1 pred") == "qfunc/q1_pred"
    assert tag_of("Steps per Second") == "progress/steps_per_second"


def test_record_prints_video_paths_and_nothing_on_stderr(three_sessions):
    """A separate process with no display settings at all, as a user's shell has."""
    run_dir, _ = three_sessions
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SDL_", "XDG_", "DISPLAY", "WAYLAND"))}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, "-m", "jaxpcc", "--env", "Pendulum-v0", "--algo", "sac", "--record", "--episodes", "1",
         "--results_dir", str(run_dir.parents[2])],
        capture_output=True, text=True, env=env, cwd=run_dir.parents[2], timeout=600,
    )
    assert done.returncode == 0 and done.stderr == ""
    video = run_dir / "videos" / "episode_0.mp4"
    assert f"run 1: video {video}" in done.stdout and video.stat().st_size > 0


# A user's module: importing it registers its envs (the classes live in tests/reach_env.py).
USER_ENVS = """
import gymnasium

from reach_env import Choose, Reach

gymnasium.register("UserReach-v0", entry_point=Reach, max_episode_steps=20)
gymnasium.register("UserChoose-v0", entry_point=Choose, max_episode_steps=20)
"""


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    name = f"user_envs_{os.getpid()}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(USER_ENVS))
    monkeypatch.chdir(tmp_path)
    yield name
    sys.modules.pop(name, None)
    import gymnasium

    for env_id in ("UserReach-v0", "UserChoose-v0"):
        gymnasium.registry.pop(env_id, None)


def test_module_colon_id_trains_a_users_env(user_module, capsys, tmp_path):
    code = cli.main(
        ["--env", f"{user_module}:UserReach-v0", "--algo", "td3", "--quiet", "--gin_param", "train.num_epochs=1"] + QUICK
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    run_dir = tmp_path / "results" / "UserReach-v0" / "td3" / "1"
    assert (run_dir / "policy.npz").is_file()
    assert "env UserReach-v0" in captured.out


def test_unimportable_env_module_is_named(capsys, tmp_path):
    code = cli.main(["--env", "no_such_module_here:Env-v0", "--algo", "sac", "--results_dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "cannot import module 'no_such_module_here'" in err and "Traceback" not in err


def test_an_env_with_discrete_actions_is_refused_with_the_reason(user_module, capsys):
    code = cli.main(["--env", f"{user_module}:UserChoose-v0", "--algo", "sac"])
    err = capsys.readouterr().err
    assert code == 2 and "Discrete action space" in err and len(err.strip().splitlines()) == 1


def test_a_missing_extra_is_named_in_one_line(monkeypatch, capsys, tmp_path):
    """As on a core install: dm_control cannot be imported."""
    monkeypatch.setitem(sys.modules, "dm_control", None)
    for module in ("jaxpcc.envs.dmc", "jaxpcc.envs.dmc_variants"):
        if module in sys.modules:
            monkeypatch.delitem(sys.modules, module)
    code = cli.main(["--env", "dmc-cartpole-balance-v0", "--algo", "sac", "--results_dir", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "'dmc' extra" in err and "pip install 'jaxpcc[dmc]'" in err
