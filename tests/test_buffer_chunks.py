"""Incremental buffer checkpoints: only new slots are written, wrap-around, crashes, corrupt chunks."""

import shutil

import gin
import numpy as np
import pytest

from jaxpcc.loop import train
from jaxpcc.persistence import checkpoint
from jaxpcc.persistence.buffer_chunks import ChunkStore
from jaxpcc.persistence.run_checkpoint import BUFFER_DIR, CHECKPOINT_NAME
from jaxpcc.replay import RecurrentReplayBuffer, ReplayBuffer
from jaxpcc.replay.dirty import DirtyRange

FIELDS = ("obs", "next_obs", "action", "reward", "done")


def push_n(buf, n, start):
    for i in range(start, start + n):
        buf.push(np.full(2, i, np.float32), np.full(1, i, np.float32), float(i), np.full(2, i + 1, np.float32), i % 3 == 0)
    return start + n


def save(store, buf, path, step):
    """What train._save does with the buffer: chunk, then checkpoint, then commit."""
    entry = store.prepare(buf, step)
    checkpoint.save(path, {"buffer": buf.small_state()}, {"buffer_chunks": entry})
    store.commit(buf, entry)
    return entry


def restore(directory, path, new_buf):
    groups, meta = checkpoint.load(path)
    ChunkStore(directory).restore(new_buf, meta["buffer_chunks"])
    new_buf.load_small_state(groups["buffer"])
    return new_buf


def assert_same(a, b):
    for name, arr in a.slot_arrays().items():
        np.testing.assert_array_equal(arr, b.slot_arrays()[name], err_msg=name)
    for name, value in a.small_state().items():
        np.testing.assert_array_equal(value, b.small_state()[name], err_msg=name)


def ring(capacity, seed=0):
    return ReplayBuffer((2,), 1, capacity=capacity, batch_size=2, seed=seed)


def test_dirty_range_follows_ring_writes():
    d = DirtyRange(4)
    for slot in (2, 2, 3, 0):
        d.touch(slot)
    np.testing.assert_array_equal(d.slots(), [2, 3, 0])
    for slot in (1, 2, 3):
        d.touch(slot)
    assert d.count == 4 and sorted(d.slots()) == [0, 1, 2, 3]
    d.clear()
    assert len(d.slots()) == 0
    d.touch(1)
    with pytest.raises(ValueError, match="ring order"):
        d.touch(3)


def test_each_save_writes_only_the_new_slots(tmp_path):
    buf, store, path = ring(100), ChunkStore(tmp_path / "buffer"), tmp_path / "ckpt.npz"
    step = 0
    for n in (10, 25, 7):
        step = push_n(buf, n, step)
        entry = save(store, buf, path, step)
        last = entry["chunks"][-1]
        assert last["count"] == n and last["start"] == step - n
        with np.load(tmp_path / "buffer" / last["file"], allow_pickle=False) as data:
            assert sorted(data.files) == sorted(FIELDS)
            assert data["obs"].shape == (n, 2)
            np.testing.assert_array_equal(data["reward"], np.arange(step - n, step))
    assert len(entry["chunks"]) == 3
    entry = save(store, buf, path, step + 1)  # nothing pushed: no new chunk
    assert len(entry["chunks"]) == 3 and len(list((tmp_path / "buffer").iterdir())) == 3
    with np.load(path, allow_pickle=False) as data:
        assert sorted(data.files) == ["__meta__", "buffer/ptr", "buffer/size"]  # no slot arrays in the checkpoint
    assert_same(buf, restore(tmp_path / "buffer", path, ring(100, seed=9)))


def test_wrap_around_restores_exactly_and_drops_overwritten_chunks(tmp_path):
    buf, store, path = ring(10), ChunkStore(tmp_path / "buffer"), tmp_path / "ckpt.npz"
    step = 0
    files = []
    for n in (4, 4, 4, 5, 3):  # steps 4, 8, 12 (wraps), 17, 20
        step = push_n(buf, n, step)
        entry = save(store, buf, path, step)
        files.append(entry["chunks"][-1]["file"])
        assert sorted(p.name for p in (tmp_path / "buffer").iterdir()) == [c["file"] for c in entry["chunks"]]
        assert_same(buf, restore(tmp_path / "buffer", path, ring(10, seed=9)))
    assert (entry["chunks"][0]["start"], entry["chunks"][0]["count"]) == (8, 4)  # slots 8, 9, 0, 1
    assert [c["file"] for c in entry["chunks"]] == files[2:]  # slots 10..19 are in the last three chunks
    copy = restore(tmp_path / "buffer", path, ring(10, seed=9))
    np.testing.assert_array_equal(np.sort(copy.reward), np.arange(10, 20))
    assert (copy.ptr, copy.size) == (0, 10)


