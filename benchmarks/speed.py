"""Speed against PyTorch and JAX peers: jaxpcc, SBX and stable-baselines3, alternating pair by pair.

Every side runs the same algorithm, MLP sizes (256, 256), batch size and update ratio (one
gradient update per env step after `--update-after` random steps) on Pendulum-v0, and is then
evaluated on 10 deterministic test episodes outside the timed part. Two modes, each row says
which:

- default: one update after every env step (`update_every = 1`), the reference's default and the
  way every one of its commands trains; SBX and stable-baselines3 use `train_freq = 1`,
  `gradient_steps = 1`, the same schedule.
- device: the default mode with Pendulum's JAX twin stepped inside jaxpcc's compiled program
  (`--env_on_device`): the same schedule, a few calls per run instead of one per step. The peers
  step gymnasium's Pendulum on the host, as in the default mode (they have no such mode).
- blocks: jaxpcc runs `--block` env steps and then that many updates in one call (the same 1:1
  ratio); the peers keep their default schedule.

The ceiling is the update's own speed: updates/s of `update_many` alone on device-resident batches
in blocks of 50 (the mean of readings just before and just after each jaxpcc run), and each
jaxpcc row gives the fraction of it the whole loop reaches. jaxpcc runs in this process with its
programs compiled by a warm-up run; SBX (a JAX port of stable-baselines3, `sbx-rl`) and
stable-baselines3 each run in a fresh process of their own, SBX after a warm-up run there, so
no side's figures include compilation.

    pip install -e '.[bench]'
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

import jax
import numpy as np

import jaxpcc
from jaxpcc import runtime
from jaxpcc.agents import ALGOS
from jaxpcc.envs import make_env
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


def run_jaxpcc(algo, batch_size, steps, update_after, update_every, seed, out: Path, observer=None, on_device=False) -> dict:
    run_dir = out / f"jaxpcc-{algo}-{batch_size}-{update_every}-{seed}{'-device' if on_device else ''}"
    start = time.perf_counter()
    jaxpcc.train(
        ENV_ID, algo, seed, config="test/template_short.gin", run_dir=run_dir, observer=observer, env_on_device=on_device,
        num_epochs=1,
        num_steps_per_epoch=steps, num_test_episodes_per_epoch=0, update_after=update_after,
        update_every=update_every, batch_size=batch_size, hidden_sizes=(256, 256),
    )
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


def run_sbx(algo, batch_size, steps, update_after, seed) -> dict:
    """SBX trained as the stable-baselines3 side is, after a short warm-up run that compiles its programs."""
    import sbx
    from stable_baselines3.common.noise import NormalActionNoise

    def model(seed):
        env = make_env(ENV_ID)
        common = dict(
            learning_rate=3e-4, buffer_size=1_000_000, learning_starts=update_after, batch_size=batch_size,
            tau=0.005, gamma=0.99, train_freq=1, gradient_steps=1, policy_kwargs=dict(net_arch=[256, 256]),
            seed=seed, verbose=0,
        )
        noise = NormalActionNoise(np.zeros(1), 0.1 * np.ones(1))
        if algo == "sac":
            return sbx.SAC("MlpPolicy", env, **common)
        if algo == "td3":
            return sbx.TD3("MlpPolicy", env, action_noise=noise, **common)
        return sbx.DDPG("MlpPolicy", env, action_noise=noise, **common)

    model(seed + 1000).learn(total_timesteps=update_after + 50)  # compiles the programs the timed run uses
    timed = model(seed)
    start = time.perf_counter()
    timed.learn(total_timesteps=steps)
    wall = time.perf_counter() - start
    ret = evaluate(lambda o: timed.predict(o, deterministic=True)[0])
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


WORKERS = {"sb3": run_sb3, "sbx": run_sbx, "reference": reference_timings}
MODES = ("default", "device", "blocks")
PEERS = {"sbx": "sbx", "sb3": "stable_baselines3"}  # side -> the module it needs


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


def update_every_of(mode: str, block: int) -> int:
    return block if mode == "blocks" else 1


def compare(args, mode: str, algo: str, batch_size: int, sides: list[str], out: Path) -> dict:
    """`args.pairs` rounds of every side, in rotating order; prints each run and returns the medians."""
    updates = args.steps - args.update_after
    update_every = update_every_of(mode, args.block)
    walls = {side: [] for side in sides}
    fractions, ceilings = [], []
    # Compile every program the timed runs use: TD3's delay phases, each with and without acting
    # (a run's last update acts for no next step; two warm-ups end on either phase).
    on_device = mode == "device"
    for extra in (1,) if on_device else (1, 2):
        warm_steps = args.steps if on_device else args.update_after + 4 * update_every + extra  # device: the run's stretches
        run_jaxpcc(algo, batch_size, warm_steps, args.update_after, update_every, 1000 + extra, out, on_device=on_device)
    for pair in range(args.pairs):
        seed = pair + 1
        order = sides[pair % len(sides):] + sides[: pair % len(sides)]
        for side in order:
            if side == "jaxpcc":
                # The ceiling drifts by up to 25% within minutes on a shared box: read it just
                # before and just after the loop it is set against, and use the mean.
                before = ceiling(algo, batch_size)
                result = run_jaxpcc(algo, batch_size, args.steps, args.update_after, update_every, seed, out, on_device=on_device)
                ceil = (before + ceiling(algo, batch_size)) / 2
                ceilings.append(ceil)
                fractions.append(updates / result["wall"] / ceil)
            else:
                result = run_isolated(side, algo=algo, batch_size=batch_size, steps=args.steps,
                                      update_after=args.update_after, seed=seed)
            walls[side].append(result["wall"])
            extra = f"{fractions[-1]:10.2f}" if side == "jaxpcc" else f"{'':10s}"
            print(f"{mode:8s} {algo:5s} {batch_size:5d} {side:7s} {result['wall']:8.1f} {args.steps / result['wall']:8.0f} "
                  f"{updates / result['wall']:7.0f} {result['return']:8.1f} {extra}", flush=True)
    summary = {"fraction": float(np.median(fractions)), "ceilings": ceilings}
    # Ratios pair by pair (each pair's sides ran minutes apart), then the median.
    for side in sides:
        if side != "jaxpcc":
            summary[side] = float(np.median([w / j for w, j in zip(walls[side], walls["jaxpcc"])]))
    ratios = ", ".join(f"{summary[side]:.2f}x {side}" for side in sides if side != "jaxpcc")
    print(f"{mode} {algo} batch {batch_size}: jaxpcc is {ratios or 'alone'} (median of pair ratios); "
          f"loop at {summary['fraction']:.2f} of the ceiling ({' / '.join(f'{c:.0f}' for c in ceilings)} updates/s)\n")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algos", nargs="+", default=["sac", "td3", "ddpg"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[256, 100])
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--block", type=int, default=50, help="updates per jaxpcc call in the blocks mode")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--update-after", type=int, default=1_000)
    parser.add_argument("--peers", nargs="*", choices=sorted(PEERS), default=sorted(PEERS),
                        help="the other libraries to run (none: jaxpcc and its ceiling only)")
    parser.add_argument("--no-torch", action="store_true", help="the same as --peers with nothing after it")
    parser.add_argument("--reference", default=None, metavar="PATH",
                        help="an offpcc checkout: also time its own update step and training loop (imported read-only)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker)
    peers = [] if args.no_torch else list(args.peers)
    missing = [PEERS[p] for p in peers if importlib.util.find_spec(PEERS[p]) is None]
    if args.reference and importlib.util.find_spec("torch") is None:
        missing.append("torch")
    if missing:
        parser.error(f"{', '.join(missing)} missing: pip install -e '.[bench]' (or leave those sides out with --peers)")

    runtime.configure()
    out = Path(tempfile.mkdtemp(prefix="jaxpcc-speed-"))
    updates = args.steps - args.update_after
    versions = ", ".join(f"{m} {importlib.metadata.version(d)}" for m, d in (("sbx", "sbx-rl"), ("sb3", "stable-baselines3"), ("torch", "torch"))
                         if (m == "torch" and "sb3" in peers) or m in peers)
    print(f"CPU: {cpu_model()}, jax {jax.__version__}{', ' + versions if versions else ''}, env {ENV_ID}, "
          f"{args.steps} steps, {updates} updates; modes: default = one update per env step, "
          f"device = default with Pendulum's JAX twin in jaxpcc's program, blocks = jaxpcc in blocks of {args.block}")
    print(f"{'mode':8s} {'algo':5s} {'batch':>5s} {'side':7s} {'wall s':>8s} {'steps/s':>8s} {'upd/s':>7s} "
          f"{'return':>8s} {'of ceiling':>10s}")
    summaries = {}
    for mode in args.modes:
        for algo in args.algos:
            for batch_size in args.batch_sizes:
                if args.reference:
                    reference_row(args, algo, batch_size, updates)
                summaries[(mode, algo, batch_size)] = compare(args, mode, algo, batch_size, ["jaxpcc", *peers], out)
    print("summary (medians): mode, algo, batch, " + ", ".join(f"jaxpcc/{p}" for p in peers) + ", loop/ceiling")
    for (mode, algo, batch_size), summary in summaries.items():
        cells = [f"{summary[p]:.2f}x" for p in peers] + [f"{summary['fraction']:.2f}"]
        print(f"  {mode}, {algo}, {batch_size}: " + ", ".join(cells))


if __name__ == "__main__":
    main()
