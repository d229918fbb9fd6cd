"""What the family's losses see of the networks: the one difference between transitions and sequences."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, Optional

import jax

from jaxpcc.agents import recurrent as rec
from jaxpcc.agents.common import first_member
from jaxpcc.agents.ddpg_family.state import DeterministicState, networks, recurrent_heads
from jaxpcc.types import Batch, SequenceBatch


@dataclasses.dataclass(frozen=True)
class LossView:
    """One update's networks as the losses see them, and the way back to the state's parameters.

    Attributes:
      actor, critic, target_actor, target_critic: the losses' parameters (the state's networks
        for transitions; {"head", "summary"} for sequences).
      batch, mask: the losses' batch and its validity mask (None for transitions).
      actor_fn, critic_fn: the losses' apply functions.
      actor_grads, critic_grads: a loss's gradient -> the gradient of the state's actor / critic.
      first_critic: the state's (updated) critic -> Q_1 alone as the actor loss reads it.
      twin_correlation: log the twin critics' correlation (the reference's RecurrentTD3 does).
    """

    actor: Any
    critic: Any
    target_actor: Any
    target_critic: Any
    batch: Batch
    mask: Optional[jax.Array]
    actor_fn: Callable
    critic_fn: Callable
    actor_grads: Callable
    critic_grads: Callable
    first_critic: Callable
    twin_correlation: bool = False


def _unchanged(grads):
    return grads


def transition_view(config, state: DeterministicState, batch: Batch) -> LossView:
    actor_net, critic_net = networks(config)
    return LossView(
        actor=state.actor,
        critic=state.critic,
        target_actor=state.target_actor,
        target_critic=state.target_critic,
        batch=batch,
        mask=None,
        actor_fn=actor_net.apply,
        critic_fn=critic_net.apply,
        actor_grads=_unchanged,
        critic_grads=_unchanged,
        first_critic=first_member,
    )


def sequence_view(config, state: DeterministicState, batch: SequenceBatch) -> LossView:
    """Each summarizer runs once over the batch; the trained ones keep their pull-backs."""
    cfg = config.summarizer
    h_actor, actor_pullback = rec.summary_with_pullback(
        lambda p: rec.summarize(cfg, p, batch), state.actor["summarizer"]
    )
    h_critic, critic_pullback = rec.summary_with_pullback(
        lambda p: rec.summarize_ensemble(cfg, p, batch), state.critic["summarizer"]
    )
    h_target_actor = rec.summarize(cfg, state.target_actor["summarizer"], batch)
    h_target_critic = rec.summarize_ensemble(cfg, state.target_critic["summarizer"], batch)

    def first_critic(critic):  # updated heads on the summaries from before the critic step
        return first_member(rec.on_summary(critic["head"], jax.lax.stop_gradient(rec.current(h_critic))))

    return LossView(
        actor=rec.on_summary(state.actor["head"], rec.current(h_actor)),
        critic=rec.on_summary(state.critic["head"], rec.current(h_critic)),
        target_actor=rec.on_summary(state.target_actor["head"], rec.following(h_target_actor)),
        target_critic=rec.on_summary(state.target_critic["head"], rec.following(h_target_critic)),
        batch=rec.loss_batch(batch),
        mask=batch.mask,
        **rec.loss_fns(*recurrent_heads(config)),
        actor_grads=functools.partial(rec.params_grads, actor_pullback),
        critic_grads=functools.partial(rec.params_grads, critic_pullback),
        first_critic=first_critic,
        twin_correlation=config.num_critics == 2,
    )
