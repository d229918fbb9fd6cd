"""ConvolutionalSAC with and without DrQ on an image env: update speed, env steps/s, memory, returns.

Two parts, each run for DrQ on and off:
  1. update speed: warm, compiled `update_many` calls at the reference's shapes (batch 100 of
     uint8 [3, 84, 84] images, one action), timed with `block_until_ready`;
  2. a short training run through `jaxpcc.train` with the reference's template_cnn settings
     (only the step counts shortened): env steps/s of the whole loop, the last test return,
     the replay buffer's size at the configured capacity and the process's peak memory.

    python -m benchmarks.csac --steps 2000 --update-after 1000           # a real, slow run
    python -m benchmarks.csac --steps 300 --update-after 200 --epoch-steps 300 --test-episodes 1
    taskset -c 0 python -m benchmarks.csac --variants drq & taskset -c 1 python -m benchmarks.csac --variants noaug

Image memory: observations are stored as uint8 and both s and s' are kept, so a transition takes
2 * 3 * 84 * 84 = 42,336 bytes; the template's capacity of 100,000 needs 4.23 GB (3.94 GiB), a
quarter of the reference's float32 buffer (16.9 GB).
"""

from __future__ import annotations

import argparse
import csv
import resource
import tempfile
import time
from pathlib import Path

import jax
import numpy as np

import jaxpcc
from benchmarks.bindings import config_file
from jaxpcc import runtime
from jaxpcc.agents import csac
from jaxpcc.agents.common import mlp_hidden_sizes
from jaxpcc.envs import make_env
from jaxpcc.replay import ReplayBuffer
from jaxpcc.types import Batch

ENV = "dmc-cartpole-balance-mdp-img-concat3-v0"


def buffer_bytes(obs_shape, action_dim: int, capacity: int) -> int:
    """Bytes of a uint8 image ReplayBuffer at `capacity` (numpy allocates pages lazily, so this is cheap)."""
    buffer = ReplayBuffer(obs_shape, action_dim, capacity=capacity, obs_dtype=np.uint8, seed=0)
    return sum(a.nbytes for a in (buffer.obs, buffer.next_obs, buffer.action, buffer.reward, buffer.done))


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux reports KiB


def update_speed(augment: bool, obs_shape, action_dim: int, batch_size: int, k: int, repeats: int, conv_impl: str) -> float:
    """Gradient steps per second of warm `update_many` calls of `k` steps each."""
    agent = csac.make_agent(obs_shape, action_dim, mlp_hidden_sizes(), augment=augment, conv_impl=conv_impl)
    rng = np.random.default_rng(0)
    images = lambda: rng.integers(0, 256, (k, batch_size) + tuple(obs_shape), dtype=np.uint8)  # noqa: E731
    batches = jax.device_put(
        Batch(
            obs=images(),
            action=rng.uniform(-1, 1, (k, batch_size, action_dim)).astype(np.float32),
            reward=rng.normal(size=(k, batch_size)).astype(np.float32),
            next_obs=images(),
            done=np.zeros((k, batch_size), np.float32),
        )
    )
    state = agent.init(jax.random.PRNGKey(0))
    state, _ = agent.update_many(state, batches)  # compile
    jax.block_until_ready(state)
    start = time.perf_counter()
    for _ in range(repeats):
        state, metrics = agent.update_many(state, batches)
    jax.block_until_ready((state, metrics))
    return k * repeats / (time.perf_counter() - start)


def env_speed(env_id: str, steps: int) -> float:
    """Env steps per second with random actions (rendering included), resets excluded."""
    env = make_env(env_id, seed=0)
    env.reset(seed=0)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    env.close()
    return steps / (time.perf_counter() - start)


