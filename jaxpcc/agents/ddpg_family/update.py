"""The family's update: the critic step, the (delayed) actor step with the targets, and their logged names."""

from __future__ import annotations

import functools
from typing import Callable, Optional

import jax
import optax

from jaxpcc.agents import recurrent as rec
from jaxpcc.agents.common import adam, apply_gradients, polyak_update, scalar_metrics
from jaxpcc.agents.ddpg_family.state import DeterministicState
from jaxpcc.agents.ddpg_family.views import LossView, sequence_view, transition_view
from jaxpcc.losses import ddpg as ddpg_losses
from jaxpcc.types import Batch, SequenceBatch

METRIC_NAMES = {
    "critic/q1_pred": "(qfunc) Q pred",
    "critic/q1_loss": "(qfunc) Q loss",
    "actor/q1_value": "(actor) Q value",
}
TWIN_METRIC_NAMES = {
    "critic/q1_pred": "(qfunc) Q1 pred",
    "critic/q2_pred": "(qfunc) Q2 pred",
    "critic/q1_loss": "(qfunc) Q1 loss",
    "critic/q2_loss": "(qfunc) Q2 loss",
    "actor/q1_value": "(actor) Q1 value",
}
# RTD3 also logs the twin critics' correlation, after their predictions (progress.csv keeps its column order).
RECURRENT_TWIN_METRIC_NAMES = {
    **{k: TWIN_METRIC_NAMES[k] for k in ("critic/q1_pred", "critic/q2_pred")},
    "critic/q1_q2_corr": "(qfunc) Q1 Q2 corr",
    **TWIN_METRIC_NAMES,
}


def actor_optimizer(config) -> optax.GradientTransformation:
    """The actor's Adam. Its k-th step is update k * policy_delay, and a learning-rate schedule
    reads the update number (the reference sets every optimizer's rate once per update)."""
    schedule, delay = config.lr_schedule, config.policy_delay
    if schedule is None or delay == 1:
        return adam(config.lr, schedule)
    return adam(config.lr, lambda k: schedule(k * delay))


def critic_step(config, view: LossView, state: DeterministicState, key: jax.Array) -> tuple[DeterministicState, dict]:
    """The critics' gradient step on the TD loss (`key` draws TD3's target smoothing noise)."""
    grads, metrics = jax.grad(ddpg_losses.critic_loss, has_aux=True)(
        view.critic,
        view.target_critic,
        view.target_actor,
        view.batch,
        key,
        actor_fn=view.actor_fn,
        critic_fn=view.critic_fn,
        gamma=config.gamma,
        target_noise=config.target_noise,
        noise_clip=config.noise_clip,
        mask=view.mask,
    )
    tx = adam(config.lr, config.lr_schedule)
    critic, critic_opt = apply_gradients(tx, state.critic, state.critic_opt, view.critic_grads(grads))
    if view.twin_correlation:
        metrics = {**metrics, **rec.twin_correlation(metrics, view.mask)}
    return state.replace(critic=critic, critic_opt=critic_opt), metrics


def actor_step(config, view: LossView, state: DeterministicState) -> tuple[DeterministicState, dict]:
    """The actor's gradient step against the updated first critic, then Polyak on every target."""
    grads, metrics = jax.grad(ddpg_losses.actor_loss, has_aux=True)(
        view.actor, view.first_critic(state.critic), view.batch, actor_fn=view.actor_fn, critic_fn=view.critic_fn, mask=view.mask
    )
    actor, actor_opt = apply_gradients(actor_optimizer(config), state.actor, state.actor_opt, view.actor_grads(grads))
    new_state = state.replace(
        actor=actor,
        actor_opt=actor_opt,
        target_actor=polyak_update(state.target_actor, actor, config.polyak),
        target_critic=polyak_update(state.target_critic, state.critic, config.polyak),
        actor_q_value=metrics["actor/q1_value"],
    )
    return new_state, metrics


def _no_actor_step(state: DeterministicState) -> tuple[DeterministicState, dict]:
    return state, {"actor/q1_value": state.actor_q_value}


def _update(make_view: Callable, config, state: DeterministicState, batch, actor_due: Optional[bool]):
    """One update; `actor_due` True/False fixes whether the delayed actor step runs, None decides by step."""
    key, noise_key = jax.random.split(state.key)
    view = make_view(config, state, batch)
    new_state, critic_metrics = critic_step(config, view, state, noise_key)
    if actor_due is None and config.policy_delay == 1:
        actor_due = True
    if actor_due is None:
        due = (state.step + 1) % config.policy_delay == 0
        new_state, actor_metrics = jax.lax.cond(due, functools.partial(actor_step, config, view), _no_actor_step, new_state)
    elif actor_due:
        new_state, actor_metrics = actor_step(config, view, new_state)
    else:
        new_state, actor_metrics = _no_actor_step(new_state)
    new_state = new_state.replace(key=key, step=state.step + 1)
    return new_state, scalar_metrics({**critic_metrics, **actor_metrics})


def update(config, state: DeterministicState, batch: Batch) -> tuple[DeterministicState, dict]:
    """One critic step on transitions; an actor step and target update every `policy_delay` steps."""
    return _update(transition_view, config, state, batch, actor_due=None)


def update_recurrent(config, state: DeterministicState, batch: SequenceBatch) -> tuple[DeterministicState, dict]:
    """The same update on sequences, through the summarizers."""
    return _update(sequence_view, config, state, batch, actor_due=None)


def delayed_update(config, state: DeterministicState, batch: Batch, actor_due: bool) -> tuple[DeterministicState, dict]:
    """One update on transitions whose delayed actor step runs or not as `actor_due` (static) says.

    Blocks of updates place the delayed step this way (`common.phased_updates`, from the phase the
    host knows) instead of behind a `lax.cond` in every step: on XLA:CPU the branch cost TD3 about
    15% of its updates/s at batch 100 (its skip branch copies the actor, its optimizer state and
    both targets).
    """
    return _update(transition_view, config, state, batch, actor_due=actor_due)


def delayed_update_recurrent(config, state: DeterministicState, batch: SequenceBatch, actor_due: bool):
    """`delayed_update` on sequences, through the summarizers."""
    return _update(sequence_view, config, state, batch, actor_due=actor_due)
