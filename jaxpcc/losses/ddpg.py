"""DDPG and TD3 losses (Lillicrap et al. 2016; Fujimoto et al. 2018, arXiv 1802.09477).

Each loss takes the parameters it differentiates first, then frozen parameters, the apply
functions, the batch and (where needed) a key; it returns (loss, metrics).
"""

from typing import Callable, Optional

import jax
import jax.numpy as jnp

from jaxpcc.losses.common import clipped_double_q, masked_mean, q_regression, td_target
from jaxpcc.types import Batch

ApplyFn = Callable[..., jax.Array]


def critic_metrics(q_tm1: jax.Array, per_critic_loss: jax.Array, mask: Optional[jax.Array]) -> dict:
    """`q{i}/pred` and `q{i}/loss` for each ensemble member (q1, q2, ...).

    `critic/q_pred` ([E, ...], no gradient) is a per-sample auxiliary (agents that log the
    twin critics' correlation read it; `scalar_metrics` drops it).
    """
    metrics = {"critic/q_pred": jax.lax.stop_gradient(q_tm1)}
    for i in range(q_tm1.shape[0]):
        metrics[f"critic/q{i + 1}_pred"] = masked_mean(q_tm1[i], mask)
        metrics[f"critic/q{i + 1}_loss"] = per_critic_loss[i]
    return metrics


def smoothed_target_action(
    mu_t: jax.Array, key: Optional[jax.Array], target_noise: float, noise_clip: float
) -> jax.Array:
    """TD3 target policy smoothing: clip(mu + clip(sigma * eps, -c, c), -1, 1); mu unchanged if no key."""
    if key is None or target_noise == 0.0:
        return mu_t
    noise = jnp.clip(target_noise * jax.random.normal(key, mu_t.shape, mu_t.dtype), -noise_clip, noise_clip)
    return jnp.clip(mu_t + noise, -1.0, 1.0)


def critic_loss(
    critic_params,
    target_critic_params,
    target_actor_params,
    batch: Batch,
    key: Optional[jax.Array] = None,
    *,
    actor_fn: ApplyFn,
    critic_fn: ApplyFn,
    gamma: float,
    target_noise: float = 0.0,
    noise_clip: float = 0.5,
    mask: Optional[jax.Array] = None,
) -> tuple[jax.Array, dict]:
    """Deterministic-policy critic loss, DDPG (E=1, no noise) or TD3 (E=2, smoothed target).

    y = r + gamma * (1 - d) * min_i Q_i^targ(s', a'), a' = mu^targ(s') (+ clipped noise for TD3);
    loss = sum_i mean((Q_i(s, a) - y)^2).

    Args:
      critic_params: online ensemble critic parameters (differentiated).
      target_critic_params, target_actor_params: frozen target parameters.
      batch: obs [B, O], action [B, A], reward [B], next_obs [B, O], done [B].
      key: PRNG key for target smoothing noise (TD3 only).
    """
    mu_t = actor_fn(target_actor_params, batch.next_obs)
    a_t = smoothed_target_action(mu_t, key, target_noise, noise_clip)
    v_t = clipped_double_q(critic_fn(target_critic_params, batch.next_obs, a_t))
    y = td_target(batch.reward, batch.done, v_t, gamma)
    q_tm1 = critic_fn(critic_params, batch.obs, batch.action)
    per_critic = q_regression(q_tm1, y, mask)
    return jnp.sum(per_critic), critic_metrics(q_tm1, per_critic, mask)


def actor_loss(
    actor_params,
    critic_params,
    batch: Batch,
    *,
    actor_fn: ApplyFn,
    critic_fn: ApplyFn,
    mask: Optional[jax.Array] = None,
) -> tuple[jax.Array, dict]:
    """Deterministic policy gradient: loss = -mean(Q_1(s, mu(s))) through the first critic only."""
    q = critic_fn(critic_params, batch.obs, actor_fn(actor_params, batch.obs))[0]
    q_value = masked_mean(q, mask)
    return -q_value, {"actor/q1_value": q_value}
