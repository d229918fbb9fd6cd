"""Environments: the registry and every custom domain, as gymnasium envs (no JAX here)."""

from jaxpcc.envs.catalog import EnvInfo, describe_envs
from jaxpcc.envs.registry import (
    UnknownEnvError,
    check_env_id,
    close_matches,
    env_ids,
    is_image_env,
    make_env,
    max_episode_steps,
)

__all__ = [
    "EnvInfo",
    "UnknownEnvError",
    "check_env_id",
    "close_matches",
    "describe_envs",
    "env_ids",
    "is_image_env",
    "make_env",
    "max_episode_steps",
]
