"""DrQ random shift and the uint8 -> float conversion used inside the image agents' update."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpcc.losses.augment import random_shift, to_unit_float

B, C, H, W = 16, 3, 20, 20


def recover_shift(original: np.ndarray, shifted: np.ndarray, search: int):
    """The (dy, dx) with shifted = edge-padded original moved by (dy, dx), searched in [-search, search]^2."""
    padded = np.pad(original, ((0, 0), (search, search), (search, search)), mode="edge")
    found = [
        (dy, dx)
        for dy in range(-search, search + 1)
        for dx in range(-search, search + 1)
        if np.array_equal(padded[:, search + dy : search + dy + H, search + dx : search + dx + W], shifted)
    ]
    assert len(found) == 1, f"no unique shift explains the output: {found}"
    return found[0]


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("pad", [1, 4])
def test_shift_is_a_replicate_padded_crop_within_pad(dtype, pad):
    rng = np.random.default_rng(pad)
    images = rng.integers(0, 256, (B, C, H, W)).astype(dtype)  # noise: every shift is identifiable
    out = jax.jit(random_shift, static_argnums=2)(images, jax.random.PRNGKey(0), pad)
    assert out.shape == images.shape and out.dtype == images.dtype
    shifts = [recover_shift(images[b], np.asarray(out[b]), search=pad + 2) for b in range(B)]
    assert all(abs(dy) <= pad and abs(dx) <= pad for dy, dx in shifts)
    assert len(set(shifts)) > 1, "every image got the same shift"


def test_each_sample_gets_its_own_shift_and_the_key_decides():
    image = np.random.default_rng(1).integers(0, 256, (C, H, W)).astype(np.uint8)
    batch = np.broadcast_to(image, (B, C, H, W))
    out = np.asarray(random_shift(batch, jax.random.PRNGKey(3), 4))
    assert len({out[b].tobytes() for b in range(B)}) > 1  # identical inputs, different outputs
    np.testing.assert_array_equal(out, random_shift(batch, jax.random.PRNGKey(3), 4))  # same key, same shifts
    assert not np.array_equal(out, random_shift(batch, jax.random.PRNGKey(4), 4))
    # Over many samples every offset in {-4..4}^2 appears, so the shift is uniform over the full range.
    many = np.asarray(random_shift(np.broadcast_to(image, (2000, C, H, W)), jax.random.PRNGKey(5), 4))
    assert len({many[b].tobytes() for b in range(2000)}) == 81


def test_zero_pad_is_the_identity_and_bad_inputs_fail():
    images = np.random.default_rng(2).integers(0, 256, (B, C, H, W)).astype(np.uint8)
    np.testing.assert_array_equal(random_shift(images, jax.random.PRNGKey(0), 0), images)
    with pytest.raises(ValueError, match="pad"):
        random_shift(images, jax.random.PRNGKey(0), -1)
    with pytest.raises(AssertionError):
        random_shift(images[0], jax.random.PRNGKey(0), 4)  # not a batch


def test_to_unit_float_scales_uint8_only():
    pixels = np.array([[[[0, 51, 255]]]], np.uint8)
    out = to_unit_float(pixels)
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(out, [[[[0.0, 0.2, 1.0]]]], rtol=1e-7)
    with pytest.raises(AssertionError):
        to_unit_float(pixels.astype(np.float32))
