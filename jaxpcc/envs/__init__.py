"""Environments: the registry and every custom domain, as gymnasium envs (no JAX here)."""

from jaxpcc.envs.catalog import EnvInfo, describe_envs
from jaxpcc.envs.suitability import UnsuitableEnvError
from jaxpcc.envs.user_modules import EnvModuleError, resolve_env_id
from jaxpcc.envs.registry import (
    UnknownEnvError,
    check_env_id,
    check_trainable,
    close_matches,
    env_ids,
    is_image_env,
    make_env,
    max_episode_steps,
)

__all__ = [
    "EnvInfo",
    "EnvModuleError",
    "UnsuitableEnvError",
    "resolve_env_id",
    "UnknownEnvError",
    "check_env_id",
    "check_trainable",
    "close_matches",
    "describe_envs",
    "env_ids",
    "is_image_env",
    "make_env",
    "max_episode_steps",
]
