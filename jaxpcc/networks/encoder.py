"""The reference's convolutional encoder (DrQ-style), with PyTorch's default initialisation.

conv 32 3x3 stride 2, three conv 32 3x3 stride 1 (ReLU after each, no padding), flatten,
linear -> 50, LayerNorm, tanh. On an 84x84 input the spatial size goes 84 -> 41 -> 39 -> 37 -> 35,
so the linear layer reads 32 * 35 * 35 = 39200 features, as in the reference's `ConvNet`.
"""

from typing import Literal, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxpcc.networks.mlp import TorchLinear, torch_uniform

LAYER_NORM_EPS = 1e-5  # torch.nn.LayerNorm's default (flax's is 1e-6)
ConvImpl = Literal["im2col", "xla"]
CONV_IMPLS = ("im2col", "xla")


def default_conv_impl() -> ConvImpl:
    """The convolution for this process's backend: im2col on the CPU (see `TorchConv`), XLA's
    own convolution elsewhere (a GPU runs it as one cuDNN kernel, forward and backward)."""
    return "im2col" if jax.default_backend() == "cpu" else "xla"


def conv2d_im2col(x: jax.Array, kernel: jax.Array, stride: int) -> jax.Array:
    """A 'VALID' convolution as one matmul over gathered patches (im2col).

    Args:
      x: [N, H, W, C] inputs.
      kernel: [k, k, C, F] weights (HWIO).
      stride: the same along both spatial axes.
    Returns:
      [N, (H - k) // stride + 1, (W - k) // stride + 1, F].
    """
    k, _, c, f = kernel.shape
    h_out = (x.shape[1] - k) // stride + 1
    w_out = (x.shape[2] - k) // stride + 1
    patches = [
        x[:, i : i + stride * (h_out - 1) + 1 : stride, j : j + stride * (w_out - 1) + 1 : stride, :]
        for i in range(k)
        for j in range(k)
    ]
    return jnp.concatenate(patches, axis=-1) @ kernel.reshape(k * k * c, f)


class TorchConv(nn.Module):
    """A 'VALID' 2-D convolution on NHWC inputs, initialised like `torch.nn.Conv2d`.

    PyTorch draws weights and bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C_in * k * k.

    Attributes:
      features: output channels.
      kernel_size: k of the k x k window.
      stride: the same along both spatial axes.
      impl: "im2col" (slices and one matmul) or "xla" (`lax.conv_general_dilated`); the same
        function and parameters. im2col is the default because XLA:CPU runs convolution
        *gradients* inside a loop (our `lax.scan` over updates) about 10x slower than outside
        one (jax-ml/jax#12868), while the im2col gradient is only slices, pads and matmuls.
    """

    features: int
    kernel_size: int = 3
    stride: int = 1
    impl: ConvImpl = "im2col"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if self.impl not in CONV_IMPLS:
            raise ValueError(f"conv impl must be one of {CONV_IMPLS}, got {self.impl!r}")
        k, c = self.kernel_size, x.shape[-1]
        kernel = self.param("kernel", torch_uniform(c * k * k), (k, k, c, self.features))
        bias = self.param("bias", torch_uniform(c * k * k), (self.features,))
        if self.impl == "im2col":
            y = conv2d_im2col(x, kernel, self.stride)
        else:
            y = jax.lax.conv_general_dilated(
                x, kernel, (self.stride, self.stride), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")
            )
        return y + bias


class ConvEncoder(nn.Module):
    """Images [..., C, H, W] (float, in [0, 1]) -> embeddings [..., embedding_dim] in (-1, 1).

    Channels-first input as in the reference; the convolutions run channels-last (XLA's preferred
    layout) and the features are flattened back in (C, H, W) order, so the linear layer's weight
    has the reference's layout.

    Attributes:
      embedding_dim: output width (the reference's `embedding_dim`, 50).
      num_filters: channels of every conv layer (32 in the reference).
      strides: one conv layer per entry (the reference's (2, 1, 1, 1)).
      conv_impl: how the convolutions are computed (see `TorchConv`).
    """

    embedding_dim: int = 50
    num_filters: int = 32
    strides: Sequence[int] = (2, 1, 1, 1)
    conv_impl: ConvImpl = "im2col"

    @nn.compact
    def __call__(self, pixels: jax.Array) -> jax.Array:
        if pixels.ndim < 3:
            raise ValueError(f"ConvEncoder needs [..., C, H, W] images, got shape {pixels.shape}")
        batch_shape = pixels.shape[:-3]
        x = jnp.moveaxis(pixels.reshape((-1,) + pixels.shape[-3:]), 1, -1)  # [N, H, W, C]
        for stride in self.strides:
            x = nn.relu(TorchConv(self.num_filters, 3, stride, self.conv_impl)(x))
        x = jnp.moveaxis(x, -1, 1).reshape(x.shape[0], -1)  # flattened as (C, H, W)
        x = TorchLinear(self.embedding_dim)(x)
        x = nn.LayerNorm(epsilon=LAYER_NORM_EPS)(x)
        return jnp.tanh(x).reshape(batch_shape + (self.embedding_dim,))
