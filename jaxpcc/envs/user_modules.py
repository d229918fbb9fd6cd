"""Users' envs by id: `module:EnvId-v0` (gymnasium's convention).

The module of a `module:id` is imported as `python -m` would find it (the current directory,
then installed packages); importing it registers the id with gymnasium, and jaxpcc then uses the
plain id.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from typing import Iterator


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
