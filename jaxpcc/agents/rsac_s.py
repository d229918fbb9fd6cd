"""Recurrent SAC with one shared summarizer (the reference's `RecurrentSACSharing`, "rsac_s").

DrQ-style sharing: a single summarizer (with a target) feeds the actor and both critics, and only
the critic losses train it (the sum of both critics' gradients, one step). The next action of the
target is sampled from the actor on the *target* summary; the actor reads the online summary
through `stop_gradient`. Otherwise as RSAC (`rsac.py`), including the masked temperature loss.
"""

from __future__ import annotations

import dataclasses
import functools

import flax
import gin
import jax
import optax

from jaxpcc.agents import recurrent as rec
from jaxpcc.agents.common import apply_gradients, build_agent
from jaxpcc.agents.recurrent import SummarizerConfig
from jaxpcc.agents.sac_family import update as family
from jaxpcc.agents.sac_family.settings import RecurrentSACSettings
from jaxpcc.agents.sac_family.state import initial_state, optimizers, recurrent_heads, tanh_gaussian_action
from jaxpcc.losses import sac as sac_losses
from jaxpcc.networks import critic_ensemble
from jaxpcc.types import SequenceBatch


@gin.configurable("RecurrentSACSharing")
@dataclasses.dataclass(frozen=True)
class RSACSharingConfig(RecurrentSACSettings):
    """The same hyper-parameters as RSAC (gin names `RecurrentSACSharing.*`): `RecurrentSACSettings`'."""


@flax.struct.dataclass
class RSACSharingState:
    """The shared summarizer and its target; actor head; twin critic heads (stacked) and targets."""

    summarizer: dict
    target_summarizer: dict
    actor: dict
    critic: dict
    target_critic: dict
    log_alpha: jax.Array
    actor_opt: optax.OptState
    critic_opt: optax.OptState
    alpha_opt: optax.OptState
    key: jax.Array
    step: jax.Array


def init(config: RSACSharingConfig, key: jax.Array) -> RSACSharingState:
    actor_head, _ = recurrent_heads(config, obs_axis=None)
    cfg = config.summarizer
    key, k1, k2, k3 = jax.random.split(key, 4)
    summarizer = rec.init_summarizer(cfg, k1, config.obs_dim)
    actor = rec.init_head(actor_head, k2, cfg.hidden_dim)
    critic = rec.init_head(critic_ensemble(config.hidden_sizes, 2), k3, cfg.hidden_dim, config.action_dim)
    net_tx, _ = optimizers(config)
    return initial_state(
        config, key, actor, critic, RSACSharingState,
        summarizer=summarizer, target_summarizer=summarizer,
        critic_opt=net_tx.init({"summarizer": summarizer, "head": critic}),
    )


def act(config, state: RSACSharingState, carry, obs: jax.Array, key: jax.Array, deterministic: bool):
    """One step through the shared summarizer carrying its state; returns (action, carry)."""
    actor_head, _ = recurrent_heads(config, obs_axis=None)
    summary, carry = rec.step_summary(config.summarizer, state.summarizer, carry, obs)
    return tanh_gaussian_action(*actor_head.apply(state.actor, summary), key, deterministic), carry


def step_critic(config, state: RSACSharingState, grads: dict) -> RSACSharingState:
    """One optimizer step of the shared summarizer and the critic heads together."""
    net_tx, _ = optimizers(config)
    trained = {"summarizer": state.summarizer, "head": state.critic}
    trained, critic_opt = apply_gradients(net_tx, trained, state.critic_opt, grads)
    return state.replace(summarizer=trained["summarizer"], critic=trained["head"], critic_opt=critic_opt)


def _head_grads(grads: dict):
    return grads["head"]


def loss_view(config, state: RSACSharingState, batch: SequenceBatch) -> family.SoftLossView:
    """The shared summarizer runs once (trained by the critic loss) and its target once; a' comes
    from the actor on the target summary; the actor reads the online summary without gradient."""
    cfg = config.summarizer
    h, pullback = rec.summary_with_pullback(lambda p: rec.summarize(cfg, p, batch), state.summarizer)
    h_target = rec.summarize(cfg, state.target_summarizer, batch)
    h_actor = jax.lax.stop_gradient(rec.current(h))

    def actor_critic(state):  # the updated heads on the summary from before the summarizer step
        return rec.on_summary(state.critic, h_actor)

    return family.SoftLossView(
        critic=rec.on_summary(state.critic, rec.current(h)),
        target_critic=rec.on_summary(state.target_critic, rec.following(h_target)),
        next_actor=rec.on_summary(state.actor, rec.following(h_target)),
        actor=rec.on_summary(state.actor, h_actor),
        batch=rec.loss_batch(batch),
        mask=batch.mask,
        **rec.loss_fns(*recurrent_heads(config, obs_axis=None)),
        critic_loss=functools.partial(sac_losses.critic_loss, mask=batch.mask),
        critic_grads=functools.partial(rec.params_grads, pullback),
        actor_grads=_head_grads,
        step_critic=step_critic,
        actor_critic=actor_critic,
        targets=("summarizer", "critic"),
        twin_correlation=True,
    )


def update(config, state: RSACSharingState, batch: SequenceBatch) -> tuple[RSACSharingState, dict]:
    """One gradient step: shared summarizer + critic heads, actor head, temperature, targets."""
    return family.update(config, state, batch, loss_view)


def policy(state: RSACSharingState) -> dict:
    """The shared summarizer and the actor head, saved together in policy.npz."""
    return {"summarizer": state.summarizer, "actor": state.actor}


def make_agent(obs_dim: int, action_dim: int, hidden_sizes: tuple[int, ...], **overrides):
    """RSAC with a shared summarizer, bound to its gin-configured hyper-parameters."""
    overrides.setdefault("summarizer", SummarizerConfig())
    config = RSACSharingConfig(obs_dim=obs_dim, action_dim=action_dim, hidden_sizes=hidden_sizes, **overrides)
    return build_agent(
        "rsac_s", config, init=init, act=act, update=update, policy=policy, metric_names=family.RECURRENT_METRIC_NAMES,
        initial_carry=rec.initial_carry,
    )
