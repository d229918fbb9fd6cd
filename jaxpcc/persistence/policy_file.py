"""policy.npz: the acting parameters alone (what `--render` and the Python API reload), like the reference's actor.pth."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from jaxpcc.agents.common import describe_config
from jaxpcc.persistence import checkpoint

POLICY_NAME = "policy.npz"


def save_policy(run_dir: Path, agent, state, env_id: str, step: Optional[int] = None) -> None:
    """Writes the agent's acting parameters of `state` to `run_dir`'s policy file.

    `step` is the env step of the checkpoint the policy belongs to, so a rerun can tell a stale one.
    """
    policy = {name: checkpoint.flatten_tree(tree) for name, tree in agent.policy(state).items()}
    meta = {"env_id": env_id, "algo": agent.name, "config": describe_config(agent.config), "step": step}
    checkpoint.save(run_dir / POLICY_NAME, policy, meta)


def _policy_specs(agent, template_state) -> dict:
    specs = {}
    for name, tree in agent.policy(template_state).items():
        specs.update(checkpoint.specs_of(name, checkpoint.flatten_tree(tree)))
    return specs


def load_policy(run_dir: Path, agent, template_state):
    """A state whose acting parameters come from `run_dir`'s policy file."""

    def expected(meta):
        if meta.get("algo") != agent.name:
            raise checkpoint.CheckpointError(f"{run_dir / POLICY_NAME} holds a '{meta.get('algo')}' policy, not '{agent.name}'")
        return _policy_specs(agent, template_state)

    groups, meta = checkpoint.load(run_dir / POLICY_NAME, expected)
    template = agent.policy(template_state)
    loaded = {name: checkpoint.unflatten_like(tree, groups.get(name, {}), f"policy '{name}'") for name, tree in template.items()}
    return template_state.replace(**loaded)


def policy_is_current(run_dir: Path, step: int, agent, template_state) -> bool:
    """Whether `run_dir`'s policy file is readable, this agent's, and of the checkpoint at env step `step`."""
    path = run_dir / POLICY_NAME
    if not path.is_file():
        return False
    try:
        if checkpoint.read_meta(path).get("step") != step:
            return False
        load_policy(run_dir, agent, template_state)
    except checkpoint.CheckpointError:
        return False
    return True