def train_run(env_id: str, augment: bool, args, out: Path) -> dict:
    config = config_file(
        f"""
        ReplayBuffer.capacity = {args.capacity}
        ReplayBuffer.use_aug_for_img = {augment}
        train.num_epochs = {max(args.steps // args.epoch_steps, 1)}
        train.num_steps_per_epoch = {args.epoch_steps}
        train.num_test_episodes_per_epoch = {args.test_episodes}
        train.update_after = {args.update_after}
        """,
        out,
        name=f"{'drq' if augment else 'noaug'}.gin",
    )
    start = time.perf_counter()
    run_dir = out / ("drq" if augment else "noaug")
    row = dict(jaxpcc.train(env_id, "csac", args.seed, config=config, run_dir=run_dir).last_epoch)
    row["wall_s"] = time.perf_counter() - start
    with open(run_dir / "progress.csv") as f:
        epochs = list(csv.DictReader(f))
    row["curve"] = [(int(float(e["Timesteps"])), float(e["Episode Return (Test)"])) for e in epochs]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default=ENV)
    parser.add_argument("--steps", type=int, default=2000, help="env steps per training run (0: skip the runs)")
    parser.add_argument("--epoch-steps", type=int, default=1000)
    parser.add_argument("--update-after", type=int, default=1000)
    parser.add_argument("--test-episodes", type=int, default=1)
    parser.add_argument("--capacity", type=int, default=100_000, help="the reference's template_cnn capacity")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--k", type=int, default=5, help="gradient steps per timed update_many call")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--conv-impl", default="im2col", choices=["im2col", "xla"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--variants", nargs="+", default=["drq", "noaug"], choices=["drq", "noaug"],
                        help="which to run (one per process lets two runs share a machine, e.g. under taskset)")
    parser.add_argument("--out", type=Path, default=None, help="where runs are written (default: a temp dir)")
    args = parser.parse_args()
    runtime.configure()
    out = args.out or Path(tempfile.mkdtemp(prefix="jaxpcc-csac-bench-"))

    env = make_env(args.env, seed=0)
    obs_shape, action_dim = env.observation_space.shape, env.action_space.shape[0]
    env.close()
    size = buffer_bytes(obs_shape, action_dim, args.capacity)
    print(f"{args.env}: obs {obs_shape} {env.observation_space.dtype}, {action_dim} action(s); device {jax.devices()[0]}")
    print(f"replay buffer at capacity {args.capacity:,}: {size / 1e9:.2f} GB ({size / 2**30:.2f} GiB), uint8 s and s'")
    print(f"env alone, random actions: {env_speed(args.env, 100):.1f} steps/s", flush=True)
    variants = [v == "drq" for v in args.variants]
    for augment in variants:
        speed = update_speed(augment, obs_shape, action_dim, args.batch_size, args.k, args.repeats, args.conv_impl)
        print(f"update speed, DrQ {'on ' if augment else 'off'}: {speed:.2f} gradient steps/s "
              f"(batch {args.batch_size}, {args.conv_impl}, K={args.k})", flush=True)
    if args.steps <= 0:
        return
    print(f"training runs: {args.steps} env steps, updates after {args.update_after}, runs in {out}")
    print(f"{'variant':8s} {'env steps/s':>12s} {'wall s':>8s} {'test return':>12s} {'train return':>13s} {'Q1 loss':>9s} {'peak RSS GiB':>13s}")
    for augment in variants:
        row = train_run(args.env, augment, args, out)
        print(
            f"{'DrQ' if augment else 'no aug':8s} {args.steps / row['wall_s']:12.2f} {row['wall_s']:8.0f} "
            f"{row.get('Episode Return (Test)', float('nan')):12.1f} {row.get('Episode Return (Train)', float('nan')):13.1f} "
            f"{row.get('(qfunc) Q1 loss', float('nan')):9.3f} {peak_rss_gib():13.2f}",
            flush=True,
        )
        print("  test return by env step: " + ", ".join(f"{step}: {ret:.1f}" for step, ret in row["curve"]), flush=True)


if __name__ == "__main__":
    main()
