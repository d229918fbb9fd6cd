"""Every way a user names an env: a registered id, a `module:id` string, or a factory of envs.

A factory is registered with gymnasium under an id of its own name, so that the rest of jaxpcc
(the loop, its separate train and test envs, the run folder) deals in ids alone.
"""

from __future__ import annotations

import re
from typing import Callable, Optional, Union

import gymnasium

from jaxpcc.envs.registry import check_env_id
from jaxpcc.envs.user_modules import resolve_env_id

EnvSpec = Union[str, Callable[[], gymnasium.Env]]


def env_id_of(env: EnvSpec) -> str:
    """A gymnasium id for `env`: a registered id, a `module:id` string, or a factory of envs.

    A factory (a class or function returning a fresh `gymnasium.Env`) is registered under
    '<its name>-v0', with the time limit of the env it builds; jaxpcc builds separate train and
    test copies, which is why an env instance is not accepted.
    """
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
