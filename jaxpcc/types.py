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


class SequenceBatch(NamedTuple):
    """A batch of episode sequences for recurrent agents (a leading [K] axis for K batches).

    obs: [B, T+1, O], the observations o_0 .. o_T (o_T is the last step's next observation);
    action, reward, done, mask: [B, T, A] / [B, T]; mask is 1 on valid steps, 0 on padding.
    burn_in_obs: [B, N, O] observations preceding a segment, read without gradient to build the
      starting carry, or None; burn_in_mask: [B, N], 1 where those observations exist.
    """

    obs: Any
    action: Any
    reward: Any
    done: Any
    mask: Any
    burn_in_obs: Any = None
    burn_in_mask: Any = None
