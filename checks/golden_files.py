"""Golden files: nested dicts of arrays kept as one .npz (never pickle), and how they are compared.

A golden tree maps names to dicts or arrays; it is stored flat, with '/'-joined keys, packed into
one float32 and one float64 array and a JSON index (thousands of small zip entries would cost more
than the numbers). Tensors
larger than `MAX_STORED` elements (ConvolutionalSAC's encoder) are stored as an evenly strided
sample of their flattened entries, beside their largest magnitude, so a file stays small while a
comparison still reads the true scale. Inputs are stored as fingerprints (sums), enough to tell
that the inputs regenerated from seeds are the ones the file was made from.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

MAX_STORED = 2048
SEP = "/"


def sample(a) -> np.ndarray:
    """The flattened tensor, or every k-th entry of it when it has more than `MAX_STORED`."""
    flat = np.asarray(a, np.float32).reshape(-1)
    return flat[:: max(1, math.ceil(flat.size / MAX_STORED))]


def fingerprint(a) -> np.ndarray:
    """[sum, sum |x|, sum x^2] in float64: changes when any input changes beyond rounding."""
    x = np.asarray(a, np.float64).reshape(-1)
    return np.array([x.sum(), np.abs(x).sum(), np.square(x).sum()])


def stored_tensors(tree: dict) -> dict:
    """{network: {param: tensor}} -> {"values": {network: {param: sample}}, "absmax": {...: scalar}}."""
    return {
        "values": {n: {p: sample(v) for p, v in params.items()} for n, params in tree.items()},
        "absmax": {n: {p: np.float64(np.max(np.abs(v))) for p, v in params.items()} for n, params in tree.items()},
    }


def network_difference(ours: dict, stored: dict, network: str) -> float:
    """max |ours - stored| / max |stored| over one network's tensors (sampled like the stored ones)."""
    scale = max(max(float(v) for v in stored["absmax"][network].values()), 1e-30)
    worst = max(float(np.max(np.abs(sample(ours[p]) - v))) for p, v in stored["values"][network].items())
    return worst / scale


def flatten(tree: dict, prefix: str = "") -> dict[str, np.ndarray]:
    out = {}
    for key, value in tree.items():
        if SEP in str(key):
            raise ValueError(f"golden key {key!r} contains {SEP!r}")
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + SEP))
        else:
            out[name] = np.asarray(value)
    return out


def unflatten(flat: dict[str, np.ndarray]) -> dict:
    tree: dict = {}
    for name, value in flat.items():
        *parents, leaf = name.split(SEP)
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


def save(path: str | Path, tree: dict) -> None:
    """Packs the tree's arrays by dtype (float32, float64; anything else must be a scalar or string)."""
    chunks: dict[str, list[np.ndarray]] = {"float32": [], "float64": []}
    index = []
    for name, value in flatten(tree).items():
        if value.dtype.kind in "US" or value.dtype.kind in "iub":
            index.append([name, "json", value.item() if value.ndim == 0 else value.tolist(), []])
            continue
        kind = "float32" if value.dtype == np.float32 else "float64"
        offset = sum(c.size for c in chunks[kind])
        chunks[kind].append(value.astype(kind).reshape(-1))
        index.append([name, kind, offset, list(value.shape)])
    packed = {kind: np.concatenate(c) if c else np.zeros(0, kind) for kind, c in chunks.items()}
    np.savez_compressed(path, index=np.array(json.dumps(index)), **packed)


def load(path: str | Path) -> dict:
    with np.load(path, allow_pickle=False) as data:
        packed = {kind: data[kind] for kind in ("float32", "float64")}
        index = json.loads(str(data["index"]))
    flat = {}
    for name, kind, where, shape in index:
        if kind == "json":
            flat[name] = np.asarray(where)
        else:
            size = int(np.prod(shape))
            flat[name] = packed[kind][where : where + size].reshape(shape)
    return unflatten(flat)
