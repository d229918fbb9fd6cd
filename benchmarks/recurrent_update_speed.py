"""Speed of one RSAC update at the reference's configuration, jaxpcc against PyTorch.

Configuration (the reference's recurrent templates on the 200-step pendulums): a batch of 10
episodes x 200 steps, separate 2-layer LSTM-256 summarizers for the actor and both critics (critic
summarizers with targets), MLP heads (256, 256), observation dim 2 (pendulum-p), one action.

jaxpcc: `update_many` (K updates in one jitted call) on device-resident batches; its update runs
the two critic summarizers as one stacked LSTM, runs every summarizer once per update (the losses
reuse the summaries, gradients are pulled back through one vjp), and hoists each layer's input
projection out of the time loop. `--ablations` also times the summarizer pass alone for those
ideas. PyTorch (when importable, `pip install -r requirements-bench.txt`): a faithful rewrite of
the reference's `RecurrentSAC.update_networks` (five nn.LSTM passes, six Adam optimizers).
The sides run in alternating rounds (`--rounds`), and each ratio is taken within a round.

    python -m benchmarks.recurrent_update_speed --updates 20 --rounds 3 --ablations [--profile] [--reference PATH]

`--reference PATH` also times the reference library's own update from an offpcc checkout.
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

import gin
import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.thunk_profile import format_profile, thunk_profile
from jaxpcc.agents import make_agent
from jaxpcc.networks.lstm_kernel import lstm_summaries
from jaxpcc.networks.recurrent import Summarizer
from jaxpcc.types import SequenceBatch

OBS_DIM, ACT_DIM, BATCH, STEPS = 2, 1, 10, 200


def random_batches(k: int, seed: int = 0) -> SequenceBatch:
    """K batches of B episodes of T steps; a third of the episodes are shorter (masked tails)."""
    rng = np.random.default_rng(seed)
    lengths = np.where(rng.random((k, BATCH)) < 0.33, rng.integers(50, STEPS, (k, BATCH)), STEPS)
    f = lambda *shape: rng.normal(size=shape).astype(np.float32)  # noqa: E731
    return SequenceBatch(
        obs=f(k, BATCH, STEPS + 1, OBS_DIM),
        action=np.clip(f(k, BATCH, STEPS, ACT_DIM), -1, 1),
        reward=f(k, BATCH, STEPS),
        done=np.zeros((k, BATCH, STEPS), np.float32),
        mask=(np.arange(STEPS) < lengths[..., None]).astype(np.float32),
    )


def jax_timer(block: int, profile: bool = False) -> Callable[[int], float]:
    """A timer of jaxpcc's RSAC `update_many` in blocks of `block` updates (compiled and warm on return).

    With `profile`, first prints where an update's time goes (thunk time by kind, from a trace).
    The timer runs about `updates` updates and returns their rate in updates/s.
    """
    gin.clear_config()
    agent = make_agent("rsac", OBS_DIM, ACT_DIM)
    holder = {"state": agent.init(jax.random.PRNGKey(0))}
    batches = jax.device_put(random_batches(block))

    def one_call():
        holder["state"], out = agent.update_many(holder["state"], batches)
        return out

    jax.block_until_ready(one_call())  # compile
    if profile:
        print("jaxpcc RSAC update, thunk profile:")
        print(format_profile(thunk_profile(one_call, calls=2, per_call=block)))

    def rate(updates: int) -> float:
        calls = max(1, updates // block)
        start = time.perf_counter()
        for _ in range(calls):
            out = one_call()
        jax.block_until_ready(out)
        return calls * block / (time.perf_counter() - start)

    return rate


def _in_scan_lstm(params, obs):
    """A 2-layer LSTM whose input projection sits inside the time scan (the ablation baseline)."""
    p = params["params"]
    x = jnp.moveaxis(obs, -2, 0)
    for layer in range(2):
        w_ih, w_hh = p[f"weight_ih_l{layer}"], p[f"weight_hh_l{layer}"]
        b = p[f"bias_ih_l{layer}"] + p[f"bias_hh_l{layer}"]
        h = jnp.zeros(x.shape[1:-1] + (w_hh.shape[0],))

        def step(carry, x_t, w_ih=w_ih, w_hh=w_hh, b=b):
            h, c = carry
            i, f, g, o = jnp.split(x_t @ w_ih + h @ w_hh + b, 4, axis=-1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), h

        _, x = jax.lax.scan(step, (h, h), x)
    return jnp.moveaxis(x, 0, -2)


def time_ablations(reps: int) -> dict[str, float]:
    """Milliseconds per forward+backward of the two critic summarizers, five ways."""
    net = Summarizer()
    obs = jnp.asarray(random_batches(1).obs[0])
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    stacked = jax.vmap(lambda k: net.init(k, obs))(keys)
    member = lambda p, i: jax.tree_util.tree_map(lambda x: x[i], p)  # noqa: E731
    hoisted = lambda p: net.apply(p, obs)[0]  # noqa: E731
    in_scan = lambda p: _in_scan_lstm(p, obs)  # noqa: E731
    variants = {
        "stacked LSTM, member-major (jaxpcc)": lambda p: jnp.sum(lstm_summaries(p, 2, obs)[0] ** 2),
        "ensemble vmap of one-member summarizers": lambda p: jnp.sum(jax.vmap(hoisted)(p) ** 2),
        "ensemble vmap, projection inside the scan": lambda p: jnp.sum(jax.vmap(in_scan)(p) ** 2),
        "two separate scans, hoisted projection": lambda p: sum(jnp.sum(hoisted(member(p, i)) ** 2) for i in range(2)),
        "two separate scans, projection inside the scan": lambda p: sum(
            jnp.sum(in_scan(member(p, i)) ** 2) for i in range(2)
        ),
    }
    out = {}
    for name, loss in variants.items():
        fn = jax.jit(jax.grad(loss))
        jax.block_until_ready(fn(stacked))
        start = time.perf_counter()
        for _ in range(reps):
            grads = fn(stacked)
        jax.block_until_ready(grads)
        out[name] = 1000 * (time.perf_counter() - start) / reps
    return out


def torch_timer() -> Callable[[int], float]:
    """A timer (updates -> updates/s) of a faithful PyTorch rewrite of the reference's RecurrentSAC update."""
    import copy

    import torch
    from torch import nn
    from torch.nn import functional as F

    torch.manual_seed(0)

    def mlp(inp, out):
        return nn.Sequential(nn.Linear(inp, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, out))

    class Actor(nn.Module):
        def __init__(self):
            super().__init__()
            self.trunk = nn.Sequential(nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU())
            self.mean, self.log_std = nn.Linear(256, ACT_DIM), nn.Linear(256, ACT_DIM)

        def forward(self, h):
            z = self.trunk(h)
            return self.mean(z), torch.clamp(self.log_std(z), -20, 2).exp()

    def lstm():
        return nn.LSTM(OBS_DIM, 256, num_layers=2, batch_first=True)

    actor_summ, q1_summ, q2_summ = lstm(), lstm(), lstm()
    q1_summ_t, q2_summ_t = copy.deepcopy(q1_summ), copy.deepcopy(q2_summ)
    actor, q1, q2 = Actor(), mlp(256 + ACT_DIM, 1), mlp(256 + ACT_DIM, 1)
    q1_t, q2_t = copy.deepcopy(q1), copy.deepcopy(q2)
    for net in (q1_summ_t, q2_summ_t, q1_t, q2_t):
        net.requires_grad_(False)
    log_alpha = torch.zeros(1, requires_grad=True)
    opt = {n: torch.optim.Adam(m.parameters(), lr=3e-4) for n, m in
           dict(actor_summ=actor_summ, q1_summ=q1_summ, q2_summ=q2_summ, actor=actor, q1=q1, q2=q2).items()}
    alpha_opt = torch.optim.Adam([log_alpha], lr=3e-4)
    masked = lambda x, m: torch.mean(x * m) / m.sum() * np.prod(m.shape)  # noqa: E731

    def sample(h):
        mean, std = actor(h)
        u = mean + std * torch.randn_like(mean)
        log_prob = (-0.5 * ((u - mean) / std) ** 2 - std.log() - 0.5 * np.log(2 * np.pi)).sum(-1, keepdim=True)
        log_prob = log_prob - (2 * (np.log(2) - u - F.softplus(-2 * u))).sum(-1, keepdim=True)
        return torch.tanh(u), log_prob

    def update(b):
        o, a, r, d, m = b
        alpha = float(log_alpha.detach().exp())
        h_actor = actor_summ(o)[0]
        h1, h2 = q1_summ(o)[0], q2_summ(o)[0]
        with torch.no_grad():
            h1_t, h2_t = q1_summ_t(o)[0][:, 1:], q2_summ_t(o)[0][:, 1:]
            na, nlogp = sample(h_actor[:, 1:])
            q_t = torch.min(q1_t(torch.cat([h1_t, na], -1)), q2_t(torch.cat([h2_t, na], -1)))
            y = r + 0.99 * (1 - d) * (q_t - alpha * nlogp)
        l1 = masked((q1(torch.cat([h1[:, :-1], a], -1)) - y) ** 2, m)
        l2 = masked((q2(torch.cat([h2[:, :-1], a], -1)) - y) ** 2, m)
        for n in ("q1_summ", "q1"):
            opt[n].zero_grad()
        l1.backward()
        opt["q1_summ"].step(), opt["q1"].step()
        for n in ("q2_summ", "q2"):
            opt[n].zero_grad()
        l2.backward()
        opt["q2_summ"].step(), opt["q2"].step()
        pa, logp = sample(h_actor[:, :-1])
        min_q = torch.min(q1(torch.cat([h1[:, :-1].detach(), pa], -1)), q2(torch.cat([h2[:, :-1].detach(), pa], -1)))
        actor_loss = masked(alpha * logp - min_q, m)
        opt["actor_summ"].zero_grad(), opt["actor"].zero_grad()
        actor_loss.backward()
        opt["actor_summ"].step(), opt["actor"].step()
        alpha_loss = log_alpha * torch.mean(-logp.detach() + ACT_DIM)
        alpha_opt.zero_grad()
        alpha_loss.backward()
        alpha_opt.step()
        with torch.no_grad():
            for targ, net in ((q1_summ_t, q1_summ), (q2_summ_t, q2_summ), (q1_t, q1), (q2_t, q2)):
                for pt, p in zip(targ.parameters(), net.parameters()):
                    pt.mul_(0.995).add_(0.005 * p)

    nb = random_batches(4)
    batches = [tuple(torch.as_tensor(x[i]) for x in (nb.obs, nb.action, nb.reward[..., None], nb.done[..., None],
                                                     nb.mask[..., None])) for i in range(4)]
    update(batches[0])  # warm-up

    def rate(updates: int) -> float:
        start = time.perf_counter()
        for i in range(updates):
            update(batches[i % len(batches)])
        return updates / (time.perf_counter() - start)

    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=50, help="timed updates per side")
    parser.add_argument("--block", type=int, default=10, help="updates per jaxpcc update_many call")
    parser.add_argument("--ablations", action="store_true", help="also time the summarizer pass four ways")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--profile", action="store_true", help="print jaxpcc's update time by thunk kind (jax.profiler)")
    parser.add_argument("--reference", default=None, metavar="PATH",
                        help="an offpcc checkout: also time its own RecurrentSAC update (imported read-only)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating rounds of every side; the box drifts by 10-25%% over minutes, so "
                             "ratios are taken within a round and their median is reported")
    args = parser.parse_args()
    print(f"RSAC update: batch {BATCH} episodes x {STEPS} steps, 3 LSTM summarizers (2 x 256), "
          f"jax {jax.__version__} on {jax.devices()[0].platform}")
    timers = {"jaxpcc": jax_timer(args.block, args.profile)}
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            print("PyTorch : not importable (pip install -r requirements-bench.txt)")
        else:
            print(f"PyTorch rewrite: torch {torch.__version__}, {torch.get_num_threads()} threads")
            timers["PyTorch"] = torch_timer()
    if args.reference:
        from checks import reference_offpcc

        ref = reference_offpcc.import_reference(args.reference)
        timers["offpcc"] = reference_offpcc.recurrent_update_timer(ref, random_batches(5, seed=1))
    rates = {name: [] for name in timers}
    for round_ in range(args.rounds):
        for name, timer in timers.items():
            rates[name].append(timer(args.updates))
        print(f"round {round_ + 1}: " + "  ".join(f"{name} {r[-1]:.2f}" for name, r in rates.items()) + " updates/s",
              flush=True)
    for name, r in rates.items():
        line = f"{name:8s}: {np.median(r):6.2f} updates/s (median of {len(r)})"
        if name != "jaxpcc":
            ratios = [j / o for j, o in zip(rates["jaxpcc"], r)]
            line += f"; jaxpcc/{name} {np.median(ratios):.2f}x (per round: {' '.join(f'{x:.2f}' for x in ratios)})"
        print(line)
    if args.ablations:
        for name, ms in time_ablations(max(3, args.updates // 5)).items():
            print(f"  critic summarizers fwd+bwd, {name}: {ms:7.1f} ms")


if __name__ == "__main__":
    main()
