"""One place that turns an environment id into a ready-to-train gymnasium env.

Every env made here has actions rescaled to [-1, 1] (all actors output in that box) and a
`TimeLimit` as its outermost wrapper, so `terminated` and `truncated` keep their gymnasium
meanings: the training loop bootstraps through truncation.
"""

from __future__ import annotations

import difflib
from typing import Optional

import gymnasium
import numpy as np
from gymnasium.wrappers import RescaleAction, TimeLimit

from jaxpcc.envs import domains  # noqa: F401  (registers the custom ids)


class UnknownEnvError(ValueError):
    """An env id that neither gymnasium nor jaxpcc knows."""


def env_ids() -> list[str]:
    """Every id that `make_env` accepts, sorted."""
    return sorted(gymnasium.registry.keys())


def close_matches(env_id: str, n: int = 5) -> list[str]:
    ids = env_ids()
    lowered = {i.lower(): i for i in ids}
    found = difflib.get_close_matches(env_id.lower(), list(lowered), n=n, cutoff=0.6)
    return [lowered[f] for f in found]


def check_env_id(env_id: str) -> None:
    """Raises UnknownEnvError, naming close matches, for an id nobody registered."""
    if env_id in gymnasium.registry:
        return
    matches = close_matches(env_id)
    hint = f" Did you mean: {', '.join(matches)}?" if matches else ""
    raise UnknownEnvError(
        f"unknown env '{env_id}'.{hint} `python main.py --list-envs` prints every valid id."
    )


def is_image_env(env_id: str) -> bool:
    """Image envs have 3-D (C, H, W) observations and need an image algorithm."""
    return "-img-" in env_id


def make_env(env_id: str, seed: Optional[int] = None, render_mode: Optional[str] = None) -> gymnasium.Env:
    """Builds `env_id` with actions in [-1, 1] and the time limit outermost.

    Args:
      env_id: a gymnasium id or one of jaxpcc's custom ids (`env_ids()` lists them).
      seed: seeds the action and observation spaces; episodes are seeded at `reset(seed=...)`.
      render_mode: passed to gymnasium ("rgb_array" for recording, "human" for a window).
    """
    check_env_id(env_id)
    kwargs = {} if render_mode is None else {"render_mode": render_mode}
    env = gymnasium.make(env_id, **kwargs)
    max_steps = env.spec.max_episode_steps if env.spec is not None else None
    inner = env.env if isinstance(env, TimeLimit) else env
    if isinstance(inner.action_space, gymnasium.spaces.Box) and not (
        np.all(inner.action_space.low == -1) and np.all(inner.action_space.high == 1)
    ):
        inner = RescaleAction(inner, -1.0, 1.0)
    if max_steps is not None:
        env = TimeLimit(inner, max_episode_steps=max_steps)
    else:
        env = inner
    if seed is not None:
        env.action_space.seed(seed)
        env.observation_space.seed(seed)
    return env


def max_episode_steps(env: gymnasium.Env) -> int:
    """The episode length limit of an env made by `make_env`."""
    steps = env.spec.max_episode_steps if env.spec is not None else None
    if steps is None and isinstance(env, TimeLimit):
        steps = env._max_episode_steps
    if steps is None:
        raise ValueError(f"env {env} has no time limit; jaxpcc needs one")
    return int(steps)
