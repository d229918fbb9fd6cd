"""Independent NumPy versions of the recurrent summarizers (PyTorch's cell equations), for the tests."""

import numpy as np


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def numpy_rnn(params, obs, recurrent_type, num_layers):
    """PyTorch's nn.LSTM / nn.GRU / nn.RNN (batch first, zero initial state) in float64 NumPy.

    obs [B, T, O] -> top-layer outputs [B, T, H].
    """
    p = {k: np.asarray(v, np.float64) for k, v in params["params"].items()}
    x = np.asarray(obs, np.float64)
    for layer in range(num_layers):
        w_ih, w_hh = p[f"weight_ih_l{layer}"], p[f"weight_hh_l{layer}"]
        b_ih, b_hh = p[f"bias_ih_l{layer}"], p[f"bias_hh_l{layer}"]
        hidden = w_hh.shape[0]
        h = np.zeros((x.shape[0], hidden))
        c = np.zeros_like(h)
        outputs = []
        for t in range(x.shape[1]):
            gi, gh = x[:, t] @ w_ih + b_ih, h @ w_hh + b_hh
            if recurrent_type == "lstm":
                g = gi + gh
                i, f = _sigmoid(g[:, :hidden]), _sigmoid(g[:, hidden : 2 * hidden])
                cell, o = np.tanh(g[:, 2 * hidden : 3 * hidden]), _sigmoid(g[:, 3 * hidden :])
                c = f * c + i * cell
                h = o * np.tanh(c)
            elif recurrent_type == "gru":
                r = _sigmoid(gi[:, :hidden] + gh[:, :hidden])
                z = _sigmoid(gi[:, hidden : 2 * hidden] + gh[:, hidden : 2 * hidden])
                n = np.tanh(gi[:, 2 * hidden :] + r * gh[:, 2 * hidden :])
                h = (1 - z) * n + z * h
            else:
                h = np.tanh(gi + gh)
            outputs.append(h)
        x = np.stack(outputs, axis=1)
    return x
