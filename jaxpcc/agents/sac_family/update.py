"""The SAC family's one update (critics, actor, temperature, targets) and its logged names.

A variant builds a `SoftLossView` of its state and batch: the networks as the losses see them and
the way their gradients go back to the state. The steps here are then the same for all four.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Optional

import jax
import jax.numpy as jnp

from jaxpcc.agents import recurrent as rec
from jaxpcc.agents.common import adam, apply_gradients, polyak_update, scalar_metrics
from jaxpcc.agents.sac_family.state import optimizers
from jaxpcc.losses import sac as sac_losses
from jaxpcc.types import Batch

METRIC_NAMES = {
    "critic/q1_pred": "(qfunc) Q1 pred",
    "critic/q2_pred": "(qfunc) Q2 pred",
    "critic/q1_loss": "(qfunc) Q1 loss",
    "critic/q2_loss": "(qfunc) Q2 loss",
    "actor/min_q_value": "(actor) min Q value",
    "actor/entropy": "(actor) entropy (sample)",
    "alpha/value": "(alpha) alpha",
    "alpha/loss": "(alpha) log alpha loss",
}
RECURRENT_METRIC_NAMES = {**METRIC_NAMES, "critic/q1_q2_corr": "(qfunc) Q1 Q2 corr"}


def step_critic(config, state, grads):
    """The critics' optimizer step on `state.critic` (with the actor's optimizer settings)."""
    net_tx, _ = optimizers(config)
    critic, critic_opt = apply_gradients(net_tx, state.critic, state.critic_opt, grads)
    return state.replace(critic=critic, critic_opt=critic_opt)


def _unchanged(grads):
    return grads


def _critic(state):
    return state.critic


@dataclasses.dataclass(frozen=True)
class SoftLossView:
    """One update's networks as the losses see them, and the way back to the state's parameters.

    Attributes:
      critic, target_critic: the critic loss's trained parameters and their targets.
      next_actor: the actor that samples a' in the critic loss's target (no gradient).
      actor: the actor loss's parameters.
      batch: the losses' batch; mask: its validity mask (None for transitions).
      actor_fn, critic_fn: the losses' apply functions.
      critic_loss: the critic loss with its variant's own arguments bound (CSAC's encoder, a mask).
      critic_grads, actor_grads: a loss's gradient -> the gradient of the state's parameters.
      step_critic: (config, state, critic gradient) -> the state after the critics' optimizer step.
      actor_critic: that state -> the (updated) critics as the actor loss reads them.
      actor_batch: the critic loss's metrics -> the actor loss's batch (None: `batch`).
      targets: the state's networks whose `target_<name>` follows them by Polyak averaging.
      twin_correlation: log the twin critics' correlation (the recurrent variants do).
    """

    critic: Any
    target_critic: Any
    next_actor: Any
    actor: Any
    batch: Batch
    actor_fn: Callable
    critic_fn: Callable
    mask: Optional[jax.Array] = None
    critic_loss: Callable = sac_losses.critic_loss
    critic_grads: Callable = _unchanged
    actor_grads: Callable = _unchanged
    step_critic: Callable = step_critic
    actor_critic: Callable = _critic
    actor_batch: Optional[Callable] = None
    targets: tuple[str, ...] = ("critic",)
    twin_correlation: bool = False


def temperature_step(config, state, log_pi: jax.Array, mask: Optional[jax.Array] = None):
    """The temperature loss on the actor's log-probs; log-alpha steps only when autotuning.

    `state` is any SAC variant's state (its `log_alpha` and `alpha_opt` step). Log-alpha's Adam
    has no lr schedule. Returns (state, metrics), with `alpha/value` the temperature after the step.
    """
    grads, metrics = jax.grad(sac_losses.temperature_loss, has_aux=True)(
        state.log_alpha, log_pi, target_entropy=config.entropy_target, mask=mask
    )
    if config.autotune_alpha:
        log_alpha, alpha_opt = apply_gradients(adam(config.lr), state.log_alpha, state.alpha_opt, grads)
        state = state.replace(log_alpha=log_alpha, alpha_opt=alpha_opt)
    # as the reference logs it: `get_current_alpha()` at the end of its update
    return state, {**metrics, "alpha/value": jnp.exp(state.log_alpha)}


def update(config, state, batch, make_view: Callable, view_keys: int = 0):
    """One gradient step of any SAC variant: critics, actor, temperature, targets.

    `make_view(config, state, batch, *keys)` builds the variant's `SoftLossView`; it receives
    `view_keys` keys, split from the state's key before the critic's and the actor's (CSAC's
    augmentation key). Returns (state, scalar metrics).
    """
    key, *keys = jax.random.split(state.key, 3 + view_keys)
    *own_keys, critic_key, actor_key = keys
    view = make_view(config, state, batch, *own_keys)
    fns = dict(actor_fn=view.actor_fn, critic_fn=view.critic_fn, alpha=jnp.exp(state.log_alpha))

    grads, critic_metrics = jax.grad(view.critic_loss, has_aux=True)(
        view.critic, view.target_critic, view.next_actor, view.batch, critic_key, gamma=config.gamma, **fns
    )
    new_state = view.step_critic(config, state, view.critic_grads(grads))

    actor_batch = view.batch if view.actor_batch is None else view.actor_batch(critic_metrics)
    grads, actor_metrics = jax.grad(sac_losses.actor_loss, has_aux=True)(
        view.actor, view.actor_critic(new_state), actor_batch, actor_key, mask=view.mask, **fns
    )
    net_tx, _ = optimizers(config)
    actor, actor_opt = apply_gradients(net_tx, state.actor, state.actor_opt, view.actor_grads(grads))

    new_state, alpha_metrics = temperature_step(
        config, new_state.replace(actor=actor, actor_opt=actor_opt), actor_metrics["actor/log_pi"], view.mask
    )
    targets = {
        f"target_{name}": polyak_update(getattr(state, f"target_{name}"), getattr(new_state, name), config.polyak)
        for name in view.targets
    }
    new_state = new_state.replace(**targets, key=key, step=state.step + 1)
    twin = rec.twin_correlation(critic_metrics, view.mask) if view.twin_correlation else {}
    return new_state, scalar_metrics({**critic_metrics, **twin, **actor_metrics, **alpha_metrics})
