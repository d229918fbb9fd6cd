"""The shipped grids against the reference README's commands, and every config that README names."""

import collections
import re
from pathlib import Path

import pytest

from jaxpcc import cli
from jaxpcc.envs import env_ids
from jaxpcc.grid.spec import GridError, load_grid

REPO = Path(__file__).resolve().parent.parent
GRIDS = REPO / "configs" / "grids"
# CI clones the repository beside /work/shared, which it sees as ../shared.
SEED_README = REPO.parent / "shared" / "seeds" / "000_22d4454df4f7e3e2.txt"
COMMAND = re.compile(
    r"OFFPCC_WANDB_PROJECT=(\S+) python launch\.py --env (\S+) --algo (\S+) --config (\S+) --run_id (\d[\d ]*)"
)
REPORT_GRIDS = (
    "report-pendulum", "report-cartpole-balance", "report-cartpole-swingup", "report-reacher",
    "report-watermaze", "report-bumps-normal-test", "report-halfcheetah",
)


def readme_runs() -> dict[str, collections.Counter]:
    """{project: Counter of (env, algo, config, run_id)} over the README's commands."""
    runs = collections.defaultdict(collections.Counter)
    for project, env, algo, config, ids in COMMAND.findall(SEED_README.read_text()):
        for run_id in ids.split():
            runs[project][(env, algo, config, int(run_id))] += 1
    return runs


def test_the_readme_parser_sees_every_command():
    # 64 launch commands in the README's report section (13 + 11 + 11 + 5 + 14 + 7 + 3): each one is read.
    text = SEED_README.read_text()
    matched = [p for p, *_ in COMMAND.findall(text) if p.startswith("report-")]
    assert len(matched) == text.count("OFFPCC_WANDB_PROJECT=report-") == 64


@pytest.mark.parametrize("name", REPORT_GRIDS)
def test_report_grid_equals_the_readme_commands(name):
    expected = readme_runs()[name]
    grid = load_grid(GRIDS / f"{name}.toml")
    got = collections.Counter((r.env, r.algo, r.config, r.run_id) for r in grid.runs)
    assert grid.name == name
    assert max(expected.values()) == 1  # the README never repeats a run
    assert got == expected, f"missing {expected - got}, extra {got - expected}"
    assert all(not r.gin_params for r in grid.runs)


def test_every_readme_project_has_a_grid():
    projects = {p for p in readme_runs() if p.startswith("report-")}
    assert projects == set(REPORT_GRIDS)


def test_every_config_and_env_the_readme_names_exists():
    text = SEED_README.read_text()
    configs = set(re.findall(r"--config (configs/\S+\.gin)", text))
    assert "configs/test/template_recurrent_1m_pybullet.gin" in configs
    for config in configs:
        assert cli.resolve_config(config, "sac").is_file()
    ids = set(env_ids())
    for grid_file in GRIDS.glob("*.toml"):
        for run in load_grid(grid_file).runs:
            assert run.env in ids, (grid_file.name, run.env)
            assert cli.resolve_config(run.config, run.algo).is_file()


def test_recurrent_1m_pybullet_has_the_reference_values(tmp_path):
    # The reference's file at 74aa0dc: segments of 50, capacity 1000 episodes, 100 x 10000 steps.
    import gin

    cli.parse_gin(cli.resolve_config("configs/test/template_recurrent_1m_pybullet.gin", "rsac"), [])
    value = lambda name: gin.query_parameter(name).scoped_configurable_fn()  # noqa: E731
    assert [value(f"RecurrentReplayBuffer.{k}") for k in ("capacity", "batch_size", "segment_len")] == [1000, 10, 50]
    assert [value(f"train.{k}") for k in ("num_epochs", "num_steps_per_epoch", "update_after", "num_test_episodes_per_epoch")] == [
        100, 10000, 10000, 10,
    ]


def test_bad_grid_files_are_refused_in_one_line(tmp_path, capsys):
    from jaxpcc.grid.cli import main

    cases = {
        "unknown key": ('name = "x"\n[[runs]]\nenv = "Pendulum-v0"\nalgo = "sac"\nconfig = "c.gin"\nrun_ids = [1]\nseed = 3\n', "unknown key(s) ['seed']"),
        "twice": ('[[runs]]\nenv = "Pendulum-v0"\nalgo = ["sac", "sac"]\nconfig = "c.gin"\nrun_ids = [1]\n', "already in entry 1"),
        "run ids": ('[[runs]]\nenv = "Pendulum-v0"\nalgo = "sac"\nconfig = "c.gin"\nrun_ids = "1 2"\n', "'run_ids' must be"),
        "no runs": ('name = "x"\n', "no [[runs]] entries"),
        "not toml": ('[[runs]\n', "not valid TOML"),
    }
    for case, (text, message) in cases.items():
        path = tmp_path / f"{case}.toml"
        path.write_text(text)
        with pytest.raises(GridError, match=re.escape(message)):
            load_grid(path)
        assert main(["run", str(path), "--dry-run"]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert main(["run", str(tmp_path / "absent.toml"), "--dry-run"]) == 2


def test_a_bad_config_in_a_grid_is_refused_before_anything_runs(tmp_path, capsys):
    from jaxpcc.grid.cli import main

    path = tmp_path / "g.toml"
    path.write_text('[[runs]]\nenv = "Pendulum-v0"\nalgo = "sac"\nconfig = "configs/nope.gin"\nrun_ids = [1]\n')
    assert main(["run", str(path), "--results_dir", str(tmp_path / "r")]) == 2
    assert "config 'configs/nope.gin' not found" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_a_shipped_grid_is_found_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for given in ("grids/report-pendulum.toml", "configs/grids/report-pendulum.toml"):
        assert load_grid(given).runs == load_grid(GRIDS / "report-pendulum.toml").runs
    with pytest.raises(GridError, match="not found"):
        load_grid("grids/no-such-grid.toml")
