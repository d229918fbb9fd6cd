"""Bytes a checkpoint writes per epoch: the whole buffer inside checkpoint.npz (before) against chunks (now).

    python -m benchmarks.checkpoint_bytes --epochs 5 --image_epochs 3

Vector run: a real SAC training loop on Pendulum-v0 (1000-step epochs, the reference's 1e6-slot
buffer; random actions, since updates change no sizes). At every epoch's save it counts what the
old format would have written (parameters plus the filled part of the buffer) and what is written
now (checkpoint.npz plus the new chunk). Image run: a synthetic uint8 3x84x84 ReplayBuffer with
template_cnn.gin's 100k capacity, already full (steady state), 1000 random frame pairs pushed per
epoch, and a ConvolutionalSAC state. Old-format sizes are counted by streaming the same npz into a
byte counter, so no 4 GB file touches the disk. policy.npz, the same either way, is not counted.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import jax
import numpy as np

import jaxpcc
from benchmarks.bindings import config_file
from jaxpcc.agents import make_agent
from jaxpcc.loop_observer import LoopObserver
from jaxpcc.persistence import checkpoint
from jaxpcc.persistence.buffer_chunks import ChunkStore
from jaxpcc.persistence.run_checkpoint import CHECKPOINT_NAME
from jaxpcc.replay import ReplayBuffer


class _Counter:
    """A write-only file that counts bytes (zipfile streams into it without seeking)."""

    def __init__(self):
        self.n = 0

    def write(self, data) -> int:
        self.n += len(data)
        return len(data)

    def tell(self) -> int:
        return self.n

    def flush(self) -> None:
        pass

    def read(self, *args):  # numpy only checks that it exists to accept a file object
        raise OSError("write-only")


def old_format_bytes(state, buffer, meta: dict) -> int:
    """Size of the checkpoint.npz the previous code wrote: state, the whole buffer, JSON meta."""
    arrays = {f"state/{k}": v for k, v in checkpoint.flatten_tree(state).items()}
    arrays.update({f"buffer/{k}": v for k, v in buffer.state_dict().items()})
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    counter = _Counter()
    np.savez(counter, **arrays)
    return counter.n


def new_bytes(run_dir: Path, before: set[str], after: list[dict]) -> tuple[int, int]:
    """(checkpoint.npz size, bytes of the chunks this save added)."""
    added = sum(c["bytes"] for c in after if c["file"] not in before)
    return (run_dir / CHECKPOINT_NAME).stat().st_size, added


class SaveSizes(LoopObserver):
    """At each checkpoint the loop commits: (step, old-format bytes, checkpoint bytes, new chunk bytes)."""

    def __init__(self):
        self.rows, self._before = [], set()

    def checkpoint_saving(self, run) -> None:
        self._before = {c["file"] for c in run.chunks.committed}

    def checkpoint_saved(self, run, state) -> None:
        _, meta = checkpoint.load(run.checkpoint_path)  # what the old code's meta held: all but the chunk list
        del meta["buffer_chunks"]
        old = old_format_bytes(state, run.buffer, meta)
        self.rows.append((run.progress.step, old, *new_bytes(run.run_dir, self._before, run.chunks.committed)))


def vector_run(epochs: int, out: Path) -> None:
    config = config_file(
        f"train.num_epochs = {epochs}\ntrain.num_steps_per_epoch = 1000\n"
        "train.num_test_episodes_per_epoch = 1\ntrain.update_after = 10000000\n",
        out,
    )
    sizes = SaveSizes()
    jaxpcc.train("Pendulum-v0", "sac", 1, config=config, run_dir=out / "pendulum", observer=sizes)
    rows = sizes.rows
    print("Pendulum-v0 SAC, 1e6-slot float32 buffer, 1000-step epochs")
    print(f"{'step':>6s} {'before (whole)':>16s} {'now: ckpt':>12s} {'+ chunk':>10s} {'= total':>10s}")
    for step, old, ckpt, chunk in rows:
        print(f"{step:6d} {old:16,d} {ckpt:12,d} {chunk:10,d} {ckpt + chunk:10,d}")
    per_slot = (rows[-1][1] - rows[0][1]) / (rows[-1][0] - rows[0][0])
    print(f"before grows {per_slot:.0f} B per stored transition: {rows[0][1] + per_slot * (1e6 - rows[0][0]):,.0f} B per epoch once full")


def image_run(epochs: int, out: Path) -> None:
    obs_shape, action_dim, capacity = (3, 84, 84), 6, 100_000
    buffer = ReplayBuffer(obs_shape, action_dim, capacity=capacity, obs_dtype=np.uint8, seed=0)
    buffer.size, buffer.ptr = capacity, 12_345  # full and wrapped, as after 100+ epochs (contents: zeros)
    agent = make_agent("csac", obs_shape, action_dim)
    state = agent.init(jax.random.PRNGKey(0))
    store, rng = ChunkStore(out / "image" / "buffer"), np.random.default_rng(0)
    path = out / "image" / "checkpoint.npz"
    frames = rng.integers(0, 256, (1001, *obs_shape), dtype=np.uint8)
    print(f"\nsynthetic image run: uint8 {obs_shape} obs and next_obs, capacity {capacity:,}, full; ConvolutionalSAC state")
    print(f"{'epoch':>6s} {'before (whole)':>16s} {'now: ckpt':>12s} {'+ chunk':>10s} {'= total':>10s}")
    for epoch in range(1, epochs + 1):
        for t in range(1000):
            buffer.push(frames[t], rng.uniform(-1, 1, action_dim), 0.0, frames[t + 1], False)
        old = old_format_bytes(state, buffer, {"epoch": epoch})
        before = {c["file"] for c in store.committed}
        entry = store.prepare(buffer, 1000 * epoch)
        checkpoint.save(path, {"state": checkpoint.flatten_tree(state), "buffer": buffer.small_state()}, {"buffer_chunks": entry})
        store.commit(buffer, entry)
        ckpt, chunk = path.stat().st_size, sum(c["bytes"] for c in entry["chunks"] if c["file"] not in before)
        print(f"{epoch:6d} {old:16,d} {ckpt:12,d} {chunk:10,d} {ckpt + chunk:10,d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5, help="Pendulum epochs of 1000 steps")
    parser.add_argument("--image_epochs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="where files are written (default: a temp dir)")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="jaxpcc-ckpt-bytes-"))
    vector_run(args.epochs, out)
    image_run(args.image_epochs, out)


if __name__ == "__main__":
    main()
