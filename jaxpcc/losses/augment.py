"""Image batches inside the jitted update: uint8 -> float, and DrQ's random shift.

Random shift (Kostrikov, Yarats & Fergus 2020, "Image Augmentation Is All You Need", arXiv
2004.13649): replicate-pad each image by `pad` pixels and crop it back to its size at a random
integer offset in [0, 2 * pad] along each axis, independently per sample. The reference does the
same with `nn.ReplicationPad2d(4)` and kornia's `RandomCrop` (one augmentation, K = M = 1).
"""

import chex
import jax
import jax.numpy as jnp


def to_unit_float(pixels: jax.Array) -> jax.Array:
    """uint8 pixels 0..255 -> float32 in [0, 1] (the scale the reference's encoder sees).

    Args:
      pixels: [..., C, H, W] uint8.
    """
    chex.assert_type(pixels, jnp.uint8)
    return pixels.astype(jnp.float32) / 255.0


def _shift_one(image: jax.Array, offset: jax.Array, pad: int) -> jax.Array:
    """image [C, H, W], offset [2] ints in [0, 2 * pad] -> the shifted image [C, H, W]."""
    padded = jnp.pad(image, ((0, 0), (pad, pad), (pad, pad)), mode="edge")
    start = (jnp.zeros((), offset.dtype), offset[0], offset[1])
    return jax.lax.dynamic_slice(padded, start, image.shape)


def random_shift(images: jax.Array, key: jax.Array, pad: int = 4) -> jax.Array:
    """DrQ random shift of every image in a batch, each by its own offset.

    Args:
      images: [B, C, H, W], any dtype (kept; uint8 batches stay uint8).
      key: PRNG key; one offset pair per image is drawn from it.
      pad: the largest shift, in pixels, along each axis (the reference's 4).
    Returns:
      [B, C, H, W] images of the input's dtype; image b equals the edge-padded input cropped at
      rows [dy, dy + H) and columns [dx, dx + W), (dy, dx) uniform in {0, ..., 2 * pad}^2.
    """
    chex.assert_rank(images, 4)
    if pad < 0:
        raise ValueError(f"pad must be >= 0, got {pad}")
    offsets = jax.random.randint(key, (images.shape[0], 2), 0, 2 * pad + 1)
    return jax.vmap(_shift_one, in_axes=(0, 0, None))(images, offsets, pad)
