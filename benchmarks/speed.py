"""Speed against PyTorch: jaxpcc and stable-baselines3 trained alternately, pair by pair.

Both sides run the same algorithm, MLP sizes (256, 256), batch size and update ratio (one
gradient update per env step after `--update-after` random steps) on Pendulum-v0, and are then
evaluated on 10 deterministic test episodes outside the timed part. jaxpcc runs its updates in
blocks of `--update-every` steps (that many env steps, then that many updates in one jitted call),
which keeps the 1:1 ratio. The script also measures the ceiling: updates/s of `update_many` alone
on pre-sampled batches (the mean of readings just before and just after each jaxpcc run), and
the fraction of it the full jaxpcc loop reaches. Every PyTorch side
(stable-baselines3, and the reference with `--reference`) runs in a fresh process of its own.

    pip install -r requirements-bench.txt
    python -m benchmarks.speed --algos sac td3 ddpg --batch-sizes 256 100 --pairs 3
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gin
import jax
import numpy as np

from jaxpcc import runtime
from jaxpcc.agents import ALGOS
from jaxpcc.envs import make_env
from jaxpcc.loop import train
from jaxpcc.persistence.policy_file import load_policy
from jaxpcc.types import Batch

ENV_ID = "Pendulum-v0"
ROOT = Path(__file__).resolve().parent.parent  # where `python -m benchmarks.speed` runs from


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def ceiling(algo: str, batch_size: int, block: int = 50, calls: int = 30) -> float:
    """Updates/s of `update_many` alone on device-resident, pre-sampled batches."""
    env = make_env(ENV_ID)
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    agent = ALGOS[algo](obs_dim, act_dim, (256, 256))
    state = agent.init(jax.random.PRNGKey(0))
    rng = np.random.default_rng(0)
    shape = (block, batch_size)
    batches = jax.device_put(Batch(
        obs=rng.normal(size=shape + (obs_dim,)).astype(np.float32),
        action=rng.uniform(-1, 1, size=shape + (act_dim,)).astype(np.float32),
        reward=rng.normal(size=shape).astype(np.float32),
        next_obs=rng.normal(size=shape + (obs_dim,)).astype(np.float32),
        done=np.zeros(shape, np.float32),
    ))
    state, _ = agent.update_many(state, batches)
    jax.block_until_ready(state)
    start = time.perf_counter()
    for _ in range(calls):
        state, _ = agent.update_many(state, batches)
    jax.block_until_ready(state)
    return block * calls / (time.perf_counter() - start)


def evaluate(act, episodes: int = 10, seed: int = 10_000) -> float:
    env = make_env(ENV_ID)
    returns = []
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        done, total = False, 0.0
        while not done:
            obs, reward, terminated, truncated, _ = env.step(act(obs))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return float(np.mean(returns))


def run_jaxpcc(algo, batch_size, steps, update_after, update_every, seed, out: Path, observer=None) -> dict:
    gin.clear_config()  # full selectors: the reference, when imported, registers its own `train`
    gin.parse_config(
        f"""
        jaxpcc.loop.train.num_epochs = 1
        jaxpcc.loop.train.num_steps_per_epoch = {steps}
        jaxpcc.loop.train.num_test_episodes_per_epoch = 0
        jaxpcc.loop.train.update_after = {update_after}
        jaxpcc.loop.train.update_every = {update_every}
        jaxpcc.replay.ring.ReplayBuffer.batch_size = {batch_size}
        """
    )
    run_dir = out / f"jaxpcc-{algo}-{batch_size}-{seed}"
    start = time.perf_counter()
    train(ENV_ID, algo, run_dir, seed=seed, quiet=True, observer=observer)
    wall = time.perf_counter() - start

    env = make_env(ENV_ID)
    agent = ALGOS[algo](env.observation_space.shape[0], env.action_space.shape[0], (256, 256))
    state = load_policy(run_dir, agent, agent.init(jax.random.PRNGKey(0)))
    key = jax.random.PRNGKey(0)
    ret = evaluate(lambda o: np.asarray(agent.act(state, o, key, deterministic=True)))
    return {"wall": wall, "return": ret}


def run_sb3(algo, batch_size, steps, update_after, seed) -> dict:
    import stable_baselines3 as sb3
    import torch
    from stable_baselines3.common.noise import NormalActionNoise

    torch.manual_seed(seed)
    env = make_env(ENV_ID)
    common = dict(
        learning_rate=3e-4, buffer_size=1_000_000, learning_starts=update_after, batch_size=batch_size,
        tau=0.005, gamma=0.99, train_freq=1, gradient_steps=1, policy_kwargs=dict(net_arch=[256, 256]),
        seed=seed, verbose=0, device="cpu",
    )
    noise = NormalActionNoise(np.zeros(1), 0.1 * np.ones(1))
    if algo == "sac":
        model = sb3.SAC("MlpPolicy", env, **common)
    elif algo == "td3":
        model = sb3.TD3("MlpPolicy", env, action_noise=noise, **common)
    else:
        model = sb3.DDPG("MlpPolicy", env, action_noise=noise, **common)
    start = time.perf_counter()
    model.learn(total_timesteps=steps)
    wall = time.perf_counter() - start
    ret = evaluate(lambda o: model.predict(o, deterministic=True)[0])
    return {"wall": wall, "return": ret}


def reference_timings(reference: str, algo: str, batch_size: int, steps: int, update_after: int) -> dict:
    """The reference's own update step (updates/s) and training loop (wall s) at the same settings."""
    from checks import reference_offpcc

    ref = reference_offpcc.import_reference(reference)
    env = make_env(ENV_ID)
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    upd = reference_offpcc.time_update(ref, algo, obs_dim, act_dim, batch_size)
    wall = reference_offpcc.time_training(ref, algo, lambda: make_env(ENV_ID), ENV_ID, batch_size, steps, update_after)
    return {"update_rate": upd, "wall": wall}


