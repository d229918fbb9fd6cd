"""Optional features and the pip extra that brings each (pyproject.toml's optional-dependencies).

The core install trains the pendulum envs; simulators, renderers and trackers come with extras.
A missing one is reported as one line naming the extra to install, never as an import traceback.
"""

from __future__ import annotations

import contextlib
import re
import sys
from typing import Iterator, Optional

# Top-level module -> (extra, what needs it).
EXTRA_OF_MODULE: dict[str, tuple[str, str]] = {
    "mujoco": ("dmc", "a MuJoCo env"),
    "dm_control": ("dmc", "a dm_control env"),
    "pybullet": ("pybullet", "a PyBullet env"),
    "pybullet_envs_gymnasium": ("pybullet", "a PyBullet locomotion env"),
    "pybullet_utils": ("pybullet", "a PyBullet env"),
    "pygame": ("render", "rendering this env"),
    "imageio": ("render", "--record"),
    "imageio_ffmpeg": ("render", "--record"),
    "matplotlib": ("plot", "plotting learning curves"),
    "wandb": ("wandb", "logging to wandb"),
    "tensorboardX": ("tensorboard", "writing TensorBoard logs"),
    "ray": ("cluster", "running grids with Ray"),
    "torch": ("bench", "the PyTorch side of the benchmarks"),
    "stable_baselines3": ("bench", "the stable-baselines3 backend"),
}


class MissingExtraError(ImportError):
    """An optional feature was asked for without the extra that provides it."""


def install_hint(extra: str) -> str:
    return f"pip install 'jaxpcc[{extra}]'"


def missing_extra(err: ImportError) -> Optional[MissingExtraError]:
    """The MissingExtraError for an ImportError of an optional module; None for any other."""
    if isinstance(err, MissingExtraError):
        return err
    # The module's name: the error's own, or from its message when the error was re-raised
    # through a wrapper that drops it (gin's), or gymnasium's DependencyNotInstalled ("pygame is ...").
    named = re.search(r"No module named '([^']+)'|import of (\S+) halted", str(err))
    name = getattr(err, "name", None) or (named.group(named.lastindex) if named else (str(err).split() or [""])[0])
    name = name.split(".")[0]
    by_lowercase = {module.lower(): module for module in EXTRA_OF_MODULE}  # gymnasium writes "MuJoCo is not installed"
    if name.lower() not in by_lowercase:
        return None
    name = by_lowercase[name.lower()]
    extra, what = EXTRA_OF_MODULE[name]
    return MissingExtraError(f"{what} needs the '{extra}' extra ({name} is not installed): {install_hint(extra)}")


@contextlib.contextmanager
def extras_named() -> Iterator[None]:
    """An optional module's ImportError becomes a MissingExtraError naming the extra to install."""
    try:
        yield
    except ImportError as err:
        missing = missing_extra(err)
        if missing is None:
            raise
        raise missing from err


def report_missing_extra(err: ImportError) -> int:
    """A command's answer to an ImportError: one line naming the extra to install, exit status 2.
    The ImportError of a module that no extra provides is a bug, and propagates."""
    missing = missing_extra(err)
    if missing is None:
        raise err
    print(f"error: {missing}", file=sys.stderr)
    return 2
