"""checkpoint.npz: a whole run (train state, buffer, counters, randomness, carry), written and read back.

The buffer's slots live in chunk files beside it (`buffer_chunks`), the checkpoints it replaced in
earlier/ (`earlier_checkpoints`). docs/checkpoints.md states the guarantees.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import NamedTuple, Optional

from jaxpcc import run_settings
from jaxpcc.agents.common import describe_config
from jaxpcc.persistence import checkpoint, earlier_checkpoints
from jaxpcc.persistence.buffer_chunks import ChunkStore

CHECKPOINT_NAME = "checkpoint.npz"
DEVICE_ENV = "device_env"  # the group (and meta flag) of the JAX twin's carry
BUFFER_DIR = "buffer"  # the replay buffer's chunk files, listed by the checkpoint
_IDENTITY = ("env_id", "algo", "seed")  # what makes a checkpoint this run's; settings are compared apart


class Restored(NamedTuple):
    """What a checkpoint gives back besides the buffer and the randomness it restores in place."""

    state: object
    progress: dict  # the run's counters, as saved
    meta: dict
    carry: object  # a recurrent agent's hidden state mid-episode; None otherwise
    device_env: object = None  # the JAX twin's carry of a run that steps it on the device; None otherwise


def run_meta(env_id: str, agent, seed: int) -> dict:
    return {"env_id": env_id, "algo": agent.name, "seed": seed, "config": describe_config(agent.config)}


def check_identity(path: Path, meta: dict, expected: dict) -> None:
    """Env, algorithm and seed must match; so must the agent's config for a checkpoint without a settings record."""
    keys = _IDENTITY if "settings" in meta else tuple(expected)
    for key in keys:
        if meta.get(key) != expected[key]:
            raise checkpoint.CheckpointError(
                f"{path} belongs to another run ({key} = {meta.get(key)!r}, this run has {expected[key]!r}); "
                "it was left untouched. Use another --run_id or remove the folder."
            )


def checkpoint_epoch(path: Path) -> int:
    """The epoch the checkpoint at `path` committed (0 when there is none)."""
    if not path.exists():
        return 0
    return int(checkpoint.read_meta(path)["progress"]["epoch"])


def restore(
    path: Path, env_id, agent, seed, template_state, buffer, chunks: ChunkStore, explore_rng, template_carry=None,
    template_device_env=None,
) -> Restored:
    """Loads a checkpoint after checking it belongs to this run; fills `buffer` and the rngs in place.

    The buffer comes back from the chunk files the checkpoint lists (a checkpoint written before
    chunks existed holds the whole buffer; its slots are then all dirty, so the next save writes them).

    The carry is saved as it was, since the parameters that built it changed along the episode and
    cannot rebuild it. So is the JAX twin's carry (`template_device_env`) of a run that steps it on
    the device; a checkpoint without one (the run stepped its env on the host) gives None.
    """

    def expected(meta):
        check_identity(path, meta, run_meta(env_id, agent, seed))
        specs = checkpoint.specs_of("state", checkpoint.flatten_tree(template_state))
        if "buffer_chunks" in meta:
            specs.update(checkpoint.specs_of("buffer", buffer.small_state()))
        else:  # the whole buffer, its filled part
            for name, a in buffer.slot_arrays().items():
                specs[f"buffer/{name}"] = checkpoint.ArraySpec(a.shape, a.dtype.str, max_len=buffer.capacity)
            specs.update(checkpoint.specs_of("buffer", buffer.small_state()))
        if template_carry is not None:
            specs.update(checkpoint.specs_of("carry", checkpoint.flatten_tree(template_carry)))
        if template_device_env is not None and meta.get(DEVICE_ENV):
            specs.update(checkpoint.specs_of(DEVICE_ENV, checkpoint.flatten_tree(template_device_env)))
        return specs

    groups, meta = checkpoint.load(path, expected)
    state = checkpoint.unflatten_like(template_state, groups["state"], "checkpointed train state")
    if "buffer_chunks" in meta:
        chunks.restore(buffer, meta["buffer_chunks"])
        buffer.load_small_state(groups["buffer"])
    else:
        buffer.load_state_dict(groups["buffer"])
        buffer.dirty.mark_all()
    buffer.load_rng_state(meta.get("buffer_rng"))
    explore_rng.bit_generator.state = meta["explore_rng"]
    carry = None
    if template_carry is not None:
        carry = checkpoint.unflatten_like(template_carry, groups.get("carry", {}), "checkpointed hidden state")
    device_env = None
    if template_device_env is not None and meta.get(DEVICE_ENV):
        device_env = checkpoint.unflatten_like(template_device_env, groups[DEVICE_ENV], "checkpointed device env")
    return Restored(state, meta["progress"], meta, carry, device_env)


def save_run(run, agent, state, carry=None, row: Optional[dict] = None, device_env=None) -> None:
    """The buffer's new slots as a chunk, then the checkpoint listing it, then old chunks removed.

    `run` is the seed's host side (`seed_run.SeedRun`). In this order a crash at any point leaves
    the last committed checkpoint and every chunk it lists intact. The first checkpoint is preceded
    by the config files; each later one sets the one it replaces aside in earlier/ (the newest few
    are kept, with the chunks they list). `device_env` is the twin's carry of a run that steps
    its env on the device.
    """
    keep = earlier_checkpoints.number_to_keep()
    started = run.checkpoint_path.exists()
    if not started:
        run_settings.write_config_files(run.run_dir)
    meta = {
        **run_meta(run.env_id, agent, run.seed),
        "settings": run.settings,
        "settings_history": run.settings_history,
        "row": row,
        "progress": dataclasses.asdict(run.progress),
        "explore_rng": run.seeds.explore_rng.bit_generator.state,
        "buffer_rng": run.buffer.rng_state(),
        "wandb_id": run.logger.wandb_id,
        "buffer_chunks": run.chunks.prepare(run.buffer, run.progress.step),
        DEVICE_ENV: device_env is not None,
    }
    groups = {"state": checkpoint.flatten_tree(state), "buffer": run.buffer.small_state()}
    if carry is not None:
        groups["carry"] = checkpoint.flatten_tree(carry)
    if device_env is not None:
        groups[DEVICE_ENV] = checkpoint.flatten_tree(device_env)
    if started:
        earlier_checkpoints.set_aside(run.checkpoint_path, keep)
    checkpoint.save(run.checkpoint_path, groups, meta)
    earlier_checkpoints.prune(run.run_dir, keep)
    run.chunks.commit(run.buffer, meta["buffer_chunks"], keep=earlier_checkpoints.listed_chunks(run.run_dir))
    run.committed_row = row