def test_a_save_after_a_full_lap_writes_the_whole_ring_once(tmp_path):
    buf, store, path = ring(6), ChunkStore(tmp_path / "buffer"), tmp_path / "ckpt.npz"
    save(store, buf, path, push_n(buf, 4, 0))
    entry = save(store, buf, path, push_n(buf, 9, 4))
    assert [(c["start"], c["count"]) for c in entry["chunks"]] == [(0, 6)]
    assert_same(buf, restore(tmp_path / "buffer", path, ring(6, seed=9)))


def test_orphan_chunk_of_a_crash_is_ignored_then_removed(tmp_path, monkeypatch):
    buf, store, path = ring(50), ChunkStore(tmp_path / "buffer"), tmp_path / "ckpt.npz"
    save(store, buf, path, push_n(buf, 10, 0))
    committed = ring(50, seed=9)
    committed.load_state_dict(buf.state_dict())
    push_n(buf, 5, 10)

    def crash(*args, **kwargs):
        raise OSError("killed")

    with monkeypatch.context() as m:  # the chunk is written, the checkpoint naming it is not
        m.setattr(checkpoint, "save", crash)
        with pytest.raises(OSError):
            save(store, buf, path, 15)
    assert len(list((tmp_path / "buffer").iterdir())) == 2
    (tmp_path / "buffer" / "chunk-0000000099.npz.tmp").write_bytes(b"half")  # and a half-written one
    resumed, resumed_store = ring(50, seed=9), ChunkStore(tmp_path / "buffer")
    groups, meta = checkpoint.load(path)
    resumed_store.restore(resumed, meta["buffer_chunks"])
    resumed.load_small_state(groups["buffer"])
    assert_same(committed, resumed)  # the orphan was not read
    push_n(resumed, 6, 10)
    entry = save(resumed_store, resumed, path, 16)
    assert sorted(p.name for p in (tmp_path / "buffer").iterdir()) == [c["file"] for c in entry["chunks"]]
    assert len(entry["chunks"]) == 2


