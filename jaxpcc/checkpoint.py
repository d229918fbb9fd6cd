"""Checkpoints without pickle: one .npz file per checkpoint, written atomically.

A checkpoint holds named arrays in groups ("state/...", "buffer/...") plus a JSON metadata
record. It is written to a temporary file, flushed to disk and renamed over the old one, so a
crash mid-write leaves the previous checkpoint intact. Loading checks every array against a
template pytree and refuses a corrupt or mismatched file before anything is used.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any, Mapping

import jax
import numpy as np

FORMAT_VERSION = 1
_META_KEY = "__meta__"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used: unreadable, corrupt, or made by a different run."""


def flatten_tree(tree: Any) -> dict[str, np.ndarray]:
    """Pytree -> {key path: numpy array}, e.g. "['actor']['params']['kernel']"."""
    leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
    return {jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves}


def unflatten_like(template: Any, arrays: Mapping[str, np.ndarray], what: str) -> Any:
    """Rebuilds a pytree shaped like `template` from `flatten_tree` output, checking everything."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(template)
    expected = {jax.tree_util.keystr(path): leaf for path, leaf in leaves}
    missing = sorted(set(expected) - set(arrays))
    extra = sorted(set(arrays) - set(expected))
    if missing or extra:
        raise CheckpointError(
            f"{what} does not match this run's networks (missing {missing[:3]}, unexpected {extra[:3]}); "
            "was it written by another algorithm or config?"
        )
    out = []
    for key, leaf in expected.items():
        arr = arrays[key]
        if arr.shape != np.shape(leaf) or arr.dtype != np.asarray(leaf).dtype:
            raise CheckpointError(
                f"{what}: '{key}' has shape {arr.shape} {arr.dtype}, this run expects "
                f"{np.shape(leaf)} {np.asarray(leaf).dtype}; was it written with other settings?"
            )
        out.append(arr)
    return jax.tree_util.tree_unflatten(treedef, out)


def save(path: str | os.PathLike, groups: Mapping[str, Mapping[str, np.ndarray]], meta: Mapping) -> None:
    """Atomically writes `groups` ({group: {name: array}}) and JSON `meta` to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"{group}/{name}": np.asarray(a) for group, named in groups.items() for name, a in named.items()}
    record = {"format_version": FORMAT_VERSION, **meta}
    arrays[_META_KEY] = np.frombuffer(json.dumps(record).encode(), dtype=np.uint8)
    write_npz_atomic(path, arrays)


def write_npz_atomic(path: Path, arrays: Mapping[str, np.ndarray]) -> int:
    """Writes an npz through a temporary file, fsync and rename; returns its size in bytes.

    The directory is synced too, so the rename is durable before anything refers to the file.
    """
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path.stat().st_size


def load(path: str | os.PathLike) -> tuple[dict[str, dict[str, np.ndarray]], dict]:
    """Reads a checkpoint into ({group: {name: array}}, meta); raises CheckpointError if unusable."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as err:
        raise CheckpointError(f"checkpoint {path} is corrupt or unreadable ({err}); it was left untouched") from err
    if _META_KEY not in arrays:
        raise CheckpointError(f"checkpoint {path} has no metadata record; it is not a jaxpcc checkpoint")
    try:
        meta = json.loads(arrays.pop(_META_KEY).tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"checkpoint {path} has a corrupt metadata record ({err})") from err
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"checkpoint {path} has format {meta.get('format_version')}, expected {FORMAT_VERSION}")
    groups: dict[str, dict[str, np.ndarray]] = {}
    for name, arr in arrays.items():
        group, _, key = name.partition("/")
        groups.setdefault(group, {})[key] = arr
    return groups, meta


def read_meta(path: str | os.PathLike) -> dict:
    """A checkpoint's metadata record alone (an npz member is read only when asked for), for tools
    that need a run's progress without loading its arrays; raises CheckpointError if unusable."""
    try:
        with np.load(Path(path), allow_pickle=False) as data:
            return json.loads(data[_META_KEY].tobytes().decode())
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError, UnicodeDecodeError) as err:
        raise CheckpointError(f"checkpoint {path} has no readable metadata record ({err})") from err
