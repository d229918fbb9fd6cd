"""Checkpoints: round trip, atomic writes, corrupt and mismatched files refused."""

import jax
import numpy as np
import pytest

from jaxpcc import checkpoint
from jaxpcc.agents import ALGOS


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
