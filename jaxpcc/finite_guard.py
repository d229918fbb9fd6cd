"""Stops a diverging run before it writes: every epoch's parameters and losses must be finite.

The check runs once per epoch, just before the epoch is committed: one jitted reduction of the
whole train state (parameters, targets, optimizer moments) to a single flag on the device, read
once, and a look at the epoch's losses, which the loop fetches to the host anyway. The update loop
itself is unchanged, so it costs nothing per update. NaN never turns back into a number through
an update, so checking at the epoch's end catches every divergence inside it.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np


class DivergedError(RuntimeError):
    """The run's losses or parameters stopped being finite; nothing of the epoch was written."""


@jax.jit
def _finite_flags(tree) -> jax.Array:
    """[N] flags, one per seed stacked along every leaf's leading axis: all its floats are finite."""
    leaves = [x for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.inexact)]
    per_leaf = [jnp.all(jnp.isfinite(x.reshape(x.shape[0], -1)), axis=1) for x in leaves]
    return jnp.all(jnp.stack(per_leaf), axis=0)


def finite_seeds(state, host_metrics: Sequence, num_seeds: int) -> np.ndarray:
    """[num_seeds] bools: whether each seed's state and epoch metrics are all finite.

    Args:
      state: the train state, seeds stacked on a leading axis when `num_seeds` > 1.
      host_metrics: the epoch's metric dicts as host arrays (a leading seed axis when stacked).
    """
    stacked = state if num_seeds > 1 else jax.tree.map(lambda x: jnp.asarray(x)[None], state)
    ok = np.asarray(_finite_flags(stacked)).copy()
    for metrics in host_metrics:
        for value in jax.tree.leaves(metrics):
            value = np.asarray(value)
            if np.issubdtype(value.dtype, np.inexact):
                ok &= np.isfinite(value.reshape(num_seeds, -1)).all(axis=1)
    return ok


def divergence_message(run_dirs: Sequence, epoch: int, last_good_epoch: int, lr_name: str) -> str:
    """The one-line explanation: what happened, what survived, how to continue.

    `lr_name` is the gin name of the agent's learning rate (e.g. "SAC.lr").
    """
    where = ", ".join(str(d) for d in run_dirs)
    if last_good_epoch == 0:
        kept = "no epoch had finished, so nothing was written; rerun with a lower learning rate to start afresh"
    else:
        kept = (
            f"the checkpoint and policy of epoch {last_good_epoch} are kept; to continue from them with a lower "
            f"learning rate, rerun with e.g. --gin_param {lr_name}=1e-4 --accept_change {lr_name}"
        )
    return f"training diverged in epoch {epoch} of {where}: losses or parameters are NaN or infinite; {kept}"
