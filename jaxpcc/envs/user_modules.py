"""Users' envs: `module:EnvId-v0` ids (gymnasium's convention) and factories of envs.

The module of a `module:id` is imported as `python -m` would find it (the current directory,
then installed packages); importing it registers the id with gymnasium, and jaxpcc then uses the
plain id. A factory is registered under an id of its own name.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import sys
from typing import Callable, Iterator, Optional, Union

import gymnasium

EnvSpec = Union[str, Callable[[], gymnasium.Env]]


class EnvModuleError(ValueError):
    """The module named before the colon of an env id cannot be imported."""


@contextlib.contextmanager
def _cwd_importable() -> Iterator[None]:
    cwd = os.getcwd()
    added = cwd not in sys.path and "" not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        yield
    finally:
        if added and cwd in sys.path:
            sys.path.remove(cwd)


def split_env_id(env_id: str) -> tuple[str | None, str]:
    """'my_pkg.envs:MyEnv-v0' -> ('my_pkg.envs', 'MyEnv-v0'); a plain id -> (None, id)."""
    module, sep, name = env_id.partition(":")
    return (module, name) if sep else (None, env_id)


def resolve_env_id(env_id: str) -> str:
    """Imports the module of a `module:id` env id (which registers the env) and returns the plain id."""
    module, name = split_env_id(env_id)
    if module is None:
        return env_id
    if not module or not name:
        raise EnvModuleError(f"env '{env_id}' should read 'module:EnvId', e.g. my_pkg.envs:MyEnv-v0")
    try:
        with _cwd_importable():
            importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name is not None and module.startswith(err.name):
            raise EnvModuleError(
                f"cannot import module '{module}' of env '{env_id}': put it in the current directory, "
                "install its package, or add its folder to PYTHONPATH"
            ) from err
        raise
    return name


def env_id_of(env: EnvSpec) -> str:
    """A gymnasium id for `env`: a registered id, a `module:id` string, or a factory of envs.

    A factory (a class or function returning a fresh `gymnasium.Env`) is registered under
    '<its name>-v0', with the time limit of the env it builds; jaxpcc builds separate train and
    test copies, which is why an env instance is not accepted.
    """
    from jaxpcc.envs.registry import check_env_id  # registry imports this module

    if isinstance(env, str):
        check_env_id(env)
        return resolve_env_id(env)
    if isinstance(env, gymnasium.Env):
        raise TypeError(
            "pass a factory of envs (e.g. the env's class, or `lambda: MyEnv()`), not an env instance: "
            "jaxpcc builds its own train and test copies"
        )
    if not callable(env):
        raise TypeError(f"env must be an id, a 'module:id' string or a factory of envs, got {type(env).__name__}")
    name = re.sub(r"[^\w.-]", "_", getattr(env, "__name__", type(env).__name__)).strip("_") or "env"
    env_id = f"{name}-v0"
    probe = env()
    if not isinstance(probe, gymnasium.Env):
        raise TypeError(f"env factory {name} returned a {type(probe).__name__}, not a gymnasium.Env")
    steps = _time_limit(probe)
    probe.close()
    gymnasium.registry.pop(env_id, None)  # a new factory of the same name replaces the old one
    gymnasium.register(id=env_id, entry_point=env, max_episode_steps=steps)
    return env_id


def _time_limit(env: gymnasium.Env) -> Optional[int]:
    while env is not None:
        if isinstance(env, gymnasium.wrappers.TimeLimit):
            return int(env._max_episode_steps)
        env = getattr(env, "env", None)
    return None
