"""Q-functions: Q(s, a) = MLP(concat[s, a]), and ensembles of them along a leading axis.

Every critic ensemble in jaxpcc, feed-forward or recurrent, is `critic_ensemble`: `nn.vmap` over
`Critic`, its parameters the members' stacked on a leading axis [E, ...], Q of shape [E, ...].
Applied to a slice of those parameters (the first member alone, [1, ...]) it is that smaller ensemble.
"""

from typing import Optional, Sequence

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


def critic_ensemble(
    hidden_sizes: Sequence[int], num_critics: Optional[int] = None, obs_axis: Optional[int] = None, name=None
) -> nn.Module:
    """Independent critics as one module: (obs, action) -> Q [E, ...].

    Args:
      hidden_sizes: every member's MLP widths.
      num_critics: E, needed to initialise from inputs without an ensemble axis; None reads E
        from the parameters (or from obs), so one module applies to any slice of the ensemble.
      obs_axis: None when every member reads the same obs; 0 when member i reads obs[i] (a
        recurrent critic's own summary, [E, ..., H]).
      name: the submodule's name inside a parent module (None at the top level).
    """
    members = nn.vmap(
        Critic,
        variable_axes={"params": 0},
        split_rngs={"params": True},
        in_axes=(obs_axis, None),
        out_axes=0,
        axis_size=num_critics,
    )
    return members(hidden_sizes, name=name)


class EnsembleCritic(nn.Module):
    """The feed-forward agents' `num_critics` critics: a `critic_ensemble` named "ensemble".

    Twin critics (TD3, SAC) are an ensemble of 2, DDPG's single critic an ensemble of 1.
    Returns Q of shape [E, ...]; clipped double-Q is a `min` over axis 0. E is `num_critics`
    at initialisation and the parameters' leading axis afterwards.
    """

    num_critics: int = 2
    hidden_sizes: Sequence[int] = (256, 256)

    @nn.compact
    def __call__(self, obs: jax.Array, action: jax.Array) -> jax.Array:
        size = self.num_critics if self.is_initializing() else None
        return critic_ensemble(self.hidden_sizes, size, name="ensemble")(obs, action)
