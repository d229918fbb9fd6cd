"""A run's host side: its randomness, counters, envs, buffer and logs, opened fresh or from its checkpoint."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import NamedTuple, Optional, Sequence

import jax
import numpy as np

from jaxpcc import run_settings
from jaxpcc.agents import Agent
from jaxpcc.envs import make_env
from jaxpcc.logger import RunLogger
from jaxpcc.persistence import checkpoint, policy_file, run_checkpoint
from jaxpcc.persistence.buffer_chunks import ChunkStore

_SEED_MOD = 2**31 - 1


@dataclasses.dataclass
class RunSeeds:
    """Every source of randomness of a run, derived from its one integer seed."""

    init_key: jax.Array
    act_key: jax.Array
    explore_rng: np.random.Generator
    buffer_seed: int
    train_env_base: int
    test_env_base: int

    @classmethod
    def from_seed(cls, seed: int) -> "RunSeeds":
        init_key, act_key = jax.random.split(jax.random.PRNGKey(seed))
        explore_ss, buffer_ss, env_ss = np.random.SeedSequence(seed).spawn(3)
        train_base, test_base = (int(x) for x in env_ss.generate_state(2))
        return cls(
            init_key, act_key, np.random.default_rng(explore_ss), int(buffer_ss.generate_state(1)[0]),
            train_base, test_base,
        )

    def train_episode_seed(self, episode: int) -> int:
        return (self.train_env_base + episode) % _SEED_MOD

    def test_episode_seed(self, epoch: int, index: int) -> int:
        return (self.test_env_base + 100_003 * epoch + index) % _SEED_MOD


@dataclasses.dataclass
class Progress:
    """Host-side counters that a checkpoint must restore."""

    step: int = 0
    epoch: int = 0
    episode: int = 0
    episode_len: int = 0
    episode_return: float = 0.0
    hours: float = 0.0


def rebuild_episode(env, seeds: RunSeeds, progress: Progress, buffer) -> np.ndarray:
    """Brings the train env back to where the checkpoint left it by replaying the episode's actions."""
    obs, _ = env.reset(seed=seeds.train_episode_seed(progress.episode))
    for action in buffer.last_actions(progress.episode_len):
        obs, *_ = env.step(action)
    if progress.episode_len and not np.allclose(obs, buffer.last_next_obs(), atol=1e-5):
        raise checkpoint.CheckpointError("the environment did not replay deterministically; cannot resume this run")
    return obs


@dataclasses.dataclass
class SeedRun:
    """The host side of one seed: its envs, buffer, randomness, counters, logs and files.

    A run trained alone and each seed of a vectorized run are the same object; only the device
    side (one TrainState, or several stacked along a leading seed axis) differs.
    """

    env_id: str
    run_dir: Path
    seed: int
    seeds: RunSeeds
    env: object
    test_env: object
    buffer: object
    progress: Progress
    wandb_id: Optional[str] = None
    obs: Optional[np.ndarray] = None
    logger: Optional[RunLogger] = None
    lengths: list = dataclasses.field(default_factory=list)
    returns: list = dataclasses.field(default_factory=list)
    successes: list = dataclasses.field(default_factory=list)
    settings: dict = dataclasses.field(default_factory=dict)  # the settings record (see run_settings)
    settings_history: list = dataclasses.field(default_factory=list)
    committed_row: Optional[dict] = None  # the log row of the checkpoint's epoch (None before the first)
    device_env: object = None  # the JAX twin's carry when the env steps on the device (see device_rollout)
    chunks: ChunkStore = dataclasses.field(init=False)

    def __post_init__(self):
        self.chunks = ChunkStore(self.run_dir / run_checkpoint.BUFFER_DIR)

    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / run_checkpoint.CHECKPOINT_NAME

    def step(self, action: np.ndarray) -> bool:
        """Steps the train env, stores the transition, keeps the books; True when an episode ended."""
        next_obs, reward, terminated, truncated, _ = self.env.step(action)
        self.buffer.push(self.obs, action, reward, next_obs, terminated, truncated)
        self.obs = next_obs
        p = self.progress
        p.episode_len += 1
        p.episode_return += float(reward)
        p.step += 1
        if not (terminated or truncated):
            return False
        self.lengths.append(p.episode_len)
        self.returns.append(p.episode_return)
        self.successes.append(float(p.episode_return > 0))
        p.episode += 1
        p.episode_len, p.episode_return = 0, 0.0
        self.obs, _ = self.env.reset(seed=self.seeds.train_episode_seed(p.episode))
        return True

    def record_steps(self, rewards: np.ndarray, ended: np.ndarray) -> None:
        """Keeps the books of steps taken on the device (their rewards, and where episodes ended)."""
        p = self.progress
        for reward, end in zip(rewards.tolist(), ended.tolist()):
            p.episode_len += 1
            p.episode_return += reward
            if end:
                self.lengths.append(p.episode_len)
                self.returns.append(p.episode_return)
                self.successes.append(float(p.episode_return > 0))
                p.episode += 1
                p.episode_len, p.episode_return = 0, 0.0
        p.step += len(rewards)

    def start_new_episode(self) -> None:
        """Drops a partial episode the env cannot be brought back into (a run switching between
        stepping its env on the host and on the device); the next episode starts fresh."""
        p = self.progress
        if p.episode_len:
            p.episode += 1
            p.episode_len, p.episode_return = 0, 0.0

    def close(self) -> None:
        if self.logger is not None:
            self.logger.close()
        self.env.close()
        self.test_env.close()


