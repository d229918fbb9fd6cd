"""Plain containers shared between the host side (replay, train loop) and the device side."""

from typing import Any, NamedTuple


class Batch(NamedTuple):
    """A batch of transitions (a pytree; a leading [K] axis for K pre-sampled batches).

    obs: [B, *obs_shape]; action: [B, A]; reward: [B]; next_obs: [B, *obs_shape];
    done: [B], 1.0 only for a true terminal state (a time-limit truncation stores 0).
    """

    obs: Any
    action: Any
    reward: Any
    next_obs: Any
    done: Any
