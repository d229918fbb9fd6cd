"""SAC losses (Haarnoja et al. 2018, arXiv 1812.05905) with the reference's temperature loss."""

from typing import Callable, Optional

import jax
import jax.numpy as jnp

from jaxpcc.losses.common import (
    clipped_double_q,
    masked_mean,
    q_regression,
    sample_tanh_gaussian,
    td_target,
)
from jaxpcc.losses.ddpg import critic_metrics
from jaxpcc.types import Batch

ApplyFn = Callable[..., jax.Array]


def critic_loss(
    critic_params,
    target_critic_params,
    actor_params,
    batch: Batch,
    key: jax.Array,
    *,
    actor_fn: ApplyFn,
    critic_fn: ApplyFn,
    alpha: jax.Array,
    gamma: float,
    mask: Optional[jax.Array] = None,
) -> tuple[jax.Array, dict]:
    """Soft Bellman regression for twin critics.

    y = r + gamma * (1 - d) * (min_i Q_i^targ(s', a') - alpha * log pi(a'|s')), a' ~ pi(.|s');
    loss = sum_i mean((Q_i(s, a) - y)^2). No actor target: a' comes from the online actor.
    """
    mean_t, log_std_t = actor_fn(actor_params, batch.next_obs)
    a_t, log_pi_t = sample_tanh_gaussian(mean_t, log_std_t, key)
    v_t = clipped_double_q(critic_fn(target_critic_params, batch.next_obs, a_t)) - alpha * log_pi_t
    y = td_target(batch.reward, batch.done, v_t, gamma)
    q_tm1 = critic_fn(critic_params, batch.obs, batch.action)
    per_critic = q_regression(q_tm1, y, mask)
    return jnp.sum(per_critic), critic_metrics(q_tm1, per_critic, mask)


def actor_loss(
    actor_params,
    critic_params,
    batch: Batch,
    key: jax.Array,
    *,
    actor_fn: ApplyFn,
    critic_fn: ApplyFn,
    alpha: jax.Array,
    mask: Optional[jax.Array] = None,
) -> tuple[jax.Array, dict]:
    """loss = mean(alpha * log pi(a~|s) - min_i Q_i(s, a~)), a~ ~ pi(.|s) reparameterised.

    The metrics carry `actor/log_pi` (per sample, no gradient) for the temperature loss.
    """
    mean, log_std = actor_fn(actor_params, batch.obs)
    a, log_pi = sample_tanh_gaussian(mean, log_std, key)
    min_q = clipped_double_q(critic_fn(critic_params, batch.obs, a))
    loss = masked_mean(alpha * log_pi - min_q, mask)
    metrics = {
        "actor/min_q_value": masked_mean(min_q, mask),
        "actor/entropy": masked_mean(-log_pi, mask),
        "actor/log_pi": jax.lax.stop_gradient(log_pi),
    }
    return loss, metrics


def temperature_loss(
    log_alpha: jax.Array,
    log_pi: jax.Array,
    *,
    target_entropy: float,
    mask: Optional[jax.Array] = None,
) -> tuple[jax.Array, dict]:
    """loss = log_alpha * mean(-log pi - target_entropy), log pi held constant.

    The reference (like SB3) multiplies log-alpha rather than alpha; the gradient has the same
    sign and the optimum is the same, and it is better conditioned near alpha = 0.
    """
    entropy_gap = jax.lax.stop_gradient(-log_pi - target_entropy)
    loss = log_alpha * masked_mean(entropy_gap, mask)
    return loss, {"alpha/loss": loss, "alpha/value": jnp.exp(log_alpha)}
