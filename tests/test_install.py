"""The package as a user gets it: a core `pip install` into a fresh virtual environment, used outside the checkout.

Costs about half a minute on 2 cores when pip's cache holds the wheels (as after `make test`'s own set-up).
"""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import jaxpcc

REPO = Path(__file__).resolve().parent.parent
QUICK = [
    "--gin_param", "train.num_epochs=1", "train.num_steps_per_epoch=250", "train.update_after=100",
    "train.num_test_episodes_per_epoch=1", "make_MLP.hidden_dimensions=(16, 16)", "ReplayBuffer.batch_size=16",
]


def test_version_is_the_packages():
    """pyproject.toml reads the version from jaxpcc/__init__.py (hatch's version source)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" in project["project"]["dynamic"] and project["tool"]["hatch"]["version"]["path"] == "jaxpcc/__init__.py"
    assert jaxpcc.__version__.count(".") == 2


def test_importing_jaxpcc_loads_no_jax():
    done = subprocess.run(
        [sys.executable, "-c", "import sys, jaxpcc; print(jaxpcc.__version__, 'jax' in sys.modules)"],
        capture_output=True, text=True, cwd=REPO, check=True, timeout=120,
    )
    assert done.stdout.split() == [jaxpcc.__version__, "False"]


def test_core_dependencies_leave_simulators_and_trackers_to_extras():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"])
    for name in ("mujoco", "dm-control", "pybullet", "wandb", "pytest", "tensorboard"):
        assert name not in core
    extras = project["optional-dependencies"]
    assert {"dmc", "pybullet", "wandb", "tensorboard", "cuda", "cluster", "bench", "dev"} <= set(extras)
    pinned = {line.split("==")[0].lower() for line in (REPO / "requirements.txt").read_text().splitlines() if "==" in line}
    for requirement in project["dependencies"]:
        assert requirement.split(">=")[0].lower() in pinned  # every core dependency has a tested pin


@pytest.mark.slow
def test_fresh_core_install_trains_and_loads_outside_the_checkout(tmp_path):
    venv, elsewhere = tmp_path / "venv", tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}

    def run(*argv, check=True):
        return subprocess.run([str(a) for a in argv], capture_output=True, text=True, cwd=elsewhere, env=env, check=check, timeout=900)

    run(sys.executable, "-m", "venv", venv)
    python, command = venv / "bin" / "python", venv / "bin" / "jaxpcc"
    run(python, "-m", "pip", "install", "-q", "-c", REPO / "requirements.txt", REPO)

    missing = run(python, "-c", "import importlib.util as u; print([m for m in ('mujoco', 'dm_control', 'pybullet', 'wandb', 'pygame') if u.find_spec(m)])")
    assert missing.stdout.strip() == "[]"

    trained = run(command, "--env", "Pendulum-v0", "--algo", "sac", "--config", "test/template_short.gin", "--quiet", *QUICK)
    assert "config test/template_short.gin" in trained.stdout
    loaded = run(python, "-c", "import jaxpcc; p = jaxpcc.load_policy('results/Pendulum-v0/sac/1'); "
                 "print(jaxpcc.__file__); print(p.evaluate(episodes=1)['lengths'])")
    where, lengths = loaded.stdout.split()
    assert Path(where).is_relative_to(venv) and lengths == "[200]"

    refused = run(command, "--env", "dmc-cartpole-balance-v0", "--algo", "sac", "--quiet", check=False)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "pip install 'jaxpcc[dmc]'" in refused.stderr

    # An editable install reads the checkout's configs/ (no copy of them in the package).
    run(python, "-m", "pip", "install", "-q", "--no-deps", "-e", REPO)
    resolved = run(python, "-c", "from jaxpcc import cli; print(cli.resolve_config('test/template_short.gin', 'sac'))")
    assert Path(resolved.stdout.strip()) == REPO / "configs" / "test" / "template_short.gin"
