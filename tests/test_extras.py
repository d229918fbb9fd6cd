"""Missing optional modules are named with the extra that brings them."""

import gymnasium
import pytest

from jaxpcc.extras import EXTRA_OF_MODULE, MissingExtraError, missing_extra


def gin_style(err: ImportError) -> ImportError:
    """An ImportError re-raised as gin does it: a subclass instance whose own `name` is unset."""
    proxy_type = type("Proxy", (type(err),), {"__init__": lambda self: None, "__str__": lambda self: str(err) + " in call to 'train'"})
    return proxy_type()


@pytest.mark.parametrize(
    "err, extra",
    [
        (ModuleNotFoundError("No module named 'dm_control'", name="dm_control"), "dmc"),
        (ModuleNotFoundError("No module named 'pybullet_envs_gymnasium.envs'", name="pybullet_envs_gymnasium.envs"), "pybullet"),
        (gin_style(ModuleNotFoundError("No module named 'wandb'", name="wandb")), "wandb"),
        (gin_style(ModuleNotFoundError("import of tensorboardX halted; None in sys.modules")), "tensorboard"),
        (gymnasium.error.DependencyNotInstalled('pygame is not installed, run `pip install "gymnasium[classic-control]"`'), "render"),
        (gymnasium.error.DependencyNotInstalled('MuJoCo is not installed, run `pip install "gymnasium[mujoco]"`'), "dmc"),
    ],
)
def test_the_extra_is_named_with_its_install_command(err, extra):
    found = missing_extra(err)
    assert isinstance(found, MissingExtraError)
    assert f"'{extra}' extra" in str(found) and f"pip install 'jaxpcc[{extra}]'" in str(found)


def test_other_import_errors_are_left_alone():
    assert missing_extra(ModuleNotFoundError("No module named 'my_typo'", name="my_typo")) is None
    assert missing_extra(ImportError("cannot import name 'x' from 'numpy'")) is None


def test_every_extra_named_exists_in_pyproject():
    import tomllib
    from pathlib import Path

    extras = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert {extra for extra, _ in EXTRA_OF_MODULE.values()} <= set(extras)
