#!/usr/bin/env python3
"""NumPy forward of SignalNet from `signal-engine export-weights`: an outside oracle for the
engine's forward pass that needs no PyTorch (it runs in the oracle venv, in CI).

It reads the safetensors file itself (an 8-byte little-endian header length, a JSON header, raw
little-endian data), computes the forward with PyTorch's module semantics written out in NumPy
(float64): nn.Linear (x @ W.T + b), nn.LSTM (gates i, f, g, o; bias_ih + bias_hh; the reverse
direction reads the sequence backwards), nn.LayerNorm (eps 1e-5, biased variance),
nn.MultiheadAttention (in_proj Q, K, V stacked; softmax(QK^T / sqrt(d_k)) V per head; out_proj),
then concat(last step, mean over T) -> Linear -> ReLU -> LayerNorm -> two heads. The engine's
outputs on the exported check batch must agree to 1e-4 (p, and the return head in its training
unit of 100 bps).

Prints `numpy_check max_abs_p=.. max_abs_return_head=.. ok=1|0`; exits 1 when not ok.
Usage: reference_numpy.py WEIGHTS.safetensors
"""

import json
import struct
import sys

import numpy as np

RETURN_SCALE_BPS = 100.0
LN_EPS = 1e-5


def load(path, dtype=np.float64):
    """(arrays, metadata) of a safetensors file: an 8-byte little-endian header length, a JSON
    header (dtype, shape, byte offsets per tensor; `__metadata__`), then the raw data. The
    F32 values come back as `dtype` (float64 here; reference_model.py asks for float32)."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = blob[8 + n:]
    tensors = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {info['dtype']}, expected F32")
        lo, hi = info["data_offsets"]
        a = np.frombuffer(data[lo:hi], dtype="<f4").astype(dtype)
        tensors[name] = a.reshape(info["shape"])
    return tensors, meta


def linear(w, name, x):
    return x @ w[f"{name}.weight"].T + w[f"{name}.bias"]


def layer_norm(w, name, x):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + LN_EPS) * w[f"{name}.weight"] + w[f"{name}.bias"]


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm_direction(w, prefix, suffix, x, reverse):
    wi, wh = w[f"{prefix}.weight_ih_l0{suffix}"], w[f"{prefix}.weight_hh_l0{suffix}"]
    b = w[f"{prefix}.bias_ih_l0{suffix}"] + w[f"{prefix}.bias_hh_l0{suffix}"]
    n, t, _ = x.shape
    h_dim = wh.shape[1]
    h = np.zeros((n, h_dim))
    c = np.zeros((n, h_dim))
    out = np.zeros((n, t, h_dim))
    steps = range(t - 1, -1, -1) if reverse else range(t)
    for s in steps:
        g = x[:, s, :] @ wi.T + h @ wh.T + b
        i, f, gg, o = np.split(g, 4, axis=1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(gg)
        h = sigmoid(o) * np.tanh(c)
        out[:, s, :] = h
    return out


def bilstm(w, prefix, x):
    return np.concatenate(
        [lstm_direction(w, prefix, "", x, False), lstm_direction(w, prefix, "_reverse", x, True)],
        axis=2,
    )


def attention(w, x, heads):
    n, t, d = x.shape
    dk = d // heads
    qkv = x @ w["attn.in_proj_weight"].T + w["attn.in_proj_bias"]
    q, k, v = (a.reshape(n, t, heads, dk).transpose(0, 2, 1, 3) for a in np.split(qkv, 3, axis=2))
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(dk)
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    scores /= scores.sum(axis=-1, keepdims=True)
    ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(n, t, d)
    return linear(w, "attn.out_proj", ctx)


def forward(w, x, heads):
    h = linear(w, "input", x)
    h = layer_norm(w, "norm1", bilstm(w, "lstm1", h) + h)
    h = layer_norm(w, "norm2", bilstm(w, "lstm2", h) + h)
    h = layer_norm(w, "norm3", attention(w, h, heads) + h)
    z = np.concatenate([h[:, -1, :], h.mean(axis=1)], axis=1)
    z = layer_norm(w, "norm_fc", np.maximum(linear(w, "fc", z), 0.0))
    return linear(w, "head_profitable", z)[:, 0], linear(w, "head_return", z)[:, 0]


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__.strip().splitlines()[-1])
    w, meta = load(sys.argv[1])
    logit, ret = forward(w, w["check.x"], int(meta["n_heads"]))
    dp = np.abs(sigmoid(logit) - w["check.p"]).max()
    dr = np.abs(ret - w["check.return_bps"] / RETURN_SCALE_BPS).max()
    ok = bool(dp <= 1e-4 and dr <= 1e-4)
    print(f"numpy_check max_abs_p={dp:.3e} max_abs_return_head={dr:.3e} ok={int(ok)}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
