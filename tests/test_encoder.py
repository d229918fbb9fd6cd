"""The conv encoder against a NumPy ConvNet, both convolution implementations, PyTorch init."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import numpy_oracle as npo
from jaxpcc.networks import ConvEncoder

N, C, S = 3, 2, 17  # 17 -> 8 -> 6 -> 4 -> 2 through the reference's strides (2, 1, 1, 1)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).uniform(size=(N, C, S, S)).astype(np.float32)


@pytest.mark.parametrize("impl", ["im2col", "xla"])
def test_encoder_matches_numpy_convnet(images, impl):
    net = ConvEncoder(embedding_dim=6, num_filters=4, conv_impl=impl)
    params = net.init(jax.random.PRNGKey(0), images)
    out = jax.jit(net.apply)(params, images)
    assert out.shape == (N, 6)
    np.testing.assert_allclose(out, npo.conv_encoder(params, images), rtol=1e-5, atol=1e-5)


def test_both_conv_impls_give_the_same_function_and_gradients(images):
    a = ConvEncoder(embedding_dim=6, num_filters=4, conv_impl="im2col")
    b = ConvEncoder(embedding_dim=6, num_filters=4, conv_impl="xla")
    params = jax.jit(a.init)(jax.random.PRNGKey(1), images)
    # One jitted program a call (run eagerly, every op of the conv stacks would compile on its own).
    loss = lambda net: jax.jit(jax.grad(lambda p: jnp.sum(net.apply(p, images) ** 2)))  # noqa: E731
    np.testing.assert_allclose(jax.jit(a.apply)(params, images), jax.jit(b.apply)(params, images), rtol=1e-5, atol=1e-6)
    for ga, gb in zip(jax.tree.leaves(loss(a)(params)), jax.tree.leaves(loss(b)(params))):
        np.testing.assert_allclose(ga, gb, rtol=1e-4, atol=1e-5)


def test_reference_shapes_and_pytorch_init():
    net = ConvEncoder()
    shapes = jax.eval_shape(net.init, jax.random.PRNGKey(0), jnp.zeros((1, 3, 84, 84)))["params"]
    assert shapes["TorchConv_0"]["kernel"].shape == (3, 3, 3, 32)
    assert shapes["TorchLinear_0"]["kernel"].shape == (32 * 35 * 35, 50)  # the reference's 39200 -> 50
    params = ConvEncoder(embedding_dim=6, num_filters=4).init(jax.random.PRNGKey(0), jnp.zeros((1, C, S, S)))["params"]
    for i, fan_in in enumerate([C * 9, 36, 36, 36]):
        for name in ("kernel", "bias"):
            w = np.asarray(params[f"TorchConv_{i}"][name])
            assert np.abs(w).max() <= 1 / np.sqrt(fan_in) and np.abs(w).max() > 0.5 / np.sqrt(fan_in)
    np.testing.assert_array_equal(params["LayerNorm_0"]["scale"], 1.0)


def test_leading_axes_are_kept_and_non_images_refused(images):
    net = ConvEncoder(embedding_dim=6, num_filters=4)
    params = net.init(jax.random.PRNGKey(0), images)
    stacked = np.stack([images, images[::-1]])
    out = net.apply(params, stacked)
    assert out.shape == (2, N, 6)
    np.testing.assert_allclose(out[1], net.apply(params, images[::-1]), rtol=1e-6, atol=1e-6)
    assert np.all(np.abs(out) < 1.0)
    with pytest.raises(ValueError, match="C, H, W"):
        net.apply(params, images[0, 0])
