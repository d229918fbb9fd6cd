"""Independent NumPy versions of the networks and loss formulas, for the loss tests."""

import numpy as np


def linear(p, x):
    return x @ np.asarray(p["kernel"], np.float64) + np.asarray(p["bias"], np.float64)


def mlp(p, x, num_layers, final_relu=False):
    """p holds TorchLinear_0..TorchLinear_{num_layers-1}; ReLU between layers."""
    for i in range(num_layers):
        x = linear(p[f"TorchLinear_{i}"], x)
        if i < num_layers - 1 or final_relu:
            x = np.maximum(x, 0.0)
    return x


def deterministic_actor(params, obs):
    return np.tanh(mlp(params["params"]["MLP_0"], obs, 3))


def gaussian_actor(params, obs):
    p = params["params"]
    trunk = mlp(p["MLP_0"], obs, 2, final_relu=True)
    return linear(p["mean"], trunk), np.clip(linear(p["log_std"], trunk), -20.0, 2.0)


def critics(params, obs, action):
    """[E, B] Q-values of the ensemble."""
    ens = params["params"]["ensemble"]["MLP_0"]
    num = np.asarray(ens["TorchLinear_0"]["kernel"]).shape[0]
    x = np.concatenate([obs, action], axis=-1)
    out = []
    for e in range(num):
        member = {k: {n: np.asarray(v)[e] for n, v in layer.items()} for k, layer in ens.items()}
        out.append(mlp(member, x, 3)[..., 0])
    return np.stack(out)


def tanh_gaussian(mean, log_std, eps):
    """(action, log_prob) with log(1 - tanh(u)^2) computed directly, not the softplus identity."""
    std = np.exp(log_std)
    u = mean + std * eps
    log_normal = -0.5 * eps**2 - log_std - 0.5 * np.log(2 * np.pi)
    log_prob = np.sum(log_normal - np.log(1.0 - np.tanh(u) ** 2), axis=-1)
    return np.tanh(u), log_prob


def conv2d_nchw(x, kernel, bias, stride):
    """'VALID' convolution of NCHW images x [N, C, H, W] with an HWIO kernel [k, k, C, F] (PyTorch's Conv2d)."""
    k = kernel.shape[0]
    h_out = (x.shape[2] - k) // stride + 1
    w_out = (x.shape[3] - k) // stride + 1
    out = np.zeros((x.shape[0], kernel.shape[3], h_out, w_out))
    for di in range(k):
        for dj in range(k):
            window = x[:, :, di : di + stride * (h_out - 1) + 1 : stride, dj : dj + stride * (w_out - 1) + 1 : stride]
            out += np.einsum("nchw,cf->nfhw", window, np.asarray(kernel[di, dj], np.float64))
    return out + np.asarray(bias, np.float64)[None, :, None, None]


def conv_encoder(params, images, strides=(2, 1, 1, 1), eps=1e-5):
    """The reference's ConvNet on NCHW images [N, C, H, W]: convs + ReLU, flatten (C, H, W), linear, LayerNorm, tanh."""
    p = params["params"]
    x = np.asarray(images, np.float64)
    for i, stride in enumerate(strides):
        conv = p[f"TorchConv_{i}"]
        x = np.maximum(conv2d_nchw(x, conv["kernel"], conv["bias"], stride), 0.0)
    x = linear(p["TorchLinear_0"], x.reshape(x.shape[0], -1))
    mean, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)
    ln = p["LayerNorm_0"]
    x = (x - mean) / np.sqrt(var + eps) * np.asarray(ln["scale"], np.float64) + np.asarray(ln["bias"], np.float64)
    return np.tanh(x)
