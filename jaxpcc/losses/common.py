"""Formula-level helpers shared by every loss: masked means, TD targets, the tanh-Gaussian policy.

Pure array math in the rlax style: names carry the time index (`_tm1` for the transition's
start, `_t` for its end), shapes are checked on entry, and targets stop gradients explicitly.
Every reduction goes through `masked_mean`, so a recurrent loss is the same loss over [B, T]
with a mask of valid steps.
"""

import math
from typing import Optional

import chex
import jax
import jax.numpy as jnp

# Python floats, not arrays: importing the package must not start a JAX backend (see jaxpcc.runtime).
_LOG_2 = math.log(2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def masked_mean(x: jax.Array, mask: Optional[jax.Array] = None) -> jax.Array:
    """Mean of `x` over the entries where `mask` is 1 (all entries when `mask` is None).

    Args:
      x: [...] values; when `mask` has fewer axes, `x`'s extra leading axes (an ensemble axis)
        are averaged per element, i.e. the mask broadcasts from the right.
      mask: [...] of 0/1 floats, or None.
    """
    if mask is None:
        return jnp.mean(x)
    mask = jnp.broadcast_to(mask, x.shape).astype(x.dtype)
    return jnp.sum(x * mask) / jnp.maximum(jnp.sum(mask), 1.0)


def masked_correlation(x: jax.Array, y: jax.Array, mask: Optional[jax.Array] = None) -> jax.Array:
    """Pearson correlation of `x` and `y` over the entries where `mask` is 1 (no gradient).

    The reference logs it between the twin critics' predictions over valid steps
    ("(qfunc) Q1 Q2 corr"). x, y: [...] of equal shape; mask: [...] or None.

    Freshly initialised critics predict values a few 1e-4 apart, so the variances can be 1e-8 or
    less; the zero-variance guard therefore never adds an epsilon to them. A constant input reads 0.
    """
    chex.assert_equal_shape([x, y])
    x, y = jax.lax.stop_gradient(x), jax.lax.stop_gradient(y)
    dx, dy = x - masked_mean(x, mask), y - masked_mean(y, mask)
    cov = masked_mean(dx * dy, mask)
    scale = jnp.sqrt(masked_mean(jnp.square(dx), mask)) * jnp.sqrt(masked_mean(jnp.square(dy), mask))
    return jnp.where(scale > 0, cov / jnp.where(scale > 0, scale, 1.0), 0.0)


def td_target(r_t: jax.Array, d_t: jax.Array, v_t: jax.Array, gamma: float) -> jax.Array:
    """y = r_t + gamma * (1 - d_t) * v_t, with no gradient (d_t = 1 only on true terminals)."""
    chex.assert_equal_shape([r_t, d_t, v_t])
    return jax.lax.stop_gradient(r_t + gamma * (1.0 - d_t) * v_t)


def q_regression(q_tm1: jax.Array, y: jax.Array, mask: Optional[jax.Array] = None) -> jax.Array:
    """Per-critic mean squared TD error.

    Args:
      q_tm1: [E, ...] predictions of an ensemble of E critics.
      y: [...] targets (no gradient).
      mask: [...] valid entries, or None.
    Returns:
      [E] losses, one per critic; the optimised loss is their sum (independent critics).
    """
    chex.assert_equal_shape([q_tm1[0], y])
    return jax.vmap(lambda q: masked_mean(jnp.square(q - y), mask))(q_tm1)


def tanh_gaussian_log_prob(u: jax.Array, mean: jax.Array, log_std: jax.Array) -> jax.Array:
    """log pi(tanh(u)) for u ~ N(mean, exp(log_std)), summed over the last (action) axis.

    Uses the stable identity log(1 - tanh(u)^2) = 2 * (log 2 - u - softplus(-2u)).
    """
    chex.assert_equal_shape([u, mean, log_std])
    z = (u - mean) * jnp.exp(-log_std)
    gaussian = -0.5 * jnp.square(z) - log_std - _LOG_SQRT_2PI
    squash = 2.0 * (_LOG_2 - u - jax.nn.softplus(-2.0 * u))
    return jnp.sum(gaussian - squash, axis=-1)


def sample_tanh_gaussian(
    mean: jax.Array, log_std: jax.Array, key: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Reparameterised sample a = tanh(mean + std * eps) and its log-probability.

    Returns:
      action [..., A] in (-1, 1) and log_prob [...].
    """
    u = mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape, mean.dtype)
    return jnp.tanh(u), tanh_gaussian_log_prob(u, mean, log_std)


def clipped_double_q(q: jax.Array) -> jax.Array:
    """min over the ensemble axis: [E, ...] -> [...]."""
    return jnp.min(q, axis=0)