@pytest.mark.parametrize("damage", ["delete", "truncate", "flip"])
def test_missing_or_damaged_chunk_is_refused_and_nothing_is_touched(tmp_path, damage):
    buf, store, path = ring(50), ChunkStore(tmp_path / "buffer"), tmp_path / "ckpt.npz"
    save(store, buf, path, push_n(buf, 10, 0))
    entry = save(store, buf, path, push_n(buf, 10, 10))
    victim = tmp_path / "buffer" / entry["chunks"][-1]["file"]
    data = victim.read_bytes()
    if damage == "delete":
        victim.unlink()
    elif damage == "truncate":
        victim.write_bytes(data[: len(data) // 2])
    else:  # same size, one data byte flipped: the zip CRC catches it while loading
        flipped = bytearray(data)
        flipped[data.index(np.float32(15).tobytes())] ^= 0xFF
        victim.write_bytes(bytes(flipped))
    before = {p: p.read_bytes() for p in [path, *(tmp_path / "buffer").iterdir()]}
    fresh = ring(50, seed=9)
    with pytest.raises(checkpoint.CheckpointError, match=victim.name):
        restore(tmp_path / "buffer", path, fresh)
    assert {p: p.read_bytes() for p in [path, *(tmp_path / "buffer").iterdir()]} == before
    assert_same(ring(50, seed=9), fresh)  # nothing half-loaded


def test_capacity_change_is_refused(tmp_path):
    buf, store, path = ring(50), ChunkStore(tmp_path / "buffer"), tmp_path / "ckpt.npz"
    save(store, buf, path, push_n(buf, 10, 0))
    with pytest.raises(checkpoint.CheckpointError, match="capacity"):
        restore(tmp_path / "buffer", path, ring(40))


def fill_episodes(buf, lengths, step):
    for n in lengths:
        for t in range(n):
            buf.push([step], [step + 0.5], float(step), [step + 1], done=False, truncated=t == n - 1)
            step += 1
    return step


def test_sequence_buffer_round_trips_with_an_episode_in_progress(tmp_path):
    def seq(seed=0):
        return RecurrentReplayBuffer(1, 1, max_episode_len=5, capacity=4, batch_size=2, seed=seed)

    buf, store, path = seq(), ChunkStore(tmp_path / "buffer"), tmp_path / "ckpt.npz"
    step = fill_episodes(buf, [3, 2], 0)
    buf.push([50.0], [0.25], 1.0, [51.0], done=False)  # episode in progress in row 2
    entry = save(store, buf, path, step)
    assert (entry["chunks"][-1]["start"], entry["chunks"][-1]["count"]) == (0, 3)
    buf.push([51.0], [0.75], 1.0, [52.0], done=False, truncated=True)  # ends it ...
    step = fill_episodes(buf, [4, 5, 1], step)  # ... and wraps the 4 rows
    entry = save(store, buf, path, step + 1)
    assert [(c["start"], c["count"]) for c in entry["chunks"]] == [(0, 4)]  # rows 2, 3, 0, 1: all of them
    copy = restore(tmp_path / "buffer", path, seq(seed=9))
    assert_same(buf, copy)
    copy.rng.bit_generator.state = buf.rng.bit_generator.state
    a, b = buf.sample_many(3), copy.sample_many(3)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


QUICK = """
make_MLP.hidden_dimensions = (16,)
ReplayBuffer.batch_size = 8
ReplayBuffer.capacity = 250
train.num_steps_per_epoch = 100
train.num_test_episodes_per_epoch = 0
train.update_after = 100000
earlier_checkpoints.keep = 0  # only the current checkpoint's chunks stay (earlier ones keep theirs)
"""


def run_quick(run_dir, epochs):
    gin.clear_config()
    gin.parse_config(QUICK + f"train.num_epochs = {epochs}")
    train("Pendulum-v0", "td3", run_dir, seed=2, quiet=True)
    return checkpoint.load(run_dir / CHECKPOINT_NAME)


def saved_buffer(run_dir):
    groups, meta = checkpoint.load(run_dir / CHECKPOINT_NAME)
    buf = ReplayBuffer((3,), 1, capacity=250, seed=0)
    ChunkStore(run_dir / BUFFER_DIR).restore(buf, meta["buffer_chunks"])
    buf.load_small_state(groups["buffer"])
    return buf


def to_whole_buffer_format(run_dir):
    """Rewrites a checkpoint as before buffer chunks: the whole buffer inside checkpoint.npz."""
    groups, meta = checkpoint.load(run_dir / CHECKPOINT_NAME)
    groups["buffer"] = saved_buffer(run_dir).state_dict()
    del meta["buffer_chunks"], meta["format_version"]
    checkpoint.save(run_dir / CHECKPOINT_NAME, groups, meta)
    shutil.rmtree(run_dir / BUFFER_DIR)


def test_training_writes_one_chunk_per_epoch_and_resumes_the_same_buffer(tmp_path):
    """Random actions only (no updates): what is checked is the buffer on disk, epoch by epoch."""
    _, whole = run_quick(tmp_path / "whole", 4)
    assert [c["count"] for c in run_quick(tmp_path / "split", 1)[1]["buffer_chunks"]["chunks"]] == [100]
    shutil.copytree(tmp_path / "split", tmp_path / "old")
    to_whole_buffer_format(tmp_path / "old")
    _, split = run_quick(tmp_path / "split", 4)
    run_quick(tmp_path / "old", 4)
    # The 250-slot ring wrapped at step 250: the first chunk's slots were all overwritten, so it went.
    names = [c["file"] for c in split["buffer_chunks"]["chunks"]]
    assert names == ["chunk-0000000200.npz", "chunk-0000000300.npz", "chunk-0000000400.npz"]
    assert whole["buffer_chunks"] == split["buffer_chunks"]
    for name in names:
        assert (tmp_path / "whole" / BUFFER_DIR / name).read_bytes() == (tmp_path / "split" / BUFFER_DIR / name).read_bytes()
    assert sorted(p.name for p in (tmp_path / "split" / BUFFER_DIR).iterdir()) == names
    reference = saved_buffer(tmp_path / "whole")
    assert reference.size == 250 and reference.ptr == 150
    assert_same(reference, saved_buffer(tmp_path / "split"))
    assert_same(reference, saved_buffer(tmp_path / "old"))  # a checkpoint from before chunks resumes too
