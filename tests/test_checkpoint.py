"""Checkpoints: round trip, atomic writes, corrupt and mismatched files refused."""

import jax
import numpy as np
import pytest

from jaxpcc.agents import ALGOS
from jaxpcc.persistence import checkpoint


def state_of(algo="sac", hidden=(16, 16), seed=0):
    agent = ALGOS[algo](3, 1, hidden)
    return agent, agent.init(jax.random.PRNGKey(seed))


def test_round_trip_restores_every_leaf_exactly(tmp_path):
    _, state = state_of()
    path = tmp_path / "ckpt.npz"
    checkpoint.save(path, {"state": checkpoint.flatten_tree(state)}, {"step": 7})
    groups, meta = checkpoint.load(path)
    assert meta["step"] == 7
    _, template = state_of(seed=1)
    restored = checkpoint.unflatten_like(template, groups["state"], "state")
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(restored)):
        np.testing.assert_array_equal(a, b)


def test_no_pickle_inside(tmp_path):
    _, state = state_of()
    path = tmp_path / "ckpt.npz"
    checkpoint.save(path, {"state": checkpoint.flatten_tree(state)}, {})
    with np.load(path, allow_pickle=False) as data:
        for name in data.files:
            assert data[name].dtype != object


def test_corrupt_file_is_refused_and_left_in_place(tmp_path):
    path = tmp_path / "ckpt.npz"
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(checkpoint.CheckpointError, match="corrupt"):
        checkpoint.load(path)
    assert path.read_bytes() == b"not a checkpoint at all"


def test_truncated_file_is_refused(tmp_path):
    _, state = state_of()
    path = tmp_path / "ckpt.npz"
    checkpoint.save(path, {"state": checkpoint.flatten_tree(state)}, {})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(checkpoint.CheckpointError):
        checkpoint.load(path)


def test_mismatched_networks_are_refused(tmp_path):
    _, state = state_of(hidden=(16, 16))
    path = tmp_path / "ckpt.npz"
    checkpoint.save(path, {"state": checkpoint.flatten_tree(state)}, {})
    groups, _ = checkpoint.load(path)
    _, other_width = state_of(hidden=(32, 16))
    with pytest.raises(checkpoint.CheckpointError, match="shape"):
        checkpoint.unflatten_like(other_width, groups["state"], "state")
    _, other_algo = state_of(algo="td3", hidden=(16, 16))
    with pytest.raises(checkpoint.CheckpointError, match="does not match"):
        checkpoint.unflatten_like(other_algo, groups["state"], "state")


def test_failed_write_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    checkpoint.save(path, {"g": {"x": np.arange(3)}}, {"step": 1})

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError):
        checkpoint.save(path, {"g": {"x": np.arange(5)}}, {"step": 2})
    groups, meta = checkpoint.load(path)
    assert meta["step"] == 1 and groups["g"]["x"].tolist() == [0, 1, 2]


def _policy_file(tmp_path):
    """A real policy file, the agent and a template state to load it into."""
    from jaxpcc.persistence.policy_file import save_policy

    agent, state = state_of()
    save_policy(tmp_path, agent, state, "Pendulum-v0", step=0)
    return tmp_path / "policy.npz", agent, state


def _npy_bytes(header_shape, payload: bytes) -> bytes:
    """An .npy member whose header announces `header_shape` float32 but holds `payload`."""
    import io

    f = io.BytesIO()
    np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": header_shape})
    return f.getvalue() + payload


def _crafted(path, members, compression):
    import zipfile

    with zipfile.ZipFile(path) as zf:
        meta = zf.read("__meta__.npy")
    with zipfile.ZipFile(path, "w", compression) as zf:
        zf.writestr("__meta__.npy", meta)
        for name, data in members.items():
            if callable(data):
                with zf.open(name, "w", force_zip64=True) as f:
                    data(f)
            else:
                zf.writestr(name, data)


def _peak_bytes_of(fn) -> int:
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("craft", ["deflated_zeros", "lying_header"])
def test_crafted_policy_is_refused_within_bounded_memory(tmp_path, craft):
    """A small file that announces a 400 MB array: refused from its headers, memory measured."""
    import zipfile

    from jaxpcc.persistence.policy_file import load_policy

    path, agent, state = _policy_file(tmp_path)
    shape = (100_000_000,)  # 400 MB of float32
    if craft == "deflated_zeros":
        def write_zeros(f):
            f.write(_npy_bytes(shape, b""))
            block = bytes(1 << 22)
            for _ in range(100):
                f.write(block)
        _crafted(path, {"actor/['params']['MLP_0']['TorchLinear_0']['bias'].npy": write_zeros}, zipfile.ZIP_DEFLATED)
    else:
        _crafted(path, {"actor/['params']['MLP_0']['TorchLinear_0']['bias'].npy": _npy_bytes(shape, bytes(8))}, zipfile.ZIP_STORED)
    assert path.stat().st_size < 2_000_000

    def load():
        with pytest.raises(checkpoint.CheckpointError):
            load_policy(tmp_path, agent, state)

    assert _peak_bytes_of(load) < 20_000_000


def test_a_file_larger_than_its_expected_contents_is_refused(tmp_path):
    """Padding inside a member (the header announces fewer bytes than it holds), or between members."""
    import zipfile

    from jaxpcc.persistence.policy_file import load_policy

    path, agent, state = _policy_file(tmp_path)
    with zipfile.ZipFile(path) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist() if i.filename != "__meta__.npy"}
    name = next(iter(members))
    _crafted(path, {**{n: d for n, d in members.items()}, name: members[name] + bytes(1 << 20)}, zipfile.ZIP_STORED)
    with pytest.raises(checkpoint.CheckpointError, match="bytes"):
        load_policy(tmp_path, agent, state)
    _crafted(path, members, zipfile.ZIP_STORED)
    load_policy(tmp_path, agent, state)  # the same members without padding load
    with open(path, "r+b") as f:  # junk before the archive: zip readers skip it, the size check does not
        data = f.read()
        f.seek(0)
        f.write(bytes(1 << 20) + data)
    with pytest.raises(checkpoint.CheckpointError, match="more than"):
        load_policy(tmp_path, agent, state)


def test_names_shapes_and_dtypes_are_checked_before_reading(tmp_path):
    agent, state = state_of()
    path = tmp_path / "ckpt.npz"
    checkpoint.save(path, {"state": checkpoint.flatten_tree(state)}, {"step": 1})
    expected = checkpoint.specs_of("state", checkpoint.flatten_tree(state))
    groups, _ = checkpoint.load(path, expected)
    assert set(groups["state"]) == {k.partition("/")[2] for k in expected}
    wider = checkpoint.specs_of("state", checkpoint.flatten_tree(state_of(hidden=(32, 16))[1]))
    with pytest.raises(checkpoint.CheckpointError, match="shape"):
        checkpoint.load(path, wider)
    with pytest.raises(checkpoint.CheckpointError, match="missing"):
        checkpoint.load(path, {**expected, "state/extra": checkpoint.ArraySpec((1,), "<f4")})
    as_doubles = {k: checkpoint.ArraySpec(s.shape, "<f8") for k, s in expected.items()}
    with pytest.raises(checkpoint.CheckpointError, match="shape"):
        checkpoint.load(path, as_doubles)
