"""The SAC family's state (SAC's and RSAC's), its optimizers, its action and its heads on summaries."""

from __future__ import annotations

import flax
import jax
import jax.numpy as jnp
import optax

from jaxpcc.agents.common import adam
from jaxpcc.networks import GaussianActor, critic_ensemble


@flax.struct.dataclass
class SoftState:
    """Everything SAC or RSAC learns or carries, as one immutable pytree.

    A recurrent agent's actor and critic are {"summarizer", "head"} (the critic's entries stacked
    on an ensemble axis of 2). CSAC and RSAC-sharing add their own networks in states of their own.
    """

    actor: dict
    critic: dict
    target_critic: dict
    log_alpha: jax.Array
    actor_opt: optax.OptState
    critic_opt: optax.OptState
    alpha_opt: optax.OptState
    key: jax.Array
    step: jax.Array


def optimizers(config) -> tuple[optax.GradientTransformation, optax.GradientTransformation]:
    """(actor/critic Adam with the optional schedule, log-alpha Adam without it)."""
    return adam(config.lr, config.lr_schedule), adam(config.lr)


def initial_state(config, key: jax.Array, actor, critic, state_class=SoftState, **own):
    """A fresh state around initial actor and critic parameters, their targets equal to them.

    `state_class` and `own` are for a variant with networks of its own (CSAC's encoder, the
    shared summarizer): its state class and the fields it adds (or sets otherwise, as
    RSAC-sharing's `critic_opt`, whose critic step trains its summarizer too).
    """
    net_tx, alpha_tx = optimizers(config)
    log_alpha = jnp.asarray(jnp.log(config.alpha), jnp.float32)
    fields = dict(
        actor=actor,
        critic=critic,
        target_critic=critic,
        log_alpha=log_alpha,
        actor_opt=net_tx.init(actor),
        critic_opt=net_tx.init(critic),
        alpha_opt=alpha_tx.init(log_alpha),
        key=key,
        step=jnp.zeros((), jnp.int32),
    )
    return state_class(**{**fields, **own})


def tanh_gaussian_action(mean: jax.Array, log_std: jax.Array, key: jax.Array, deterministic: bool) -> jax.Array:
    """tanh(mean) when deterministic, else a tanh-Gaussian sample."""
    if deterministic:
        return jnp.tanh(mean)
    return jnp.tanh(mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape, mean.dtype))


def recurrent_heads(config, obs_axis: int | None = 0) :
    """The actor head and the twin critic heads on summaries: member i on its own summarizer's
    summary (`obs_axis=0`, RSAC) or every member on one shared summary (`obs_axis=None`)."""
    return GaussianActor(config.action_dim, config.hidden_sizes), critic_ensemble(config.hidden_sizes, obs_axis=obs_axis)
