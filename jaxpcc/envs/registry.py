"""One place that turns an environment id into a ready-to-train gymnasium env.

Every env made here has actions rescaled to [-1, 1] (all actors output in that box) and a
`TimeLimit` as its outermost wrapper, so `terminated` and `truncated` keep their gymnasium
meanings: the training loop bootstraps through truncation.
"""

from __future__ import annotations

import contextlib
import difflib
import warnings
from typing import Iterator, Optional

import gymnasium
import numpy as np
from gymnasium.wrappers import HumanRendering, RescaleAction, TimeLimit

from jaxpcc.envs import domains  # registers the custom ids
from jaxpcc.envs.suitability import check_spaces
from jaxpcc.envs.user_modules import resolve_env_id

# gymnasium warnings that every make of a reference id would repeat and that say nothing new:
# the reference's ids are older versions of gymnasium ones ("Pendulum-v0 is out of date"),
# RescaleAction builds float64 bounds ("Box ... precision lowered"), and pybullet-envs-gymnasium
# re-registers ids jaxpcc registered first ("Overriding environment").
_QUIET_WARNINGS = (
    (DeprecationWarning, r".*is out of date"),
    (UserWarning, r".*precision lowered by casting"),
    (UserWarning, r".*Overriding environment"),
)

DEFAULT_MAX_EPISODE_STEPS = 1000


@contextlib.contextmanager
def _quiet_gymnasium() -> Iterator[None]:
    with warnings.catch_warnings():
        for category, message in _QUIET_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=category)
        yield


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
    """Raises UnknownEnvError, naming close matches, for an id nobody registered.

    A `module:id` id imports its module first (see `user_modules`).
    """
    env_id = resolve_env_id(env_id)
    if env_id in gymnasium.registry:
        return
    matches = close_matches(env_id)
    hint = f" Did you mean: {', '.join(matches)}?" if matches else ""
    raise UnknownEnvError(
        f"unknown env '{env_id}'.{hint} `python main.py --list-envs` prints every valid id."
    )


def is_image_env(env_id: str) -> bool:
    """Image envs have 3-D (C, H, W) uint8 observations and need an image algorithm.

    Exact for every jaxpcc-registered id; other gymnasium ids count as vector envs.
    """
    entry = domains.ENTRY_BY_ID.get(resolve_env_id(env_id))
    return entry is not None and entry.is_image


def _make_with_render_mode(env_id: str, render_mode: Optional[str]) -> tuple[gymnasium.Env, bool]:
    """gymnasium.make, falling back to rgb_array frames shown in a window for envs without "human".

    Returns the env and whether it still needs gymnasium's HumanRendering wrapper.
    """
    if render_mode is None:
        return gymnasium.make(env_id), False
    try:
        return gymnasium.make(env_id, render_mode=render_mode), False
    except ValueError:
        if render_mode != "human":
            raise
        return gymnasium.make(env_id, render_mode="rgb_array"), True


def make_env(env_id: str, seed: Optional[int] = None, render_mode: Optional[str] = None) -> gymnasium.Env:
    """Builds `env_id` with actions in [-1, 1] and the time limit outermost.

    Args:
      env_id: a gymnasium id or one of jaxpcc's custom ids (`env_ids()` lists them).
      seed: seeds the action and observation spaces; episodes are seeded at `reset(seed=...)`.
      render_mode: passed to gymnasium ("rgb_array" for recording, "human" for a window).
    """
    check_env_id(env_id)
    env_id = resolve_env_id(env_id)
    with _quiet_gymnasium():
        env, show_window = _make_with_render_mode(env_id, render_mode)
        max_steps = env.spec.max_episode_steps if env.spec is not None else None
        inner = env.env if isinstance(env, TimeLimit) else env
        if max_steps is None:
            max_steps = getattr(inner.unwrapped, "max_episode_steps", None) or DEFAULT_MAX_EPISODE_STEPS
        if show_window:
            inner = HumanRendering(inner)
        space = inner.action_space
        if isinstance(space, gymnasium.spaces.Box) and not (
            space.dtype == np.float32 and np.all(space.low == -1) and np.all(space.high == 1)
        ):
            inner = RescaleAction(inner, -1.0, 1.0)
        env = TimeLimit(inner, max_episode_steps=int(max_steps))
    if seed is not None:
        env.action_space.seed(seed)
        env.observation_space.seed(seed)
    return env


def check_trainable(env_id: str, image_algo: bool) -> None:
    """Builds `env_id` as registered and refuses it (UnsuitableEnvError) when no such agent can train it.

    jaxpcc's own ids are known to fit and are not built here.
    """
    check_env_id(env_id)
    env_id = resolve_env_id(env_id)
    if env_id in domains.ENTRY_BY_ID:
        return
    with _quiet_gymnasium():
        env = gymnasium.make(env_id)
    try:
        check_spaces(env_id, env.observation_space, env.action_space, image_algo)
    finally:
        env.close()


def max_episode_steps(env: gymnasium.Env) -> int:
    """The episode length limit of an env made by `make_env`."""
    steps = env.spec.max_episode_steps if env.spec is not None else None
    if steps is None and isinstance(env, TimeLimit):
        steps = env._max_episode_steps
    if steps is None:
        raise ValueError(f"env {env} has no time limit; jaxpcc needs one")
    return int(steps)
