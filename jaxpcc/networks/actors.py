"""Actors: a deterministic tanh actor (DDPG/TD3) and a Gaussian actor head (SAC family).

Distribution math (sampling, tanh squashing, log-probabilities) lives in `jaxpcc.losses`.
"""

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxpcc.networks.mlp import MLP, TorchLinear

LOG_STD_MIN = -20.0
LOG_STD_MAX = 2.0


class DeterministicActor(nn.Module):
    """mu(s) = tanh(MLP(s)) in [-1, 1]^|A|.

    Input [..., obs_dim] float32; output [..., action_dim].
    """

    action_dim: int
    hidden_sizes: Sequence[int] = (256, 256)

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        return jnp.tanh(MLP(self.hidden_sizes, self.action_dim)(obs))


class GaussianActor(nn.Module):
    """Mean and log-std of the pre-tanh Gaussian: a ReLU trunk and two linear heads.

    log-std is hard-clamped to [-20, 2] as in the reference. Input [..., obs_dim];
    returns (mean, log_std), each [..., action_dim].
    """

    action_dim: int
    hidden_sizes: Sequence[int] = (256, 256)

    @nn.compact
    def __call__(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        trunk = MLP(self.hidden_sizes)(obs)
        mean = TorchLinear(self.action_dim, name="mean")(trunk)
        log_std = TorchLinear(self.action_dim, name="log_std")(trunk)
        return mean, jnp.clip(log_std, LOG_STD_MIN, LOG_STD_MAX)
