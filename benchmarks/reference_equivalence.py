"""One RSAC update of jaxpcc against the reference's own `RecurrentSAC.update_networks`.

Both start from the same weights (jaxpcc's initial state, copied into the reference's PyTorch
modules), read the same batch and draw the same Gaussian noise: the reference's two `rsample`
calls (next actions for the targets, then actions for the actor loss) are made to return
mean + std * eps with the eps jaxpcc's update draws from its key. The script then compares the
losses and statistics both log, and every gradient each optimizer receives, parameter by
parameter, as max |jaxpcc - reference| / max |reference| per group.

    python benchmarks/reference_equivalence.py --reference PATH/TO/offpcc-checkout [--padded]

With `--padded` a third of the episodes end early and sit in a zero-padded batch. The reference
averages its temperature loss over padding too (a quirk jaxpcc does not copy), so there the
log-alpha gradient differs by design and is reported but not checked. Exits with status 1 when
any checked group differs by more than `--tolerance`.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import gin
import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from jaxpcc.agents import make_agent, rsac, sac  # noqa: E402
from jaxpcc.types import SequenceBatch  # noqa: E402
from reference_offpcc import import_reference  # noqa: E402

OBS_DIM, ACT_DIM = 2, 1


def sequence_batch(batch: int, steps: int, padded: bool, seed: int) -> SequenceBatch:
    """Random episodes (one at full length at least); padded ones are zero beyond their end."""
    rng = np.random.default_rng(seed)
    lengths = np.full(batch, steps)
    if padded:
        lengths[1:] = np.where(rng.random(batch - 1) < 0.33, rng.integers(steps // 4, steps, batch - 1), steps)
    valid = np.arange(steps) < lengths[:, None]
    obs = rng.normal(size=(batch, steps + 1, OBS_DIM)).astype(np.float32)
    obs[np.arange(steps + 1) > lengths[:, None]] = 0.0
    return SequenceBatch(
        obs=obs,
        action=(np.clip(rng.normal(size=(batch, steps, ACT_DIM)), -1, 1) * valid[..., None]).astype(np.float32),
        reward=(rng.normal(size=(batch, steps)) * valid).astype(np.float32),
        done=np.zeros((batch, steps), np.float32),
        mask=valid.astype(np.float32),
    )


def jaxpcc_update(state, batch):
    """jaxpcc's update run eagerly, recording the gradients handed to each optimizer step."""
    gin.clear_config()
    config = make_agent("rsac", OBS_DIM, ACT_DIM).config
    recorded = []
    apply = rsac.apply_gradients

    def recording(tx, params, opt_state, grads):
        recorded.append(jax.tree.map(np.asarray, grads))
        return apply(tx, params, opt_state, grads)

    rsac.apply_gradients = sac.apply_gradients = recording
    try:
        _, metrics = rsac.update(config, state, jax.tree.map(jax.numpy.asarray, batch))
    finally:
        rsac.apply_gradients = sac.apply_gradients = apply
    critic, actor, log_alpha = recorded
    return critic, actor, log_alpha, {k: float(v) for k, v in metrics.items()}


def torch_layouts(summarizer: dict, head: dict, head_layers: list[str], torch_names: list[str]) -> dict:
    """jaxpcc params of one network -> {reference parameter name: array in PyTorch's [out, in] layout}."""
    out = {}
    for name, value in summarizer["params"].items():
        out[f"rnn.{name}"] = value.T if name.startswith("weight") else value
    for layer, torch_name in zip(head_layers, torch_names):
        params = head["params"]
        for part in layer.split("/"):
            params = params[part]
        out[f"{torch_name}.weight"], out[f"{torch_name}.bias"] = params["kernel"].T, params["bias"]
    return out


ACTOR_LAYERS = ["MLP_0/TorchLinear_0", "MLP_0/TorchLinear_1", "mean", "log_std"]
ACTOR_TORCH = ["shared_net.0", "shared_net.2", "means_layer", "log_stds_layer"]
CRITIC_LAYERS = ["MLP_0/TorchLinear_0", "MLP_0/TorchLinear_1", "MLP_0/TorchLinear_2"]
CRITIC_TORCH = ["net.0", "net.2", "net.4"]


def member(tree, index: int):
    return jax.tree.map(lambda a: np.asarray(a)[index], tree)


def reference_networks(state) -> dict:
    """{network: {reference name: array}} for the actor and both critics, from jaxpcc's state."""
    np_tree = lambda t: jax.tree.map(np.asarray, t)  # noqa: E731
    actor = np_tree(state.actor)
    networks = {"actor": torch_layouts(actor["summarizer"], actor["head"], ACTOR_LAYERS, ACTOR_TORCH)}
    for i in range(2):
        critic = member(state.critic, i)
        networks[f"Q{i + 1}"] = torch_layouts(critic["summarizer"], critic["head"], CRITIC_LAYERS, CRITIC_TORCH)
    return networks


