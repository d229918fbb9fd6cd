"""Agents: one module per algorithm, and the name -> factory registry."""

from typing import Callable

from jaxpcc.agents import ddpg, sac, td3
from jaxpcc.agents.common import Agent, mlp_hidden_sizes

# Algorithms for vector observations, by command-line name.
VECTOR_ALGOS: dict[str, Callable[..., Agent]] = {
    "ddpg": ddpg.make_agent,
    "td3": td3.make_agent,
    "sac": sac.make_agent,
}

# Recurrent algorithms (issue 4) and image algorithms (issue 6) register here as they land.
RECURRENT_ALGOS: dict[str, Callable[..., Agent]] = {}
IMAGE_ALGOS: dict[str, Callable[..., Agent]] = {}

ALGOS: dict[str, Callable[..., Agent]] = {**VECTOR_ALGOS, **RECURRENT_ALGOS, **IMAGE_ALGOS}


def make_agent(algo: str, obs_dim: int, action_dim: int, **overrides) -> Agent:
    """The agent registered as `algo`, with the gin-configured MLP widths."""
    if algo not in ALGOS:
        raise ValueError(f"unknown algo '{algo}'; valid: {', '.join(sorted(ALGOS))}")
    return ALGOS[algo](obs_dim, action_dim, mlp_hidden_sizes(), **overrides)


__all__ = ["ALGOS", "IMAGE_ALGOS", "RECURRENT_ALGOS", "VECTOR_ALGOS", "Agent", "make_agent"]