class OpenedRun(NamedTuple):
    """A seed's host side and where its device side starts."""

    run: SeedRun
    state: object
    carry: object


def open_run(
    env_id: str, agent: Agent, buffer, run_dir: Path, seed: int,
    settings: Optional[dict] = None, accepted: Sequence[str] = (), device_env_template=None, on_device: bool = False,
) -> OpenedRun:
    """A SeedRun with its device state (and carry), restored from its checkpoint when one exists.

    `buffer` is the seed's empty buffer (its group's view for this seed), filled on a resume.

    A resumed run's settings must match the checkpoint's (less the `accepted` changes), and a
    missing, stale or unreadable policy file is rewritten from the checkpoint.

    `device_env_template`: the shape of the JAX twin's carry, for an env that has a twin (what a
    checkpoint's twin is read into). With `on_device` (the run steps the twin on the device) the
    twin's carry comes back into `run.device_env` and the host env is not replayed. A run
    switching between host and device (an accepted change) starts a new episode.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    seeds = RunSeeds.from_seed(seed)
    run = SeedRun(
        env_id, run_dir, seed, seeds, make_env(env_id, seed=seed), make_env(env_id, seed=seed + 1),
        buffer, Progress(), settings=dict(settings or {}),
    )
    carry = agent.start_carry()
    state = agent.init(seeds.init_key)
    if run.checkpoint_path.exists():
        meta = checkpoint.read_meta(run.checkpoint_path)  # whose run, and its settings, before its arrays
        run_checkpoint.check_identity(run.checkpoint_path, meta, run_checkpoint.run_meta(env_id, agent, seed))
        run.settings_history = run_settings.reconcile(run_dir, meta, run.settings, accepted)
        template = state
        restored = run_checkpoint.restore(
            run.checkpoint_path, env_id, agent, seed, state, run.buffer, run.chunks, seeds.explore_rng, carry,
            device_env_template,
        )
        state, carry, run.progress = restored.state, restored.carry, Progress(**restored.progress)
        run.wandb_id, run.committed_row = restored.meta.get("wandb_id"), restored.meta.get("row")
        for stale in run_dir.glob("*.tmp"):  # a write that a kill cut short (this process holds the lock)
            stale.unlink()
        if bool(restored.meta.get(run_checkpoint.DEVICE_ENV)) != on_device:
            run.start_new_episode()
        if on_device:
            run.device_env = restored.device_env
        else:
            run.obs = rebuild_episode(run.env, seeds, run.progress, run.buffer)
        if not policy_file.policy_is_current(run_dir, run.progress.step, agent, template):
            policy_file.save_policy(run_dir, agent, state, env_id, run.progress.step)
    else:
        run.obs, _ = run.env.reset(seed=seeds.train_episode_seed(0))
    return OpenedRun(run, state, carry)
