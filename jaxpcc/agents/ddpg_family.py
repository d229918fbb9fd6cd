"""What the deterministic-policy agents (ddpg, td3, rdpg, rtd3) share: their settings, state, acting
and their one update, written once for transitions and for sequences. The agents import it; none
imports another.

One update: the critic(s) step on the TD loss; then, every `policy_delay`-th update, the actor
steps on -Q_1(s, mu(s)) against the *updated* first critic and every target moves by Polyak
averaging. DDPG is one critic, no target smoothing and a delay of 1; TD3 two critics, smoothing
and a delay of 2. RDPG and RTD3 run the same update on summaries (`agents/recurrent.py`): the
actor reads the critics' summaries from before the critic step, and the gradients are pulled back
into the summarizers. `LossView` holds the one difference: what the losses see of the networks.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, Optional

import flax
import jax
import jax.numpy as jnp
import optax

from jaxpcc.agents import recurrent as rec
from jaxpcc.agents.common import Agent, adam, apply_gradients, build_agent, first_member, polyak_update, scalar_metrics
from jaxpcc.agents.recurrent import SummarizerConfig
from jaxpcc.losses import ddpg as ddpg_losses
from jaxpcc.networks import DeterministicActor, EnsembleCritic, critic_ensemble
from jaxpcc.types import Batch, SequenceBatch
from jaxpcc.validation import gin_name

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


class _OneCriticNoDelay:
    """DDPG's and RDPG's fixed values of what TD3 and RTD3 set (`TwinDelayedSettings`); not settings."""

    num_critics = 1
    target_noise = 0.0
    noise_clip = 0.5
    policy_delay = 1


@dataclasses.dataclass(frozen=True)
class DeterministicSettings(_OneCriticNoDelay):
    """The feed-forward agents' hyper-parameters (DDPG's; TD3 adds `TwinDelayedSettings`).

    Attributes:
      obs_dim, action_dim: set by the training loop from the env.
      hidden_sizes: MLP widths (gin: `make_MLP.hidden_dimensions`).
      gamma, lr, polyak: discount, Adam learning rate, target averaging coefficient.
      lr_schedule: optional multiplier lr_schedule(k) at update k.
      action_noise: std of the Gaussian exploration noise added to mu(s).
    """

    obs_dim: int
    action_dim: int
    hidden_sizes: tuple[int, ...] = (256, 256)
    gamma: float = 0.99
    lr: float = 3e-4
    lr_schedule: Optional[Callable] = None
    polyak: float = 0.995
    action_noise: float = 0.1


@dataclasses.dataclass(frozen=True)
class RecurrentDeterministicSettings(_OneCriticNoDelay):
    """The recurrent agents' hyper-parameters (RDPG's; RTD3 adds `TwinDelayedSettings`).

    Attributes:
      obs_dim, action_dim: set by the training loop from the env.
      hidden_sizes: MLP widths of the heads (gin: `make_MLP.hidden_dimensions`).
      summarizer: the summarizers' shape (gin: `Summarizer.*`).
      gamma, lr, polyak: discount, Adam learning rate (every network), target averaging coefficient.
      action_noise: std of the Gaussian exploration noise added to mu(h).
    """

    obs_dim: int
    action_dim: int
    hidden_sizes: tuple[int, ...] = (256, 256)
    summarizer: SummarizerConfig = SummarizerConfig()
    gamma: float = 0.99
    lr: float = 3e-4
    polyak: float = 0.995
    action_noise: float = 0.1

    lr_schedule = None  # not a setting: the reference's recurrent agents keep a constant rate


@dataclasses.dataclass(frozen=True)
class TwinDelayedSettings:
    """TD3's own three hyper-parameters, over either family settings (listed first among the bases).

    Attributes:
      target_noise: std of the smoothing noise on the target action.
      noise_clip: the smoothing noise is clipped to [-noise_clip, noise_clip].
      policy_delay: actor and target updates happen every `policy_delay` critic updates.
    """

    target_noise: float = 0.2
    noise_clip: float = 0.5
    policy_delay: int = 2

    num_critics = 2

    def __post_init__(self):
        if self.policy_delay < 1:
            raise ValueError(f"{gin_name(self)}.policy_delay must be >= 1, got {self.policy_delay}")


@flax.struct.dataclass
class DeterministicState:
    """Actor, critic ensemble, their targets and optimizer states, key, step counter.

    A recurrent agent's actor and critic are {"summarizer", "head"} (the critic's entries stacked
    on an ensemble axis). `actor_q_value` holds the last actor step's Q value, logged between
    delayed actor steps.
    """

    actor: dict
    target_actor: dict
    critic: dict
    target_critic: dict
    actor_opt: optax.OptState
    critic_opt: optax.OptState
    key: jax.Array
    step: jax.Array
    actor_q_value: jax.Array


def networks(config) -> tuple[DeterministicActor, EnsembleCritic]:
    return DeterministicActor(config.action_dim, config.hidden_sizes), EnsembleCritic(config.num_critics, config.hidden_sizes)


def recurrent_heads(config):
    """The actor head and the critic heads (member i on its own summarizer's summary)."""
    return DeterministicActor(config.action_dim, config.hidden_sizes), critic_ensemble(config.hidden_sizes, obs_axis=0)


def _initial_state(config, key: jax.Array, actor: dict, critic: dict) -> DeterministicState:
    tx = adam(config.lr, config.lr_schedule)
    return DeterministicState(
        actor=actor,
        target_actor=actor,
        critic=critic,
        target_critic=critic,
        actor_opt=tx.init(actor),
        critic_opt=tx.init(critic),
        key=key,
        step=jnp.zeros((), jnp.int32),
        actor_q_value=jnp.zeros((), jnp.float32),
    )


def init(config, key: jax.Array) -> DeterministicState:
    actor_net, critic_net = networks(config)
    key, actor_key, critic_key = jax.random.split(key, 3)
    obs = jnp.zeros((1, config.obs_dim), jnp.float32)
    action = jnp.zeros((1, config.action_dim), jnp.float32)
    return _initial_state(config, key, actor_net.init(actor_key, obs), critic_net.init(critic_key, obs, action))


def init_recurrent(config, key: jax.Array) -> DeterministicState:
    actor_head, _ = recurrent_heads(config)
    cfg, num = config.summarizer, config.num_critics
    key, k1, k2, k3, k4 = jax.random.split(key, 5)
    actor = {
        "summarizer": rec.init_summarizer(cfg, k1, config.obs_dim),
        "head": rec.init_head(actor_head, k2, cfg.hidden_dim),
    }
    critic = {
        "summarizer": rec.init_summarizer(cfg, k3, config.obs_dim, num),
        "head": rec.init_head(critic_ensemble(config.hidden_sizes, num), k4, cfg.hidden_dim, config.action_dim),
    }
    return _initial_state(config, key, actor, critic)


def _explore(config, mu: jax.Array, key: jax.Array, deterministic: bool) -> jax.Array:
    """mu, plus clipped Gaussian exploration noise unless deterministic."""
    if deterministic:
        return mu
    return jnp.clip(mu + config.action_noise * jax.random.normal(key, mu.shape, mu.dtype), -1.0, 1.0)


def act(config, state: DeterministicState, obs: jax.Array, key: jax.Array, deterministic: bool) -> jax.Array:
    """mu(s), plus clipped Gaussian exploration noise unless deterministic."""
    actor_net, _ = networks(config)
    return _explore(config, actor_net.apply(state.actor, obs), key, deterministic)


def act_recurrent(config, state: DeterministicState, carry, obs: jax.Array, key: jax.Array, deterministic: bool):
    """mu(h_t) (plus clipped Gaussian noise unless deterministic) and the new carry."""
    actor_head, _ = recurrent_heads(config)
    summary, carry = rec.step_summary(config.summarizer, state.actor["summarizer"], carry, obs)
    return _explore(config, actor_head.apply(state.actor["head"], summary), key, deterministic), carry


def policy(state: DeterministicState) -> dict:
    """What acting needs (a recurrent actor's summarizer and head together)."""
    return {"actor": state.actor}


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


def transition_agent(name: str, config, metric_names: dict) -> Agent:
    """A feed-forward agent of the family (DDPG, TD3), its delayed actor step placed statically
    when `config.policy_delay` > 1 (see `delayed_update`)."""
    return build_agent(
        name, config, init=init, act=act, update=update, policy=policy, metric_names=metric_names,
        delayed_update=delayed_update, period=config.policy_delay,
    )


def sequence_agent(name: str, config, metric_names: dict) -> Agent:
    """A recurrent agent of the family (RDPG, RTD3), acting with a carry."""
    return build_agent(
        name, config, init=init_recurrent, act=act_recurrent, update=update_recurrent, policy=policy,
        metric_names=metric_names, initial_carry=rec.initial_carry, delayed_update=delayed_update_recurrent,
        period=config.policy_delay,
    )
