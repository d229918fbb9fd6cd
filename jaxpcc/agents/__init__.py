"""Agents: one module per algorithm, and the name -> factory registry."""

from typing import Callable, Sequence

import numpy as np

from jaxpcc.agents import csac, ddpg, rdpg, rsac, rsac_s, rtd3, sac, td3
from jaxpcc.agents.common import Agent, mlp_hidden_sizes

# Algorithms for vector observations, by command-line name.
VECTOR_ALGOS: dict[str, Callable[..., Agent]] = {
    "ddpg": ddpg.make_agent,
    "td3": td3.make_agent,
    "sac": sac.make_agent,
}

# Recurrent algorithms (issue 4) and image algorithms (issue 6) register here as they land.
RECURRENT_ALGOS: dict[str, Callable[..., Agent]] = {
    "rdpg": rdpg.make_agent,
    "rtd3": rtd3.make_agent,
    "rsac": rsac.make_agent,
    "rsac_s": rsac_s.make_agent,
}
# Image algorithms take the observation shape (C, H, W) where the others take its flat size.
IMAGE_ALGOS: dict[str, Callable[..., Agent]] = {
    "csac": csac.make_agent,
}

ALGOS: dict[str, Callable[..., Agent]] = {**VECTOR_ALGOS, **RECURRENT_ALGOS, **IMAGE_ALGOS}


def make_agent(algo: str, obs_shape: int | Sequence[int], action_dim: int, **overrides) -> Agent:
    """The agent registered as `algo`, with the gin-configured MLP widths.

    `obs_shape` is the env's observation shape (or already its flat size): image algorithms
    receive it as (C, H, W), the others as the flat size. Keyword `overrides` set fields of the
    algorithm's config (`lr=1e-3`, `hidden_sizes=(64, 64)`) above their gin bindings.
    """
    if algo not in ALGOS:
        raise ValueError(f"unknown algo '{algo}'; valid: {', '.join(sorted(ALGOS))}")
    if algo in IMAGE_ALGOS:
        if np.ndim(obs_shape) != 1 or len(obs_shape) != 3:
            raise ValueError(f"'{algo}' needs (C, H, W) image observations, got shape {obs_shape}")
        obs = tuple(int(d) for d in obs_shape)
    else:
        obs = int(np.prod(obs_shape))
    hidden_sizes = tuple(overrides.pop("hidden_sizes", None) or mlp_hidden_sizes())
    return ALGOS[algo](obs, action_dim, hidden_sizes, **overrides)


__all__ = ["ALGOS", "IMAGE_ALGOS", "RECURRENT_ALGOS", "VECTOR_ALGOS", "Agent", "make_agent"]
