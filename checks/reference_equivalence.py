"""jaxpcc's updates against the reference's own `update_networks`, gradient by gradient.

For DDPG, TD3, SAC, ConvolutionalSAC and the recurrent RDPG, RTD3, RSAC and RSAC with a shared
summarizer, both sides start from the same weights (jaxpcc's initial state, copied into the reference's PyTorch
modules, targets included), read the same batch and draw the same Gaussian noise: the
reference's noise calls (`rsample` of its policy distributions, `torch.randn` of TD3's target
smoothing) return what jaxpcc's update draws from its key. Then every gradient each of the
reference's optimizers receives is compared with the one jaxpcc hands to the same parameters, as
max |jaxpcc - reference| / max |reference| per optimizer, and the logged values are printed side
by side. TD3 and RTD3 run two updates, so that their delayed actor step (on the second) is
compared too.

    python -m checks.reference_equivalence --reference PATH/TO/offpcc-checkout [--algos rsac] [--padded]
    python -m checks.reference_equivalence --reference PATH/TO/offpcc-checkout --write-golden tests/golden

The second form writes golden files instead: the reference's outputs (gradients per optimizer,
logged values, weights after the last update) for every case of `GOLDEN_CASES` at the small
sizes of `GOLDEN`, with fingerprints of the inputs they were made from. `tests/test_golden.py`
replays the same inputs through jaxpcc alone and compares, so CI checks the reference's own
numbers without PyTorch or a checkout.

The feed-forward agents read a batch of 100 transitions (the reference's default) drawn from the
same random episodes; ConvolutionalSAC reads 100 random 3 x 84 x 84 images (uint8 for jaxpcc,
divided by 255 for the reference) without augmentation: the reference augments in its replay
buffer, outside the update. With `--padded` a third of the episodes end early and sit in a zero-padded
batch (recurrent agents). The reference
averages its temperature loss over padding too (a quirk jaxpcc does not copy), so there the
log-alpha gradient differs by design and is reported but not checked. Exits with status 1 when
any checked gradient of a first update differs by more than `--tolerance`, or of a later update
by more than `--later-tolerance`: Adam's first step moves a weight by lr * g / (|g| + 1e-8), so
for gradients near 1e-8 a rounding-level difference in g becomes a weight difference near 1e-6
(measured on RTD3: 1.1e-6 at a gradient of -6.3e-9), and the next update's gradients then differ
by more than rounding. ConvolutionalSAC's encoder is checked against `--kink-tolerance`: among
its millions of ReLU inputs a few lie within rounding of zero, and one taking the other side of
the kink on each side moves a channel's gradient by about 1e-3 (measured: one third-layer input
at 1.5e-8 in jaxpcc and -4.2e-8 in the reference; the encoder alone agrees to 1e-14 in float64).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import sys
import warnings
from pathlib import Path
from typing import Callable

import gin
import jax
import numpy as np

from checks import golden_files
from checks.reference_offpcc import import_reference
from jaxpcc.agents import ALGOS
from jaxpcc.agents import csac, rsac, rsac_s, sac
from jaxpcc.agents.ddpg_family import update as ddpg_update
from jaxpcc.agents.common import linear_decay, tapping_gradients
from jaxpcc.agents.recurrent import SummarizerConfig
from jaxpcc.types import Batch, SequenceBatch

OBS_DIM, ACT_DIM = 2, 1
IMAGE_SHAPE = (3, 84, 84)


@dataclasses.dataclass(frozen=True)
class Sizes:
    """Problem sizes: networks, batch shapes. `CHECK` is the reference's defaults, `GOLDEN` is small.

    Attributes:
      obs_dim, act_dim: the vector agents' observation and action widths.
      hidden: every MLP's widths (the reference's `make_MLP.hidden_dimensions`).
      summary: the summarizers' width (the reference's `hidden_dim`).
      embedding: ConvolutionalSAC's embedding width.
      episodes, steps: the recurrent batch ([episodes, steps]); transitions are drawn from it.
      transitions, images: the feed-forward and ConvolutionalSAC batch sizes.
    """

    obs_dim: int = OBS_DIM
    act_dim: int = ACT_DIM
    hidden: tuple[int, ...] = (256, 256)
    summary: int = 256
    embedding: int = 50
    episodes: int = 10
    steps: int = 200
    transitions: int = 100
    images: int = 100


CHECK = Sizes()
# Small enough that the golden files stay ~1 MB; two actions so per-dimension sums show.
GOLDEN = Sizes(obs_dim=3, act_dim=2, hidden=(16, 16), summary=8, embedding=4, episodes=6, steps=8,
               transitions=24, images=4)

# jaxpcc head layers (paths under the params holding `MLP_0`) -> the reference's nn.Sequential /
# nn.Linear names, per head kind.
THREE_LINEAR = (["MLP_0/TorchLinear_0", "MLP_0/TorchLinear_1", "MLP_0/TorchLinear_2"], ["net.0", "net.2", "net.4"])
HEAD_LAYERS = {
    "gaussian": (["MLP_0/TorchLinear_0", "MLP_0/TorchLinear_1", "mean", "log_std"],
                 ["shared_net.0", "shared_net.2", "means_layer", "log_stds_layer"]),
    "tanh": THREE_LINEAR,  # the reference's MLPTanhActor
    "critic": THREE_LINEAR,  # MLPCritic
}


@dataclasses.dataclass(frozen=True)
class Pairing:
    """How one jaxpcc agent's state lines up with the reference class's attributes.

    Attributes:
      update: the jaxpcc update that runs, (config, state, batch) -> (state, metrics); the
        `apply_gradients` of its module is recorded.
      recurrent: summarizers and sequence batches (else transitions and plain MLPs).
      image: a conv encoder (the reference's `cnn`) on image observations.
      actor_head: "gaussian" (SAC family) or "tanh" (DDPG family).
      critics: the reference's critic attribute names, one per ensemble member.
      critic_summarizers: their summarizers' attribute names (None: one shared `summarizer`).
      noise: "policy" (rsample of the actor's distribution), "smoothing" (torch.randn) or None.
      updates: how many updates to compare (RTD3: 2, its first actor step is on the second).
    """

    update: Callable
    recurrent: bool
    actor_head: str
    critics: tuple[str, ...]
    critic_summarizers: tuple[str, ...] | None
    noise: str | None
    updates: int = 1
    image: bool = False


PAIRINGS = {
    "ddpg": Pairing(ddpg_update.update, False, "tanh", ("Q",), None, None),
    "td3": Pairing(ddpg_update.update, False, "tanh", ("Q1", "Q2"), None, "smoothing", updates=2),
    "sac": Pairing(sac.update, False, "gaussian", ("Q1", "Q2"), None, "policy"),
    "csac": Pairing(csac.update, False, "gaussian", ("Q1", "Q2"), None, "policy", image=True),
    "rdpg": Pairing(ddpg_update.update_recurrent, True, "tanh", ("Q",), ("critic_summarizer",), None),
    "rtd3": Pairing(ddpg_update.update_recurrent, True, "tanh", ("Q1", "Q2"), ("Q1_summarizer", "Q2_summarizer"), "smoothing", updates=2),
    "rsac": Pairing(rsac.update, True, "gaussian", ("Q1", "Q2"), ("Q1_summarizer", "Q2_summarizer"), "policy"),
    "rsac_s": Pairing(rsac_s.update, True, "gaussian", ("Q1", "Q2"), None, "policy"),
}


def sequence_batch(batch: int, steps: int, padded: bool, seed: int, obs_dim: int = OBS_DIM,
                   act_dim: int = ACT_DIM) -> SequenceBatch:
    """Random episodes (the first at full length); padded ones are zero beyond their end."""
    rng = np.random.default_rng(seed)
    lengths = np.full(batch, steps)
    if padded:
        lengths[1:] = np.where(rng.random(batch - 1) < 0.33, rng.integers(steps // 4, steps, batch - 1), steps)
    valid = np.arange(steps) < lengths[:, None]
    obs = rng.normal(size=(batch, steps + 1, obs_dim)).astype(np.float32)
    obs[np.arange(steps + 1) > lengths[:, None]] = 0.0
    return SequenceBatch(
        obs=obs,
        action=(np.clip(rng.normal(size=(batch, steps, act_dim)), -1, 1) * valid[..., None]).astype(np.float32),
        reward=(rng.normal(size=(batch, steps)) * valid).astype(np.float32),
        done=np.zeros((batch, steps), np.float32),
        mask=valid.astype(np.float32),
    )


def transitions(episodes: SequenceBatch, size: int, seed: int) -> Batch:
    """`size` transitions drawn from the episodes' valid steps (the feed-forward agents' batch)."""
    rng = np.random.default_rng(seed)
    rows, steps = np.nonzero(episodes.mask)
    pick = rng.choice(len(rows), size, replace=False)
    b, t = rows[pick], steps[pick]
    return Batch(obs=episodes.obs[b, t], action=episodes.action[b, t], reward=episodes.reward[b, t],
                 next_obs=episodes.obs[b, t + 1], done=episodes.done[b, t])


def image_transitions(size: int, seed: int, act_dim: int = ACT_DIM) -> Batch:
    """`size` random uint8 image transitions (ConvolutionalSAC's batch)."""
    rng = np.random.default_rng(seed)
    pixels = lambda: rng.integers(0, 256, (size,) + IMAGE_SHAPE, dtype=np.uint8)  # noqa: E731
    return Batch(obs=pixels(), action=np.clip(rng.normal(size=(size, act_dim)), -1, 1).astype(np.float32),
                 reward=rng.normal(size=size).astype(np.float32), next_obs=pixels(),
                 done=(rng.random(size) < 0.1).astype(np.float32))


# --- jaxpcc params in the reference's names ------------------------------------------------------


def summarizer_names(params) -> dict:
    """Summarizer params -> {"rnn.weight_ih_l0": [4H, I], ...} (PyTorch keeps weights [out, in])."""
    return {f"rnn.{k}": np.asarray(v).T if k.startswith("weight") else np.asarray(v) for k, v in params["params"].items()}


def head_names(params, kind: str) -> dict:
    """A head's params (the dict holding `MLP_0`) -> {"net.0.weight": [out, in], ...}."""
    out = {}
    for layer, torch_name in zip(*HEAD_LAYERS[kind]):
        p = params
        for part in layer.split("/"):
            p = p[part]
        out[f"{torch_name}.weight"], out[f"{torch_name}.bias"] = np.asarray(p["kernel"]).T, np.asarray(p["bias"])
    return out


def encoder_names(params) -> dict:
    """ConvEncoder params -> the reference's `ConvNet` (nn.Sequential: 4 convs, flatten, linear, LayerNorm)."""
    p, out = params["params"], {}
    for i in range(4):  # HWIO -> PyTorch's OIHW
        out[f"layers.{2 * i}.weight"] = np.asarray(p[f"TorchConv_{i}"]["kernel"]).transpose(3, 2, 0, 1)
        out[f"layers.{2 * i}.bias"] = np.asarray(p[f"TorchConv_{i}"]["bias"])
    out["layers.9.weight"], out["layers.9.bias"] = np.asarray(p["TorchLinear_0"]["kernel"]).T, np.asarray(p["TorchLinear_0"]["bias"])
    out["layers.10.weight"], out["layers.10.bias"] = np.asarray(p["LayerNorm_0"]["scale"]), np.asarray(p["LayerNorm_0"]["bias"])
    return out


def member(tree, i: int):
    return jax.tree.map(lambda a: np.asarray(a)[i], tree)


def critic_names(pairing: Pairing, summarizers, heads, suffix: str = "") -> dict:
    """{reference attribute: params} for the critic heads (stacked, the dict holding `MLP_0`) and
    their summarizers (stacked, shared, or None for feed-forward agents)."""
    out = {}
    for i, name in enumerate(pairing.critics):
        out[name + suffix] = head_names(member(heads, i), "critic")
        if pairing.critic_summarizers is not None and summarizers is not None:
            out[pairing.critic_summarizers[i] + suffix] = summarizer_names(member(summarizers, i))
    if pairing.critic_summarizers is None and summarizers is not None:
        out["summarizer" + suffix] = summarizer_names(summarizers)
    return out


def reference_weights(pairing: Pairing, state) -> dict:
    """Every network of the reference agent (targets included) from jaxpcc's state."""
    if not pairing.recurrent:
        out = {"actor": head_names(state.actor["params"], pairing.actor_head)}
        if pairing.image:
            out["cnn"], out["cnn_targ"] = encoder_names(state.encoder), encoder_names(state.target_encoder)
        if hasattr(state, "target_actor"):
            out["actor_targ"] = head_names(state.target_actor["params"], pairing.actor_head)
        out.update(critic_names(pairing, None, state.critic["params"]["ensemble"]))
        out.update(critic_names(pairing, None, state.target_critic["params"]["ensemble"], "_targ"))
        return out
    if pairing.critic_summarizers is None:  # rsac_s
        out = {"actor": head_names(state.actor["params"], pairing.actor_head)}
        out.update(critic_names(pairing, state.summarizer, state.critic["params"]))
        out.update(critic_names(pairing, state.target_summarizer, state.target_critic["params"], "_targ"))
        return out
    out = {"actor_summarizer": summarizer_names(state.actor["summarizer"]),
           "actor": head_names(state.actor["head"]["params"], pairing.actor_head)}
    if hasattr(state, "target_actor"):
        out["actor_summarizer_targ"] = summarizer_names(state.target_actor["summarizer"])
        out["actor_targ"] = head_names(state.target_actor["head"]["params"], pairing.actor_head)
    critic, target = state.critic, state.target_critic
    out.update(critic_names(pairing, critic["summarizer"], critic["head"]["params"]))
    out.update(critic_names(pairing, target["summarizer"], target["head"]["params"], "_targ"))
    return out


def reference_gradients(pairing: Pairing, steps: list) -> dict:
    """jaxpcc's recorded optimizer steps (critic, actor, log-alpha; in that order) in the reference's names."""
    out = {}
    for tree in steps:
        if not isinstance(tree, dict):  # log-alpha
            out["log_alpha"] = {"log_alpha": np.asarray(tree).reshape(-1)}
        elif "params" in tree and "TorchConv_0" in tree["params"]:  # ConvolutionalSAC's encoder
            out["cnn"] = encoder_names(tree)
        elif "params" in tree and "ensemble" in tree["params"]:  # feed-forward critics
            out.update(critic_names(pairing, None, tree["params"]["ensemble"]))
        elif "params" in tree:  # a feed-forward actor, or rsac_s's actor head
            out["actor"] = head_names(tree["params"], pairing.actor_head)
        elif tree["head"]["params"]["MLP_0"]["TorchLinear_0"]["kernel"].ndim == 3:  # stacked recurrent critics
            out.update(critic_names(pairing, tree["summarizer"], tree["head"]["params"]))
        else:
            out["actor_summarizer"] = summarizer_names(tree["summarizer"])
            out["actor"] = head_names(tree["head"]["params"], pairing.actor_head)
    return out


# --- one update on each side --------------------------------------------------------------------


def update_noise(pairing: Pairing, state, shape) -> list[np.ndarray]:
    """The Gaussian draws jaxpcc's update makes from state.key, in the order the reference draws them."""
    if pairing.noise == "policy":
        # ConvolutionalSAC splits off an augmentation key first (unused here: no augmentation)
        keys = jax.random.split(state.key, 4 if pairing.image else 3)
        critic_key, actor_key = keys[-2], keys[-1]
        return [np.asarray(jax.random.normal(k, shape, np.float32)) for k in (critic_key, actor_key)]
    if pairing.noise == "smoothing":
        _, noise_key = jax.random.split(state.key)
        return [np.asarray(jax.random.normal(noise_key, shape, np.float32))]
    return []


def sac_family(pairing: Pairing) -> bool:
    return pairing.noise == "policy"


@dataclasses.dataclass(frozen=True)
class Case:
    """One comparison: an agent, its batch's kind, its learning-rate schedule and number of updates.

    Attributes:
      algo: a key of `PAIRINGS`.
      padded: recurrent batches with episodes that end early (zero-padded).
      decay: `linear_decay`'s num_updates (DDPG, TD3, SAC), or None for a constant rate.
      updates: how many updates to run (None: the pairing's).
    """

    algo: str
    padded: bool = False
    decay: int | None = None
    updates: int | None = None

    @property
    def name(self) -> str:
        return self.algo + ("_padded" if self.padded else "") + ("_decay" if self.decay else "")

    @property
    def pairing(self) -> Pairing:
        return PAIRINGS[self.algo]

    @property
    def num_updates(self) -> int:
        return self.updates or self.pairing.updates


# Every path: each agent; padded recurrent batches; TD3's delay (two updates); the linear decay of
# the learning rate, seen in the weights after a second update.
GOLDEN_CASES = (
    *(Case(algo) for algo in PAIRINGS),
    *(Case(algo, padded=True) for algo, pairing in PAIRINGS.items() if pairing.recurrent),
    Case("td3", decay=2),
    Case("sac", decay=2, updates=2),
)
GOLDEN_SEED = 0
GOLDEN_ALPHA = 0.5


def case_batch(case: Case, sizes: Sizes, seed: int) -> SequenceBatch | Batch:
    """The batch every update of `case` reads (regenerated from the seed)."""
    episodes = sequence_batch(sizes.episodes, sizes.steps, case.padded, seed, sizes.obs_dim, sizes.act_dim)
    if case.padded and episodes.mask.all():
        raise ValueError(f"{case.name}: no episode ended early at seed {seed}; pick another seed or size")
    if case.pairing.recurrent:
        return episodes
    if case.pairing.image:
        return image_transitions(sizes.images, seed, sizes.act_dim)
    return transitions(episodes, min(sizes.transitions, int(episodes.mask.sum())), seed)


def jaxpcc_agent(case: Case, sizes: Sizes, alpha: float):
    pairing = case.pairing
    gin.clear_config()
    overrides = {"alpha": alpha} if sac_family(pairing) else {}
    if case.decay:
        overrides["lr_schedule"] = functools.partial(linear_decay, num_updates=case.decay)
    if pairing.recurrent:
        overrides["summarizer"] = SummarizerConfig(hidden_dim=sizes.summary)
    if pairing.image:
        return ALGOS[case.algo](IMAGE_SHAPE, sizes.act_dim, sizes.hidden, augment=False, embedding_dim=sizes.embedding,
                                **overrides)
    return ALGOS[case.algo](sizes.obs_dim, sizes.act_dim, sizes.hidden, **overrides)


def jaxpcc_update(pairing: Pairing, config, state, batch):
    """jaxpcc's update, compiled as training compiles it, recording each optimizer step's gradients."""
    recorded = []

    def tap(grads):
        recorded.append(jax.tree.map(np.asarray, grads))

    with tapping_gradients(tap):
        update = jax.jit(functools.partial(pairing.update, config))  # a new program, traced with the tap
        state, metrics = update(state, jax.tree.map(jax.numpy.asarray, batch))
        jax.effects_barrier()
    return state, recorded, {k: float(v) for k, v in metrics.items()}


@dataclasses.dataclass
class Update:
    """What one update drew and produced, in the reference's names."""

    noise: list[np.ndarray]
    grads: dict  # {optimizer's network: {parameter: gradient}}
    logged: dict  # {reference's logged name: value}


@dataclasses.dataclass
class Run:
    """jaxpcc's side of a case: its inputs, its updates and its weights before and after them."""

    batch: SequenceBatch | Batch
    initial: dict  # {reference attribute: {parameter: value}}
    final: dict
    updates: list[Update]


def run_jaxpcc(case: Case, sizes: Sizes, seed: int, alpha: float) -> Run:
    """Initialise jaxpcc's agent from `seed` and run the case's updates eagerly, recording them."""
    pairing, batch = case.pairing, case_batch(case, sizes, seed)
    agent = jaxpcc_agent(case, sizes, alpha)
    state = agent.init(jax.random.PRNGKey(seed))
    initial, updates = reference_weights(pairing, state), []
    for _ in range(case.num_updates):
        noise = update_noise(pairing, state, batch.action.shape)
        state, recorded, metrics = jaxpcc_update(pairing, agent.config, state, batch)
        logged = {r: metrics[k] for k, r in agent.metric_names.items() if k in metrics}
        updates.append(Update(noise, reference_gradients(pairing, recorded), logged))
    return Run(batch, initial, reference_weights(pairing, state), updates)


class ReferenceAgent:
    """The reference's agent loaded with given weights, its noise supplied and its gradients recorded."""

    def __init__(self, ref, case: Case, sizes: Sizes, weights: dict, alpha: float):
        import torch

        pairing = case.pairing
        self.torch, self.pairing = torch, pairing
        gin.clear_config()
        gin.bind_parameter("basics.actors_and_critics.make_MLP.hidden_dimensions", sizes.hidden)
        overrides = {"alpha": alpha} if sac_family(pairing) else {}
        if case.decay:
            overrides["lr_schedule"] = functools.partial(ref.linear_decay, num_updates=case.decay)
        if pairing.image:
            self.agent = ref.ConvolutionalSAC(input_shape=IMAGE_SHAPE, action_dim=sizes.act_dim,
                                              embedding_dim=sizes.embedding, **overrides)
        elif pairing.recurrent:
            self.agent = ref.recurrent_algos[case.algo](input_dim=sizes.obs_dim, action_dim=sizes.act_dim,
                                                        hidden_dim=sizes.summary, **overrides)
        else:
            self.agent = ref.algos[case.algo](input_dim=sizes.obs_dim, action_dim=sizes.act_dim, **overrides)
        gin.clear_config()
        self.module = sys.modules[type(self.agent).__module__]
        self.batch_type = ref.RecurrentBatch if pairing.recurrent else ref.Batch
        with torch.no_grad():
            for attribute, params in weights.items():
                named = dict(getattr(self.agent, attribute).named_parameters())
                if set(named) != set(params):
                    raise KeyError(f"{attribute}: reference has {sorted(named)}, jaxpcc gave {sorted(params)}")
                for name, value in params.items():
                    named[name].copy_(torch.as_tensor(np.array(value)))
        self.attributes = list(weights)
        self.grads = {}
        for attribute in vars(self.agent):
            if attribute.endswith("_optimizer"):
                self._record(attribute[: -len("_optimizer")], getattr(self.agent, attribute))

    def weights(self) -> dict:
        """Every network's parameters now, as `reference_weights` names them."""
        return {a: {n: p.detach().numpy().copy() for n, p in getattr(self.agent, a).named_parameters()}
                for a in self.attributes}

    def _record(self, network: str, optimizer) -> None:
        names = {} if network == "log_alpha" else {id(p): n for n, p in getattr(self.agent, network).named_parameters()}
        step = optimizer.step

        def recording_step(*args, **kwargs):
            for group in optimizer.param_groups:
                for p in group["params"]:
                    self.grads.setdefault(network, {})[names.get(id(p), "log_alpha")] = p.grad.detach().numpy().reshape(p.shape).copy()
            return step(*args, **kwargs)

        optimizer.step = recording_step

    def update(self, batch: SequenceBatch | Batch, noise: list[np.ndarray]):
        """One `update_networks` call; returns (gradients by optimizer, logged values)."""
        torch, module = self.torch, self.module
        queue = [torch.as_tensor(np.array(e)) for e in noise]
        self.grads = {}
        patches = []
        if self.pairing.noise == "policy":
            class GivenNoise(module.Independent):
                def rsample(self, sample_shape=torch.Size()):
                    return self.base_dist.loc + self.base_dist.scale * queue.pop(0).reshape(self.base_dist.loc.shape)

            patches.append((module, "Independent", GivenNoise))
        elif self.pairing.noise == "smoothing":
            patches.append((module.torch, "randn", lambda *shape, **kw: queue.pop(0)))
        originals = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
        for owner, name, replacement in patches:
            setattr(owner, name, replacement)
        t = lambda x: torch.as_tensor(np.asarray(x), dtype=torch.float32)  # noqa: E731
        if self.pairing.recurrent:
            rbatch = self.batch_type(t(batch.obs), t(batch.action), t(batch.reward)[..., None],
                                     t(batch.done)[..., None], t(batch.mask)[..., None])
        else:
            scale = 1.0 / 255.0 if self.pairing.image else 1.0  # jaxpcc stores pixels as uint8
            rbatch = self.batch_type(t(batch.obs) * scale, t(batch.action), t(batch.reward)[..., None],
                                     t(batch.next_obs) * scale, t(batch.done)[..., None])
        try:
            with warnings.catch_warnings():  # the reference's float() of a tensor that requires grad
                warnings.simplefilter("ignore", UserWarning)
                metrics = self.agent.update_networks(rbatch)
        finally:
            for owner, name, original in originals:
                setattr(owner, name, original)
        if queue:
            raise RuntimeError(f"the reference drew {len(noise) - len(queue)} of {len(noise)} noise samples")
        return self.grads, metrics


def run_reference(ref, case: Case, sizes: Sizes, run: Run, alpha: float) -> tuple[list[Update], dict]:
    """The reference's updates from jaxpcc's initial weights, batch and noise; and its final weights."""
    reference = ReferenceAgent(ref, case, sizes, run.initial, alpha)
    updates = []
    for mine in run.updates:
        grads, logged = reference.update(run.batch, mine.noise)
        updates.append(Update(mine.noise, grads, {k: float(v) for k, v in logged.items()}))
    return updates, reference.weights()


def checked(case: Case, network: str) -> bool:
    """The reference averages its temperature loss over padding; jaxpcc does not (by design).

    `network` is an optimizer's network or a logged name; log-alpha's gradient and the logged
    temperature loss of a padded recurrent batch are not compared.
    """
    padded = case.padded and case.pairing.recurrent
    return not (padded and (network == "log_alpha" or network == "(alpha) log alpha loss"))


def update_limit(tolerances: tuple[float, float, float], update: int, network: str) -> float:
    """The first update's tolerance, a later update's, or the conv encoder's (ReLU kinks)."""
    if network == "cnn":
        return tolerances[2]
    return tolerances[0] if update == 1 else tolerances[1]


def compare(case: Case, ref, sizes: Sizes, tolerances: tuple[float, float, float], seed: int, alpha: float) -> bool:
    run = run_jaxpcc(case, sizes, seed, alpha)
    ref_updates, _ = run_reference(ref, case, sizes, run, alpha)
    ok = True
    for update, (mine, theirs) in enumerate(zip(run.updates, ref_updates), start=1):
        if set(mine.grads) != set(theirs.grads):
            print(f"  {case.name} update {update}: optimizers stepped differ: jaxpcc {sorted(mine.grads)}, "
                  f"reference {sorted(theirs.grads)}")
            ok = False
            continue
        batch = run.batch
        shape = (f"{'padded' if case.padded else 'full-length'} batch {batch.mask.shape[0]} x {batch.mask.shape[1]}"
                 if case.pairing.recurrent else f"batch of {batch.reward.shape[0]} transitions")
        print(f"{case.name}, update {update} ({shape}): max |jaxpcc - reference| / max |reference| "
              f"(tolerance {update_limit(tolerances, update, ''):g})")
        for network, grads in theirs.grads.items():
            pairs = [(mine.grads[network][name], grad) for name, grad in grads.items()]
            scale = max(max(float(np.max(np.abs(r))) for _, r in pairs), 1e-30)
            worst = max(float(np.max(np.abs(j - r))) for j, r in pairs) / scale
            limit = update_limit(tolerances, update, network)
            ok &= worst <= limit or not checked(case, network)
            note = "" if checked(case, network) else "  (not checked: the reference averages over padding)"
            note += f"  (tolerance {limit:g}: ReLU kinks)" if network == "cnn" else ""
            print(f"  {network:18s} {len(pairs):2d} tensors  {worst:.2e}{note}")
        shown = [(r, v, theirs.logged[r]) for r, v in mine.logged.items() if r in theirs.logged]
        print("  logged: " + ", ".join(f"{r} {j:.6f} | {v:.6f}" for r, j, v in shown))
    return ok


# --- golden files ---------------------------------------------------------------------------------


def golden_case(case: Case, sizes: Sizes, ref, seed: int, alpha: float) -> dict:
    """The reference's outputs for one case, with fingerprints of the inputs they came from."""
    run = run_jaxpcc(case, sizes, seed, alpha)
    ref_updates, final = run_reference(ref, case, sizes, run, alpha)
    out = {"inputs": input_fingerprints(run)}
    for i, update in enumerate(ref_updates, start=1):
        out[f"update{i}"] = {"grads": golden_files.stored_tensors(update.grads), "logged": update.logged}
    out["final"] = golden_files.stored_tensors(final)
    return out


def input_fingerprints(run: Run) -> dict:
    return {
        "weights": {n: {p: golden_files.fingerprint(v) for p, v in params.items()}
                    for n, params in run.initial.items()},
        "batch": {f: golden_files.fingerprint(v) for f, v in run.batch._asdict().items() if v is not None},
        "noise": {f"update{i}": {str(k): golden_files.fingerprint(x) for k, x in enumerate(u.noise)}
                  for i, u in enumerate(run.updates, start=1)},
    }


def golden_meta(sizes: Sizes, seed: int, alpha: float) -> dict:
    return {"sizes": json.dumps(dataclasses.asdict(sizes)), "seed": seed, "alpha": alpha,
            "cases": json.dumps([c.name for c in GOLDEN_CASES])}


def golden_problems(case: Case, stored: dict, run: Run, tolerances: tuple[float, float, float],
                    final_tolerance: float, logged_tolerance: float) -> list[str]:
    """Where jaxpcc's run of `case` departs from the stored reference outputs (empty: none).

    Inputs that do not match their fingerprints are reported alone: the comparison would mean
    nothing (the golden files then need regenerating, see tests/golden/README.md).
    """
    ours = input_fingerprints(run)
    flat_ours, flat_stored = golden_files.flatten(ours), golden_files.flatten(stored["inputs"])
    if set(flat_ours) != set(flat_stored):
        return [f"inputs: jaxpcc has {sorted(set(flat_ours) ^ set(flat_stored))} the golden file lacks (or vice versa)"]
    changed = [k for k in flat_ours if not np.allclose(flat_ours[k], flat_stored[k], rtol=1e-5, atol=1e-6)]
    if changed:
        return [f"inputs differ from the golden file's (regenerate it): {changed[:5]}"]
    problems = []
    for i, update in enumerate(run.updates, start=1):
        theirs = stored[f"update{i}"]
        if set(update.grads) != set(theirs["grads"]["values"]):
            problems.append(f"update {i}: optimizers stepped: jaxpcc {sorted(update.grads)}, "
                            f"reference {sorted(theirs['grads']['values'])}")
            continue
        for network, grads in update.grads.items():
            worst = golden_files.network_difference(grads, theirs["grads"], network)
            limit = update_limit(tolerances, i, network)
            if worst > limit and checked(case, network):
                problems.append(f"update {i}: {network} gradients differ by {worst:.2e} (tolerance {limit:g})")
        names = sorted(set(update.logged) & set(theirs["logged"]))
        if not names:
            problems.append(f"update {i}: no logged value in common")
        for name in names:
            mine, ref_value = update.logged[name], float(theirs["logged"][name])
            if abs(mine - ref_value) > logged_tolerance * max(1.0, abs(ref_value)) and checked(case, name):
                problems.append(f"update {i}: logged {name!r} {mine:.6g}, reference {ref_value:.6g}")
    for network, params in run.final.items():
        worst = golden_files.network_difference(params, stored["final"], network)
        if worst > final_tolerance:
            problems.append(f"weights after the last update: {network} differ by {worst:.2e} "
                            f"(tolerance {final_tolerance:g})")
    return problems


def write_golden(ref, directory: Path, seed: int, alpha: float) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    tree = {"meta": golden_meta(GOLDEN, seed, alpha)}
    for case in GOLDEN_CASES:
        print(f"golden: {case.name}", flush=True)
        tree[case.name] = golden_case(case, GOLDEN, ref, seed, alpha)
    golden_files.save(directory / GOLDEN_FILE, tree)
    print(f"wrote {directory / GOLDEN_FILE} ({(directory / GOLDEN_FILE).stat().st_size} bytes)")


GOLDEN_FILE = "reference_updates.npz"
# The golden test's tolerances: the script's own for gradients; for what the script only prints,
# 1e-5 (measured at the GOLDEN sizes: at most 3e-7 for either, tests/golden/README.md).
GOLDEN_TOLERANCES = (1e-4, 1e-3, 1e-2)
FINAL_TOLERANCE = 1e-5  # weights after the last update, relative to the network's largest weight
LOGGED_TOLERANCE = 1e-5  # relative to max(1, |value|)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", required=True, help="an offpcc checkout (imported read-only)")
    parser.add_argument("--algos", nargs="+", default=list(PAIRINGS), choices=list(PAIRINGS))
    parser.add_argument("--padded", action="store_true", help="episodes of random lengths in a zero-padded batch")
    parser.add_argument("--batch", type=int, default=CHECK.episodes)
    parser.add_argument("--steps", type=int, default=CHECK.steps)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tolerance", type=float, default=1e-4, help="largest relative gradient difference accepted")
    parser.add_argument("--later-tolerance", type=float, default=1e-3, help="the same for updates after the first")
    parser.add_argument("--kink-tolerance", type=float, default=1e-2, help="the same for the conv encoder")
    parser.add_argument("--alpha", type=float, default=GOLDEN_ALPHA,
                        help="the SAC family's initial temperature on both sides (the default 1.0 would hide where alpha enters)")
    parser.add_argument("--write-golden", type=Path, metavar="DIR",
                        help=f"write the reference's outputs for GOLDEN_CASES to DIR/{GOLDEN_FILE} "
                             "instead of comparing")
    args = parser.parse_args()

    ref = import_reference(args.reference)
    if args.write_golden:
        write_golden(ref, args.write_golden, args.seed, args.alpha)
        return
    sizes = dataclasses.replace(CHECK, episodes=args.batch, steps=args.steps)
    tolerances = (args.tolerance, args.later_tolerance, args.kink_tolerance)
    results = {algo: compare(Case(algo, padded=args.padded), ref, sizes, tolerances, args.seed, args.alpha)
               for algo in args.algos}
    for algo, ok in results.items():
        print(f"{algo}: {'equal within tolerance' if ok else 'DIFFERENT beyond tolerance'}")
    sys.exit(0 if all(results.values()) else 1)


if __name__ == "__main__":
    main()
