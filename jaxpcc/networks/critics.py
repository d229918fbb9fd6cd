"""Q-functions: Q(s, a) = MLP(concat[s, a]), and an ensemble of them along a leading axis."""

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxpcc.networks.mlp import MLP


class Critic(nn.Module):
    """One Q-network. obs [..., obs_dim], action [..., action_dim] -> Q [...]."""

    hidden_sizes: Sequence[int] = (256, 256)

    @nn.compact
    def __call__(self, obs: jax.Array, action: jax.Array) -> jax.Array:
        x = jnp.concatenate([obs, action], axis=-1)
        return MLP(self.hidden_sizes, 1)(x)[..., 0]


class EnsembleCritic(nn.Module):
    """`num_critics` independent critics as one module with a leading ensemble axis.

    Twin critics (TD3, SAC) are an ensemble of 2, DDPG's single critic an ensemble of 1.
    Returns Q of shape [E, ...]; clipped double-Q is a `min` over axis 0.
    """

    num_critics: int = 2
    hidden_sizes: Sequence[int] = (256, 256)

    @nn.compact
    def __call__(self, obs: jax.Array, action: jax.Array) -> jax.Array:
        ensemble = nn.vmap(
            Critic,
            variable_axes={"params": 0},
            split_rngs={"params": True},
            in_axes=None,
            out_axes=0,
            axis_size=self.num_critics,
        )
        return ensemble(self.hidden_sizes, name="ensemble")(obs, action)
