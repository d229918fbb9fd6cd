"""Checkpoints without pickle: one .npz file per checkpoint, written atomically.

A checkpoint holds named arrays in groups ("state/...", "buffer/...") plus a JSON metadata
record. It is written to a temporary file, flushed to disk and renamed over the old one, so a
crash mid-write leaves the previous checkpoint intact. Loading is bounded: the zip directory and
each array's .npy header are checked (stored members only, names, shapes and dtypes against what
the caller expects, sizes that add up to the file's) before any array is read, so a crafted file
costs no more memory than the arrays the run expects.
"""

from __future__ import annotations

import dataclasses
import json
import os
import zipfile
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Union

import jax
import numpy as np

FORMAT_VERSION = 1
_META_KEY = "__meta__"
_MAX_META_BYTES = 64 << 20  # the metadata record is JSON: counters, settings, the chunk list
# A stored zip member costs its local header (30 bytes + name) and central entry (46 bytes + name),
# plus up to 40 bytes of extra fields (zip64, alignment); the archive's end records are under 100.
_ZIP_MEMBER_OVERHEAD = 30 + 46 + 40
_ZIP_END_OVERHEAD = 100
_READ_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, NotImplementedError)


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
    _require_names(expected, arrays, f"{what} does not match this run's networks")
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
    On any failure (a full disk, no permission) the temporary file is removed and the error names
    the path; the file at `path`, if any, is left as it was.
    """
    tmp = path.with_name(path.name + ".tmp")
    try:
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
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, OSError) and err.filename is None:
            raise OSError(err.errno, f"{err.strerror or err} (while writing {path})", str(path)) from err
        raise
    return path.stat().st_size


@dataclasses.dataclass(frozen=True)
class ArraySpec:
    """What one stored array must be: its shape and dtype (numpy's `dtype.str`, e.g. '<f4').

    `max_len` > 0 lets the leading dimension be anything up to it (a buffer of unknown fill).
    """

    shape: tuple
    dtype: str
    max_len: int = 0

    def accepts(self, shape: tuple, dtype: np.dtype) -> bool:
        if dtype.str != self.dtype or len(shape) != len(self.shape):
            return False
        if self.max_len:
            return 0 <= shape[0] <= self.max_len and tuple(shape[1:]) == tuple(self.shape[1:])
        return tuple(shape) == tuple(self.shape)


def specs_of(group: str, arrays: Mapping[str, Any]) -> dict[str, ArraySpec]:
    """{"group/name": ArraySpec} of arrays (or pytree leaves) as they are now: what a reload must match."""
    return {f"{group}/{name}": ArraySpec(np.shape(a), np.asarray(a).dtype.str) for name, a in arrays.items()}


Expected = Union[Mapping[str, ArraySpec], Callable[[dict], Mapping[str, ArraySpec]]]


def load(path: str | os.PathLike, expected: Optional[Expected] = None) -> tuple[dict[str, dict[str, np.ndarray]], dict]:
    """Reads a checkpoint into ({group: {name: array}}, meta); raises CheckpointError if unusable.

    Args:
      path: the .npz file.
      expected: {"group/name": ArraySpec} the file must hold exactly, or a function of the
        metadata record returning it. Names, shapes and dtypes are checked from the headers
        before any array is read. None accepts any plain-dtype arrays (still bounded by the
        file's size, since only stored members whose sizes add up are accepted).
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            members = _members(path, zf)
            meta = _read_meta(path, zf, members.pop(_META_KEY, None))
            headers = {name: _npy_header(zf, info) for name, info in members.items()}
            spec = expected(meta) if callable(expected) else expected
            _check_contents(path, headers, spec)
            arrays = {}
            for name, info in members.items():
                with zf.open(info) as f:
                    arrays[name] = np.lib.format.read_array(f, allow_pickle=False)
    except _READ_ERRORS as err:
        raise CheckpointError(f"checkpoint {path} is corrupt or unreadable ({_reason(err)}); it was left untouched") from err
    groups: dict[str, dict[str, np.ndarray]] = {}
    for name, arr in arrays.items():
        group, _, key = name.partition("/")
        groups.setdefault(group, {})[key] = arr
    return groups, meta


def read_meta(path: str | os.PathLike) -> dict:
    """The metadata record alone (no array is read)."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            members = _members(path, zf)
            return _read_meta(path, zf, members.get(_META_KEY))
    except _READ_ERRORS as err:
        raise CheckpointError(f"checkpoint {path} is corrupt or unreadable ({_reason(err)}); it was left untouched") from err


def _reason(err: BaseException) -> str:
    if isinstance(err, FileNotFoundError):
        return "no such file"
    text = str(err).split("\n")[0]
    return text if "allow_pickle" not in text else "an array that is not plain numbers"


def _members(path: Path, zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """{array name: zip entry}: stored (uncompressed) .npy members with unique names, sizes adding up to the file's."""
    infos = zf.infolist()
    members = {}
    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED:
            raise CheckpointError(
                f"checkpoint {path}: member {info.filename!r} is compressed (method {info.compress_type}); "
                "checkpoints hold stored arrays only"
            )
        name = info.filename.removesuffix(".npy")
        if not info.filename.endswith(".npy") or name in members:
            raise CheckpointError(f"checkpoint {path}: unexpected or repeated member {info.filename!r}")
        members[name] = info
    limit = sum(i.file_size + _ZIP_MEMBER_OVERHEAD + 2 * len(i.filename) for i in infos) + _ZIP_END_OVERHEAD
    size = path.stat().st_size
    if size > limit:
        raise CheckpointError(f"checkpoint {path} has {size} bytes, more than the {limit} its arrays need; it is not a checkpoint as written")
    return members


def _read_meta(path: Path, zf: zipfile.ZipFile, info: Optional[zipfile.ZipInfo]) -> dict:
    if info is None:
        raise CheckpointError(f"checkpoint {path} has no metadata record; it is not a jaxpcc checkpoint")
    if info.file_size > _MAX_META_BYTES:
        raise CheckpointError(f"checkpoint {path} has a metadata record of {info.file_size} bytes; it is not a jaxpcc checkpoint")
    shape, dtype, _ = _npy_header(zf, info)
    if dtype != np.uint8 or len(shape) != 1:
        raise CheckpointError(f"checkpoint {path} has a metadata record of {dtype} {shape}; it is not a jaxpcc checkpoint")
    with zf.open(info) as f:
        raw = np.lib.format.read_array(f, allow_pickle=False)
    try:
        meta = json.loads(raw.tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"checkpoint {path} has a corrupt metadata record ({err})") from err
    if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
        version = meta.get("format_version") if isinstance(meta, dict) else None
        raise CheckpointError(f"checkpoint {path} has format {version}, expected {FORMAT_VERSION}")
    return meta


def _npy_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[tuple, np.dtype, int]:
    """(shape, dtype, data offset) from a member's .npy header; its size must be exactly header + data."""
    with zf.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f"member {info.filename!r} has .npy format {version}")
        reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = reader(f)
        offset = f.tell()
    if dtype.hasobject:
        raise ValueError(f"member {info.filename!r} holds Python objects")
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if info.file_size != offset + nbytes:
        raise ValueError(f"member {info.filename!r} has {info.file_size} bytes, its header announces {offset + nbytes}")
    return tuple(shape), dtype, offset


def _check_contents(path: Path, headers: dict, spec: Optional[Mapping[str, ArraySpec]]) -> None:
    if spec is None:
        return
    _require_names(spec, headers, f"checkpoint {path} does not match this run")
    for name, (shape, dtype, _) in headers.items():
        if not spec[name].accepts(shape, dtype):
            want = spec[name]
            raise CheckpointError(
                f"checkpoint {path}: '{name}' has shape {shape} {dtype.str}, this run expects {want.shape} {want.dtype}; "
                "was it written with other settings?"
            )


def _require_names(expected, found, mismatch: str) -> None:
    """Raises CheckpointError naming a few missing and unexpected names, if the two sets differ."""
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    if missing or extra:
        raise CheckpointError(
            f"{mismatch} (missing {missing[:3]}, unexpected {extra[:3]}); was it written by another algorithm or config?"
        )
