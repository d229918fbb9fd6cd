"""What one default-mode env step costs on the device side, part by part, in one process.

Each part runs `--calls` times in a row, and the parts take turns for `--rounds` rounds, so a
box whose speed drifts between minutes charges every part alike; medians are printed. Pendulum
sizes (3 observation floats, 1 action), 256x256 MLPs, a ring filled with `--filled` random
transitions out of `--capacity`.

- update, device batch: `update_block` with K = 1 on one batch already on the device (the
  update's own cost when it is called once per env step);
- update, device batch, acting: the same program also acting on one observation;
- step program: `Learner.step` as the loop calls it: the transition staged, stored by the ring's
  store program, then sampled, updated, summed and (with acting) acted in one program;
- store alone, draw alone, act alone: the ring's store program, one batch drawn from the ring
  (summed, so it is computed), and the acting program.

The gap between "step program" and "update, device batch" is what the loop pays around the
update; `benchmarks.loop_breakdown` times the whole loop.

    python -m benchmarks.step_parts --algo td3 --batch-size 256
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

from jaxpcc import runtime
from jaxpcc.agents import make_agent
from jaxpcc.evaluation import policy_view
from jaxpcc.learner import Learner
from jaxpcc.replay.device_ring import DeviceRing, draw
from jaxpcc.types import Batch

OBS, ACT = 3, 1


def filled_ring(batch_size: int, capacity: int, filled: int, rng: np.random.Generator) -> DeviceRing:
    ring = DeviceRing(1, (OBS,), ACT, [0], capacity=capacity, batch_size=batch_size)
    view = ring.views[0]
    for i in range(filled):
        obs, next_obs = rng.normal(size=OBS).astype(np.float32), rng.normal(size=OBS).astype(np.float32)
        view.push(obs, rng.uniform(-1, 1, ACT).astype(np.float32), float(rng.normal()), next_obs, False)
        ring.flush()
    return ring


def device_batch(batch_size: int, rng: np.random.Generator) -> Batch:
    shape = (1, batch_size)
    return jax.device_put(Batch(
        obs=rng.normal(size=shape + (OBS,)).astype(np.float32), action=rng.uniform(-1, 1, shape + (ACT,)).astype(np.float32),
        reward=rng.normal(size=shape).astype(np.float32), next_obs=rng.normal(size=shape + (OBS,)).astype(np.float32),
        done=np.zeros(shape, np.float32),
    ))


def parts(algo: str, batch_size: int, capacity: int, filled: int, hidden_sizes=(256, 256)) -> tuple[dict, dict]:
    """The parts as functions of no argument, and the live values they share and advance (the
    train state, the metric sums and the ring)."""
    rng = np.random.default_rng(0)
    agent = make_agent(algo, OBS, ACT, hidden_sizes=hidden_sizes)
    learner = Learner(agent, 1)
    ring = filled_ring(batch_size, capacity, filled, rng)
    view, key, obs = ring.views[0], jax.random.PRNGKey(1), np.zeros(OBS, np.float32)
    batch = device_batch(batch_size, rng)
    live = {"state": agent.init(jax.random.PRNGKey(0)), "sums": learner.zero_sums(), "ring": ring}
    policy = jax.tree.map(lambda x: x + 0, policy_view(agent, live["state"]))  # a copy: the state is donated

    update = jax.jit(lambda s, b: agent.update_block(s, b, 0), donate_argnums=0)

    def update_and_act(s, b, o, k):
        s, _ = agent.update_block(s, b, 0)
        return s, agent.step(s, (), o, k, deterministic=False)[0]

    update_acting = jax.jit(update_and_act, donate_argnums=0)
    act = jax.jit(lambda p, o, k: agent.step(p, (), o, k, deterministic=False)[0])
    draw_summed = jax.jit(lambda r, s: jax.tree.map(lambda x: x.sum(), draw(r, s, 1, batch_size)))

    def run_update():
        live["state"], _ = update(live["state"], batch)

    def run_update_acting():
        live["state"], action = update_acting(live["state"], batch, obs, key)
        np.asarray(action)

    def run_step(acting: bool):
        def step():
            view.push(obs, np.zeros(ACT, np.float32), 0.0, obs, False)
            live["state"], live["sums"], _, _ = learner.step(
                live["state"], live["sums"], (), ring, None, key, 5, [obs] if acting else None, 1, 0
            )
        return step

    def run_store():
        view.push(obs, np.zeros(ACT, np.float32), 0.0, obs, False)
        ring.store(ring.step_input([obs], 5))

    return {
        "update, device batch": run_update,
        "update, device batch, acting": run_update_acting,
        "step program": run_step(False),
        "step program, acting": run_step(True),
        "store alone": run_store,
        "draw alone": lambda: jax.block_until_ready(draw_summed(ring.arrays, live["state"].step)),
        "act alone": lambda: np.asarray(act(policy, obs, key)),
    }, live


WARM_CALLS = 20


def measure(fns: dict, live: dict, calls: int, rounds: int) -> dict[str, list[float]]:
    """ms per call of each part, one reading per round, after `WARM_CALLS` unmeasured calls; the
    parts take turns."""
    for fn in fns.values():
        for _ in range(WARM_CALLS):
            fn()
    readings = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            jax.block_until_ready(live["state"])
            readings[name].append((time.perf_counter() - start) / calls * 1e3)
    return readings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algo", default="td3", choices=["sac", "td3", "ddpg"])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--capacity", type=int, default=1_000_000)
    parser.add_argument("--filled", type=int, default=5_000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    runtime.configure()
    fns, live = parts(args.algo, args.batch_size, args.capacity, args.filled)
    readings = measure(fns, live, args.calls, args.rounds)
    print(f"{args.algo} batch {args.batch_size}, ring {args.filled:,} of {args.capacity:,}, "
          f"{args.rounds} rounds of {args.calls} calls, backend {jax.default_backend()}")
    for name, ms in readings.items():
        print(f"  {name:30s} median {np.median(ms):6.3f} ms  min {min(ms):6.3f}")


if __name__ == "__main__":
    main()
