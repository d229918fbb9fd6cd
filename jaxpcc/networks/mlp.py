"""Linear layers with PyTorch's default initialisation, and the MLP every network is built from.

The reference relies on PyTorch defaults: weights and biases both U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
Flax's defaults (lecun-normal weights, zero biases) learn differently, so we match PyTorch.
"""

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


def torch_uniform(fan_in: int):
    """Initializer drawing U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's Linear/Conv default."""
    bound = 1.0 / jnp.sqrt(fan_in)

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


class TorchLinear(nn.Module):
    """Dense layer initialised like `torch.nn.Linear`."""

    features: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        fan_in = x.shape[-1]
        kernel = self.param("kernel", torch_uniform(fan_in), (fan_in, self.features))
        bias = self.param("bias", torch_uniform(fan_in), (self.features,))
        return x @ kernel + bias


class MLP(nn.Module):
    """ReLU MLP; `out_dim=None` ends at the last hidden layer (with its ReLU), as the reference's trunk."""

    hidden_sizes: Sequence[int]
    out_dim: int | None = None

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for size in self.hidden_sizes:
            x = nn.relu(TorchLinear(size)(x))
        if self.out_dim is not None:
            x = TorchLinear(self.out_dim)(x)
        return x