WORKERS = {"sb3": run_sb3, "reference": reference_timings}


def run_isolated(kind: str, **kwargs) -> dict:
    """Runs a PyTorch side (`WORKERS[kind]`) in a fresh Python process and returns its result.

    Once PyTorch has run, its OpenMP and MKL threads stay in the process. They slowed JAX's
    updates there by about 17% (TD3 ceiling at batch 100: 546 updates/s before an SB3 run in
    the same process, 451 after), which would bias every later jaxpcc run of the comparison.
    """
    spec = json.dumps({"kind": kind, **kwargs})
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.speed", "--worker", spec], capture_output=True, text=True, cwd=ROOT
    )
    if done.returncode != 0:
        raise RuntimeError(f"the {kind} worker failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def reference_row(args, algo: str, batch_size: int, updates: int) -> None:
    ref = run_isolated("reference", reference=args.reference, algo=algo, batch_size=batch_size,
                       steps=args.steps, update_after=args.update_after)
    print(f"reference offpcc: update step alone {ref['update_rate']:.0f} updates/s; training loop {ref['wall']:.1f} s, "
          f"{args.steps / ref['wall']:.0f} steps/s, {updates / ref['wall']:.0f} updates/s")


def worker(spec: str) -> None:
    """`--worker JSON`: one PyTorch side in this process; prints its result as the last line."""
    kwargs = json.loads(spec)
    print(json.dumps(WORKERS[kwargs.pop("kind")](**kwargs)), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algos", nargs="+", default=["sac", "td3", "ddpg"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[256, 100])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--update-after", type=int, default=1_000)
    parser.add_argument("--update-every", type=int, default=50)
    parser.add_argument("--no-torch", action="store_true", help="jaxpcc side and ceiling only")
    parser.add_argument("--reference", default=None, metavar="PATH",
                        help="an offpcc checkout: also time its own update step and training loop (imported read-only)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker)
    needs_torch = not args.no_torch or args.reference
    if needs_torch and importlib.util.find_spec("torch") is None:
        parser.error("PyTorch is missing: pip install -r requirements-bench.txt (or pass --no-torch)")

    runtime.configure()

    out = Path(tempfile.mkdtemp(prefix="jaxpcc-speed-"))
    updates = args.steps - args.update_after
    torch_version = importlib.metadata.version("torch") if needs_torch else "not used"
    print(f"CPU: {cpu_model()}, jax {jax.__version__}, torch {torch_version}, env {ENV_ID}, "
          f"{args.steps} steps, {updates} updates, jaxpcc update_every {args.update_every}")
    header = (f"{'algo':5s} {'batch':>5s} {'side':7s} {'wall s':>8s} {'steps/s':>8s} {'upd/s':>7s} "
              f"{'return':>8s} {'ratio':>6s} {'of ceiling':>10s}")
    for algo in args.algos:
        for batch_size in args.batch_sizes:
            print(f"\n{algo} batch {batch_size}")
            if args.reference:
                reference_row(args, algo, batch_size, updates)
            print(header)
            ratios, fractions, ceilings = [], [], []
            for pair in range(args.pairs):
                seed = pair + 1
                order = ["jaxpcc", "sb3"] if pair % 2 == 0 else ["sb3", "jaxpcc"]
                results = {}
                for side in order:
                    if side == "sb3" and args.no_torch:
                        continue
                    if side == "jaxpcc":
                        # The ceiling drifts by up to 25% within minutes on a shared box: read it
                        # just before and just after the loop it is set against, and use the mean.
                        before = ceiling(algo, batch_size)
                        results[side] = run_jaxpcc(algo, batch_size, args.steps, args.update_after, args.update_every, seed, out)
                        ceil = (before + ceiling(algo, batch_size)) / 2
                        ceilings.append(ceil)
                    else:
                        results[side] = run_isolated("sb3", algo=algo, batch_size=batch_size, steps=args.steps,
                                                     update_after=args.update_after, seed=seed)
                j = results["jaxpcc"]
                frac = (updates / j["wall"]) / ceil
                fractions.append(frac)
                ratio = results["sb3"]["wall"] / j["wall"] if "sb3" in results else float("nan")
                ratios.append(ratio)
                for side, r in results.items():
                    print(f"{algo:5s} {batch_size:5d} {side:7s} {r['wall']:8.1f} {args.steps / r['wall']:8.0f} "
                          f"{updates / r['wall']:7.0f} {r['return']:8.1f} "
                          f"{(ratio if side == 'jaxpcc' else 1.0):6.2f} {(frac if side == 'jaxpcc' else float('nan')):10.2f}",
                          flush=True)
            print(f"{algo} batch {batch_size}: median speed-up jaxpcc/sb3 {np.median(ratios):.2f}x, "
                  f"median fraction of ceiling {np.median(fractions):.2f} "
                  f"(ceiling per pair {' / '.join(f'{c:.0f}' for c in ceilings)} updates/s)")


if __name__ == "__main__":
    main()
