"""Every shipped gin file parses as the command line parses it and builds the agents it is meant for.

A binding to a name or parameter that does not exist fails the parse; a value a config refuses
(`__post_init__`) fails the build. Which agents a file is meant for follows from what it binds:
the recurrent buffer or summarizer (the recurrent agents), augmentation or ConvolutionalSAC (the
image agent), an algorithm's own section (that algorithm), or nothing specific (every vector agent).
"""

import subprocess
import sys
from pathlib import Path

import gin
import pytest

from jaxpcc.agents import IMAGE_ALGOS, RECURRENT_ALGOS, VECTOR_ALGOS, make_agent
from jaxpcc.cli import parse_gin, resolve_config
from jaxpcc.replay import ReplayBuffer
from jaxpcc.replay.sequence import RecurrentReplayBuffer

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = sorted((ROOT / "configs").rglob("*.gin"))
SECTIONS = {"DDPG.": "ddpg", "TD3.": "td3", "SAC.": "sac"}
OBS_DIM, ACTION_DIM, IMAGE_SHAPE, EPISODE_LIMIT = 3, 1, (3, 84, 84), 1000


def intended_algos(text: str) -> list[str]:
    if "RecurrentReplayBuffer." in text or "Summarizer." in text:
        return sorted(RECURRENT_ALGOS)
    if "ConvolutionalSAC." in text or "use_aug_for_img" in text:
        return sorted(IMAGE_ALGOS)
    named = sorted({algo for section, algo in SECTIONS.items() if f"\n{section}" in "\n" + text})
    return named or sorted(VECTOR_ALGOS)


def test_every_config_folder_is_covered():
    assert len(CONFIGS) >= 29 and {p.parent.name for p in CONFIGS} >= {"configs", "test", "reproduce_sb3"}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(ROOT / "configs")))
def test_shipped_gin_file_parses_and_builds_its_agents(path):
    parse_gin(path, [])
    algos = intended_algos(path.read_text())
    for algo in algos:
        if algo in IMAGE_ALGOS:
            agent = make_agent(algo, IMAGE_SHAPE, ACTION_DIM)
        else:
            agent = make_agent(algo, OBS_DIM, ACTION_DIM)
        assert agent.name == algo
    if algos[0] in RECURRENT_ALGOS:
        buffer = RecurrentReplayBuffer(OBS_DIM, ACTION_DIM, EPISODE_LIMIT, seed=0)
    elif algos[0] in IMAGE_ALGOS:
        buffer = ReplayBuffer(IMAGE_SHAPE, ACTION_DIM, seed=0, capacity=1)  # the gin capacity would be GBs of pixels
    else:
        buffer = ReplayBuffer((OBS_DIM,), ACTION_DIM, seed=0)
    assert buffer.batch_size >= 1
    assert "train.num_epochs" in gin.config_str()  # every file sets the schedule


GRIDS = sorted((ROOT / "configs" / "grids").glob("*.toml"))


def test_every_grid_folder_file_is_covered():
    assert len(GRIDS) >= 8


@pytest.mark.parametrize("path", GRIDS, ids=lambda p: p.name)
def test_shipped_grid_parses_and_builds_the_agent_of_every_run(path):
    """Each distinct (algo, config, bindings) of the grid parses as its runs' commands parse it and
    builds its agent; an sb3-* run's settings are read as the SB3 backend reads them."""
    from jaxpcc.grid.plan import SB3_PREFIX
    from jaxpcc.grid.spec import load_grid
    from jaxpcc.sb3 import read_settings

    for algo, config, gin_params in sorted({(r.algo, r.config, r.gin_params) for r in load_grid(path).runs}):
        parse_gin(resolve_config(config, algo), list(gin_params))
        if algo.startswith(SB3_PREFIX):
            assert read_settings(algo.removeprefix(SB3_PREFIX))
        elif algo in IMAGE_ALGOS:
            assert make_agent(algo, IMAGE_SHAPE, ACTION_DIM).name == algo
        else:
            assert make_agent(algo, OBS_DIM, ACTION_DIM).name == algo


def test_every_configurable_is_registered_before_gin_locks_and_without_the_loop():
    """The command line and the API import the loop only after gin's config is locked, so every
    configurable (tensorboard.*, earlier_checkpoints.*, train.*, ...) must already be registered."""
    code = (
        "import sys, gin\n"
        "from jaxpcc.gin_files import register_configurables\n"
        "register_configurables()\n"
        "assert 'jaxpcc.loop' not in sys.modules, 'registering imported the loop'\n"
        "gin.finalize()\n"
        "import jaxpcc.loop, jaxpcc.api, jaxpcc.cli, jaxpcc.sb3\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