def reference_update(ref, state, batch: SequenceBatch, eps: list[np.ndarray]):
    """The reference's update from jaxpcc's weights, its noise replaced by `eps`; returns (grads, metrics)."""
    import torch

    module = sys.modules[ref.RecurrentSAC.__module__]
    queue = [torch.as_tensor(np.array(e).reshape(-1, ACT_DIM)) for e in eps]

    class GivenNoise(module.Independent):
        def rsample(self, sample_shape=torch.Size()):
            return self.base_dist.loc + self.base_dist.scale * queue.pop(0)

    agent = ref.RecurrentSAC(input_dim=OBS_DIM, action_dim=ACT_DIM)
    weights = reference_networks(state)
    modules = {  # the summarizers' parameter names already start with "rnn."
        "actor": ["actor_summarizer", "actor"],
        "Q1": ["Q1_summarizer", "Q1_summarizer_targ", "Q1", "Q1_targ"],
        "Q2": ["Q2_summarizer", "Q2_summarizer_targ", "Q2", "Q2_targ"],
    }
    with torch.no_grad():
        for network, attributes in modules.items():
            for attribute in attributes:
                for name, param in getattr(agent, attribute).named_parameters():
                    param.copy_(torch.as_tensor(np.array(weights[network][name])))

    grads = {}
    optimizers = {
        "actor_summarizer": agent.actor_summarizer_optimizer, "actor": agent.actor_optimizer,
        "Q1_summarizer": agent.Q1_summarizer_optimizer, "Q1": agent.Q1_optimizer,
        "Q2_summarizer": agent.Q2_summarizer_optimizer, "Q2": agent.Q2_optimizer,
        "log_alpha": agent.log_alpha_optimizer,
    }
    for network, optimizer in optimizers.items():
        named = {id(p): n for n, p in getattr(agent, network).named_parameters()} if network != "log_alpha" else {}
        step = optimizer.step

        def recording_step(*args, network=network, optimizer=optimizer, named=named, step=step, **kwargs):
            for group in optimizer.param_groups:
                for p in group["params"]:
                    grads[(network, named.get(id(p), "log_alpha"))] = p.grad.detach().numpy().copy()
            return step(*args, **kwargs)

        optimizer.step = recording_step

    t = lambda x: torch.as_tensor(np.asarray(x), dtype=torch.float32)  # noqa: E731
    rbatch = ref.RecurrentBatch(t(batch.obs), t(batch.action), t(batch.reward)[..., None],
                                t(batch.done)[..., None], t(batch.mask)[..., None])
    original, module.Independent = module.Independent, GivenNoise
    try:
        with warnings.catch_warnings():  # the reference's float() of a tensor that requires grad
            warnings.simplefilter("ignore", UserWarning)
            metrics = agent.update_networks(rbatch)
    finally:
        module.Independent = original
    if queue:
        raise RuntimeError(f"the reference drew {2 - len(queue)} noise samples, not 2")
    return grads, metrics


def compare(state, batch, ref, padded: bool, tolerance: float) -> bool:
    _, critic_key, actor_key = jax.random.split(state.key, 3)
    shape = batch.action.shape
    eps = [np.asarray(jax.random.normal(k, shape, np.float32)) for k in (critic_key, actor_key)]
    critic, actor, log_alpha, jax_metrics = jaxpcc_update(state, batch)
    ref_grads, ref_metrics = reference_update(ref, state, batch, eps)

    jax_grads = {"actor": torch_layouts(actor["summarizer"], actor["head"], ACTOR_LAYERS, ACTOR_TORCH)}
    for i in range(2):
        c = member(critic, i)
        jax_grads[f"Q{i + 1}"] = torch_layouts(c["summarizer"], c["head"], CRITIC_LAYERS, CRITIC_TORCH)
    groups = {}
    for (network, name), ref_grad in ref_grads.items():
        if network == "log_alpha":
            groups.setdefault("log_alpha", []).append((np.asarray(log_alpha).reshape(-1), ref_grad.reshape(-1)))
            continue
        owner = network.replace("_summarizer", "")
        groups.setdefault(network, []).append((np.asarray(jax_grads[owner][name]), ref_grad))

    ok = True
    print(f"gradients ({'padded' if padded else 'full-length'} batch {batch.mask.shape[0]} x {batch.mask.shape[1]}): "
          "max |jaxpcc - reference| / max |reference|")
    for group, pairs in groups.items():
        worst = max(np.max(np.abs(j - r)) for j, r in pairs) / max(max(np.max(np.abs(r)) for _, r in pairs), 1e-30)
        checked = not (padded and group == "log_alpha")
        ok &= (worst <= tolerance) or not checked
        note = "" if checked else "  (not checked: the reference averages over padding)"
        print(f"  {group:18s} {len(pairs):2d} tensors  {worst:.2e}{note}")
    print("logged values: jaxpcc | reference")
    names = make_agent("rsac", OBS_DIM, ACT_DIM).metric_names
    for key, ref_name in names.items():
        if key in jax_metrics and ref_name in ref_metrics:
            print(f"  {ref_name:26s} {jax_metrics[key]: .6f} | {float(ref_metrics[ref_name]): .6f}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", required=True, help="an offpcc checkout (imported read-only)")
    parser.add_argument("--padded", action="store_true", help="episodes of random lengths in a zero-padded batch")
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tolerance", type=float, default=1e-4, help="largest relative gradient difference accepted")
    args = parser.parse_args()

    ref = import_reference(args.reference)
    gin.clear_config()
    state = make_agent("rsac", OBS_DIM, ACT_DIM).init(jax.random.PRNGKey(args.seed))
    batch = sequence_batch(args.batch, args.steps, args.padded, args.seed)
    ok = compare(state, batch, ref, args.padded, args.tolerance)
    print("equal within tolerance" if ok else "DIFFERENT beyond tolerance")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
