"""The training loop: explore, store, update, evaluate, log, checkpoint, resume.

It follows the reference's spinning-up style loop: uniform random actions until
`update_after`; from then on the policy with exploration noise, and every `update_every`
env steps a block of `update_every` gradient steps (one jitted `update_many` call on
pre-sampled batches). A time-limit truncation is not terminal: the buffer stores
`done = terminated`, and the env resets on `terminated or truncated`. Each epoch ends with a
finiteness check (`finite_guard`), deterministic test episodes on a separate env, and its commit:
an atomic checkpoint of the whole run (the buffer's new slots go to a chunk file beside it, see
`buffer_chunks`), then the policy file and the log row, which a rerun redoes from the checkpoint
if a crash came between. Re-running the same command resumes where the last epoch ended, with
the settings the run started with (`run_settings`), in a folder no other process writes
(`run_lock`). docs/checkpoints.md states the guarantees.
"""

from __future__ import annotations

import collections
import dataclasses
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

import gin
import jax
import jax.numpy as jnp
import numpy as np

from jaxpcc import checkpoint, earlier_checkpoints, run_settings, validation
from jaxpcc.agents import IMAGE_ALGOS, Agent, make_agent
from jaxpcc.agents.common import PeriodicUpdates, describe_config
from jaxpcc.buffer_chunks import ChunkStore
from jaxpcc.envs import make_env, max_episode_steps
from jaxpcc.finite_guard import DivergedError, divergence_message, finite_seeds
from jaxpcc.logger import BASE_COLUMNS, CSVLog, RunLogger
from jaxpcc.replay import RecurrentReplayBuffer, ReplayBuffer
from jaxpcc.run_lock import run_locks
from jaxpcc.types import Batch, SequenceBatch

CHECKPOINT_NAME = "checkpoint.npz"
POLICY_NAME = "policy.npz"
BUFFER_DIR = "buffer"  # the replay buffer's chunk files, listed by the checkpoint
_SEED_MOD = 2**31 - 1
_IDENTITY = ("env_id", "algo", "seed")  # what makes a checkpoint this run's; settings are compared apart


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


def policy_view(agent: Agent, state):
    """`state` with only the acting fields (the agent's `policy`) left; the rest become None.

    A jitted call pays per argument leaf: acting on the actor's ~8 leaves instead of the whole
    TrainState's ~55 (critics, targets, optimizer moments) takes about 60 instead of 170 us per
    env step on the 2-core CPU. Works on one state or on seed-stacked states alike.
    """
    keep = agent.policy(state).keys()
    return state.replace(**{f.name: None for f in dataclasses.fields(state) if f.name not in keep})


def run_test_episodes(
    env, agent: Agent, state, key, seeds: list[int], on_step: Optional[Callable] = None
) -> tuple[list[int], list[float]]:
    """Deterministic episodes, one per seed; returns their lengths and returns.

    `on_step(env)` is called after each reset and step (rendering and recording use it).
    A recurrent agent's carried state starts from zero in every episode.
    """
    policy = policy_view(agent, state)
    lengths, returns = [], []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        if on_step is not None:
            on_step(env)
        done, length, ret = False, 0, 0.0
        carry = agent.initial_carry() if agent.is_recurrent else None
        while not done:
            if agent.is_recurrent:
                action, carry = agent.act(policy, carry, obs, key, deterministic=True)
            else:
                action = agent.act(policy, obs, key, deterministic=True)
            action = np.asarray(action)
            obs, reward, terminated, truncated, _ = env.step(action)
            if on_step is not None:
                on_step(env)
            done = terminated or truncated
            length, ret = length + 1, ret + float(reward)
        lengths.append(length)
        returns.append(ret)
    return lengths, returns


def run_test_episodes_together(envs: list, act: Callable, initial_carry, seeds: list[list[int]]) -> list[tuple[list, list]]:
    """`run_test_episodes` for N seeds at once: their i-th episodes run in lockstep.

    `act(obs [N, O], carry) -> (actions [N, A], carry)` acts for all N envs in one call; an env
    whose episode has ended waits (its action is dropped) until the others' end too. Each env
    gets the same resets, and so the same episodes, as when tested alone.
    """
    results = [([], []) for _ in envs]
    for i in range(len(seeds[0])):
        obs = [env.reset(seed=env_seeds[i])[0] for env, env_seeds in zip(envs, seeds)]
        carry = initial_carry
        done, length, ret = [False] * len(envs), [0] * len(envs), [0.0] * len(envs)
        while not all(done):
            actions, carry = act(np.stack(obs), carry)
            for k, env in enumerate(envs):
                if done[k]:
                    continue
                obs[k], reward, terminated, truncated, _ = env.step(actions[k])
                done[k] = terminated or truncated
                length[k], ret[k] = length[k] + 1, ret[k] + float(reward)
        for k, (lengths, returns) in enumerate(results):
            lengths.append(length[k])
            returns.append(ret[k])
    return results


def epoch_means(metric_log: list[dict], names: dict[str, str]) -> dict[str, float]:
    """Means over the epoch's updates, keyed by the reference's names (one device sync)."""
    if not metric_log:
        return {}
    host = jax.device_get(metric_log)
    return {names[k]: float(np.mean([np.mean(m[k]) for m in host])) for k in names if k in host[0]}


def save_policy(run_dir: Path, agent: Agent, state, env_id: str, step: Optional[int] = None) -> None:
    """The acting parameters alone (what `--render` reloads), like the reference's actor.pth.

    `step` is the env step of the checkpoint the policy belongs to, so a rerun can tell a stale one.
    """
    policy = {name: checkpoint.flatten_tree(tree) for name, tree in agent.policy(state).items()}
    meta = {"env_id": env_id, "algo": agent.name, "config": describe_config(agent.config), "step": step}
    checkpoint.save(run_dir / POLICY_NAME, policy, meta)


def _policy_specs(agent: Agent, template_state) -> dict:
    specs = {}
    for name, tree in agent.policy(template_state).items():
        specs.update(checkpoint.specs_of(name, checkpoint.flatten_tree(tree)))
    return specs


def load_policy(run_dir: Path, agent: Agent, template_state):
    """A state whose acting parameters come from `run_dir`'s policy file."""

    def expected(meta):
        if meta.get("algo") != agent.name:
            raise checkpoint.CheckpointError(f"{run_dir / POLICY_NAME} holds a '{meta.get('algo')}' policy, not '{agent.name}'")
        return _policy_specs(agent, template_state)

    groups, meta = checkpoint.load(run_dir / POLICY_NAME, expected)
    template = agent.policy(template_state)
    loaded = {name: checkpoint.unflatten_like(tree, groups.get(name, {}), f"policy '{name}'") for name, tree in template.items()}
    return template_state.replace(**loaded)


def _run_meta(env_id: str, agent: Agent, seed: int) -> dict:
    return {"env_id": env_id, "algo": agent.name, "seed": seed, "config": describe_config(agent.config)}


def _restore(path: Path, env_id, agent, seed, template_state, buffer, chunks: ChunkStore, seeds: RunSeeds, template_carry=None):
    """Loads a checkpoint into (state, Progress, wandb id, carry) after checking it belongs to this run.

    The buffer comes back from the chunk files the checkpoint lists (a checkpoint written before
    chunks existed holds the whole buffer; its slots are then all dirty, so the next save writes them).

    The carry (a recurrent agent's hidden state mid-episode; None otherwise) is saved as it was,
    since the parameters that built it changed along the episode and cannot rebuild it.
    """

    def expected(meta):
        _check_identity(path, meta, _run_meta(env_id, agent, seed))
        specs = checkpoint.specs_of("state", checkpoint.flatten_tree(template_state))
        if "buffer_chunks" in meta:
            specs.update(checkpoint.specs_of("buffer", buffer.small_state()))
        else:  # the whole buffer, its filled part
            for name, a in buffer.slot_arrays().items():
                specs[f"buffer/{name}"] = checkpoint.ArraySpec(a.shape, a.dtype.str, max_len=buffer.capacity)
            specs.update(checkpoint.specs_of("buffer", buffer.small_state()))
        if template_carry is not None:
            specs.update(checkpoint.specs_of("carry", checkpoint.flatten_tree(template_carry)))
        return specs

    groups, meta = checkpoint.load(path, expected)
    state = checkpoint.unflatten_like(template_state, groups["state"], "checkpointed train state")
    if "buffer_chunks" in meta:
        chunks.restore(buffer, meta["buffer_chunks"])
        buffer.load_small_state(groups["buffer"])
    else:
        buffer.load_state_dict(groups["buffer"])
        buffer.dirty.mark_all()
    buffer.rng.bit_generator.state = meta["buffer_rng"]
    seeds.explore_rng.bit_generator.state = meta["explore_rng"]
    carry = None
    if template_carry is not None:
        carry = checkpoint.unflatten_like(template_carry, groups.get("carry", {}), "checkpointed hidden state")
    return state, Progress(**meta["progress"]), meta, carry


def _check_identity(path: Path, meta: dict, expected: dict) -> None:
    """Env, algorithm and seed must match; so must the agent's config for a checkpoint without a settings record."""
    keys = _IDENTITY if "settings" in meta else tuple(expected)
    for key in keys:
        if meta.get(key) != expected[key]:
            raise checkpoint.CheckpointError(
                f"{path} belongs to another run ({key} = {meta.get(key)!r}, this run has {expected[key]!r}); "
                "it was left untouched. Use another --run_id or remove the folder."
            )


def _policy_is_current(run: "SeedRun", agent: Agent, template_state) -> bool:
    """Whether policy.npz is readable, this run's, and of the committed checkpoint's step."""
    path = run.run_dir / POLICY_NAME
    if not path.is_file():
        return False
    try:
        meta = checkpoint.read_meta(path)
        if meta.get("step") != run.progress.step:
            return False
        load_policy(run.run_dir, agent, template_state)
    except checkpoint.CheckpointError:
        return False
    return True


def _rebuild_episode(env, seeds: RunSeeds, progress: Progress, buffer: ReplayBuffer) -> np.ndarray:
    """Brings the train env back to where the checkpoint left it by replaying the episode's actions."""
    obs, _ = env.reset(seed=seeds.train_episode_seed(progress.episode))
    for action in buffer.last_actions(progress.episode_len):
        obs, *_ = env.step(action)
    if isinstance(buffer, RecurrentReplayBuffer):
        expected = buffer.last_next_obs()
    else:
        expected = buffer.next_obs[(buffer.ptr - 1) % buffer.capacity]
    if progress.episode_len and not np.allclose(obs, expected, atol=1e-5):
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
    chunks: ChunkStore = dataclasses.field(init=False)

    def __post_init__(self):
        self.chunks = ChunkStore(self.run_dir / BUFFER_DIR)

    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / CHECKPOINT_NAME

    def step(self, action: np.ndarray, recurrent: bool) -> bool:
        """Steps the train env, stores the transition, keeps the books; True when an episode ended."""
        next_obs, reward, terminated, truncated, _ = self.env.step(action)
        if recurrent:
            self.buffer.push(self.obs, action, reward, next_obs, terminated, truncated)
        else:
            self.buffer.push(self.obs, action, reward, next_obs, terminated)
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

    def close(self) -> None:
        if self.logger is not None:
            self.logger.close()
        self.env.close()
        self.test_env.close()


# Compiled programs outlive a run: later run ids, resumed runs and benchmark repeats in the same
# process reuse them (no tracing or compiling). Keyed by everything an agent is built from,
# including the whole gin config; the few most recent are kept.
_PROGRAM_CACHE: "collections.OrderedDict[tuple, object]" = collections.OrderedDict()
_PROGRAM_CACHE_SIZE = 4


def _cached(key: tuple, build: Callable):
    if key in _PROGRAM_CACHE:
        _PROGRAM_CACHE.move_to_end(key)
        return _PROGRAM_CACHE[key]
    value = _PROGRAM_CACHE[key] = build()
    while len(_PROGRAM_CACHE) > _PROGRAM_CACHE_SIZE:
        _PROGRAM_CACHE.popitem(last=False)
    return value


def _learner(agent: Agent, n: int) -> "Learner":
    # The entry holds the agent itself, so its id cannot be reused while the entry lives.
    return _cached(("learner", id(agent), n), lambda: Learner(agent, n))


def build_agent(env_id: str, algo: str, buffer_seed: int = 0):
    """The agent for `env_id`, and a factory of fresh buffers of the kind it trains from."""
    probe = make_env(env_id)
    obs_shape, action_dim = probe.observation_space.shape, probe.action_space.shape[0]
    max_steps = max_episode_steps(probe)
    image = probe.observation_space.dtype == np.uint8
    probe.close()

    def new_buffer(agent, seed):
        if agent is not None and agent.is_recurrent:  # whole episodes (or segments)
            return RecurrentReplayBuffer(int(np.prod(obs_shape)), action_dim, max_steps, seed=seed)
        # Images stay uint8 in the buffer; the image agent scales them to [0, 1] on the device.
        return ReplayBuffer(obs_shape, action_dim, obs_dtype=np.uint8 if image else np.float32, seed=seed)

    overrides = {}
    if algo in IMAGE_ALGOS:  # the buffer's gin flag switches DrQ, which the agent applies in its update
        overrides["augment"] = new_buffer(None, buffer_seed).use_aug_for_img
    key = ("agent", algo, tuple(obs_shape), action_dim, tuple(sorted(overrides.items())), gin.config_str())
    return _cached(key, lambda: make_agent(algo, obs_shape, action_dim, **overrides)), new_buffer


def open_run(
    env_id: str, agent: Agent, new_buffer: Callable, run_dir: Path, seed: int,
    settings: Optional[dict] = None, accepted: Sequence[str] = (),
):
    """A SeedRun with its device state (and carry), restored from its checkpoint when one exists.

    A resumed run's settings must match the checkpoint's (less the `accepted` changes), and a
    missing, stale or unreadable policy file is rewritten from the checkpoint.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    seeds = RunSeeds.from_seed(seed)
    run = SeedRun(
        env_id, run_dir, seed, seeds, make_env(env_id, seed=seed), make_env(env_id, seed=seed + 1),
        new_buffer(agent, seeds.buffer_seed), Progress(), settings=dict(settings or {}),
    )
    carry = agent.initial_carry() if agent.is_recurrent else None
    state = agent.init(seeds.init_key)
    if run.checkpoint_path.exists():
        meta = checkpoint.read_meta(run.checkpoint_path)  # whose run, and its settings, before its arrays
        _check_identity(run.checkpoint_path, meta, _run_meta(env_id, agent, seed))
        run.settings_history = run_settings.reconcile(run_dir, meta, run.settings, accepted)
        template = state
        state, run.progress, meta, carry = _restore(
            run.checkpoint_path, env_id, agent, seed, state, run.buffer, run.chunks, seeds, carry
        )
        run.wandb_id, run.committed_row = meta.get("wandb_id"), meta.get("row")
        for stale in run_dir.glob("*.tmp"):  # a write that a kill cut short (this process holds the lock)
            stale.unlink()
        run.obs = _rebuild_episode(run.env, seeds, run.progress, run.buffer)
        if not _policy_is_current(run, agent, template):
            save_policy(run_dir, agent, state, env_id, run.progress.step)
    else:
        run.obs, _ = run.env.reset(seed=seeds.train_episode_seed(0))
    return run, state, carry


class Learner:
    """The device side of N seeds: acting and updating, vmapped over a leading seed axis when N > 1.

    With one seed the agent's own jitted functions run unchanged, so a run trained alone is the
    same program whether or not vectorized runs exist. The seeds' acting keys are arguments, not
    constants, so one Learner (and its compiled programs) serves every run of its agent and N.
    """

    def __init__(self, agent: Agent, n: int):
        self.agent, self.n = agent, n
        rec = agent.is_recurrent

        def act_one(s, c, o, k, t):
            k = jax.random.fold_in(k, t)
            return agent.act(s, c, o, k, deterministic=False) if rec else (agent.act(s, o, k, deterministic=False), c)

        def test_one(s, c, o, k):
            return agent.act(s, c, o, k, deterministic=True) if rec else (agent.act(s, o, k, deterministic=True), c)

        if n == 1:
            self._act = jax.jit(act_one)
            self._update = agent.update_many
        else:
            self._act = jax.jit(jax.vmap(act_one, in_axes=(0, 0 if rec else None, 0, 0, None)))
            self._act_test = jax.jit(jax.vmap(test_one, in_axes=(0, 0 if rec else None, 0, 0)))
            vectorize = lambda many: jax.jit(jax.vmap(many), donate_argnums=0)  # noqa: E731
            many = agent.update_many
            self._update = many.map(vectorize, block_axis=1) if isinstance(many, PeriodicUpdates) else vectorize(many)

    def stack(self, trees: list):
        return trees[0] if self.n == 1 else jax.tree.map(lambda *xs: jnp.stack(xs), *trees)

    def select(self, tree, k: int):
        return tree if self.n == 1 else jax.tree.map(lambda x: x[k], tree)

    def test_episodes(self, state, envs: list, keys: jax.Array, seeds: list[list[int]]) -> list[tuple[list, list]]:
        """Each seed's deterministic test episodes on its own test env: (lengths, returns) per seed.

        One seed runs them as `run_test_episodes`; several step their test envs in lockstep with
        one vmapped act call per step for all seeds, instead of one call per seed.
        """
        if self.n == 1:
            return [run_test_episodes(envs[0], self.agent, state, keys, seeds[0])]
        policy = policy_view(self.agent, state)
        carry = self.stack([self.agent.initial_carry()] * self.n) if self.agent.is_recurrent else None

        def act(obs, c):
            actions, c = self._act_test(policy, c, obs, keys)
            return np.asarray(actions), c

        return run_test_episodes_together(envs, act, carry, seeds)

    def act(self, policy, carry, observations: list[np.ndarray], keys: jax.Array, t: int):
        """Exploration actions for step t from `policy_view(agent, state)` (taken once per update, not per
        step); `keys` are the seeds' acting keys (stacked when N > 1)."""
        obs = observations[0] if self.n == 1 else np.stack(observations)
        actions, carry = self._act(policy, carry, obs, keys, t)
        actions = np.asarray(actions)
        return ([actions] if self.n == 1 else list(actions)), carry

    def reset_carry(self, carry, k: int):
        fresh = self.agent.initial_carry()
        return fresh if self.n == 1 else jax.tree.map(lambda c, z: c.at[k].set(z), carry, fresh)

    def update(self, state, batches: list):
        """One block of updates per seed; the seeds' batches reach the device in one transfer."""
        stacked = batches[0] if self.n == 1 else jax.tree.map(lambda *xs: np.stack(xs), *batches)
        return self._update(state, jax.device_put(stacked))


@gin.configurable("train", denylist=["env_id", "algo", "run_dir", "seed", "quiet", "wandb_group", "accept_change"])
def train(
    env_id: str,
    algo: str,
    run_dir: str | Path | Sequence[str | Path],
    seed: int | Sequence[int],
    num_epochs: int = gin.REQUIRED,
    num_steps_per_epoch: int = gin.REQUIRED,
    num_test_episodes_per_epoch: int = gin.REQUIRED,
    update_after: int = gin.REQUIRED,
    update_every: int = 1,
    quiet: bool = False,
    wandb_group: str = "",
    accept_change: Sequence[str] = (),
):
    """Trains (or resumes) one run, or several seeds vectorized, and returns the last epoch's row(s).

    Args:
      env_id, algo: what to train; `run_dir` receives progress.csv, checkpoint.npz, policy.npz.
      seed: the run's only source of randomness (network init, noise, sampling, env resets).
        Lists of run dirs and seeds train those seeds together (see `train_vectorized`) and
        return a list of rows.
      num_epochs, num_steps_per_epoch: total env steps = their product.
      num_test_episodes_per_epoch: deterministic test episodes after each epoch.
      update_after: random actions and no updates before this many env steps.
      update_every: every `update_every` steps, `update_every` gradient steps (ratio 1:1).
      accept_change: settings (e.g. "train.num_epochs", "SAC.lr") a resumed run may continue with
        changed values; any other difference from the run's first epoch is refused (see run_settings).
    """
    schedule = dict(
        num_epochs=num_epochs, num_steps_per_epoch=num_steps_per_epoch, update_after=update_after,
        num_test_episodes_per_epoch=num_test_episodes_per_epoch, update_every=update_every,
    )
    if isinstance(seed, int):
        return train_seeds(env_id, algo, [Path(run_dir)], [seed], schedule, quiet, wandb_group, accept_change)[0]
    run_dirs = [Path(d) for d in run_dir]
    # A crash between two seeds' checkpoint writes leaves them an epoch apart: level them alone first.
    validation.check_schedule(schedule)
    epochs = [_checkpoint_epoch(d / CHECKPOINT_NAME) for d in run_dirs]
    for one_dir, one_seed, epoch in zip(run_dirs, seed, epochs):
        if epoch < max(epochs):
            train_seeds(env_id, algo, [one_dir], [one_seed], schedule, quiet, wandb_group, accept_change, until_epoch=max(epochs))
    return train_seeds(env_id, algo, run_dirs, list(seed), schedule, quiet, wandb_group, accept_change)


def train_vectorized(env_id: str, algo: str, run_dirs: Sequence, seeds: Sequence[int], **kwargs) -> list[dict]:
    """Trains several seeds together in one process, each as if alone (to float tolerance).

    Their TrainStates are stacked along a leading seed axis and acting and updating are vmapped;
    each seed keeps its own envs, buffer, logs, checkpoint and results folder. The schedule is
    the one bound to `train.*`.
    """
    return train(env_id, algo, list(run_dirs), list(seeds), **kwargs)


def _checkpoint_epoch(path: Path) -> int:
    if not path.exists():
        return 0
    return int(checkpoint.read_meta(path)["progress"]["epoch"])


def train_seeds(
    env_id, algo, run_dirs: list, seeds: list, schedule: dict, quiet=False, wandb_group="",
    accept_change: Sequence[str] = (), until_epoch: Optional[int] = None,
) -> list:
    """The loop for one seed, or several vectorized; returns each seed's last epoch row.

    Every setting is checked before anything is written, and each run folder is locked against
    a second process for the whole run. `until_epoch` stops early (levelling vectorized seeds).
    """
    validation.check_schedule(schedule)
    settings = run_settings.current_settings(schedule)
    validation.check_bindings(settings)
    agent, new_buffer = build_agent(env_id, algo)
    validation.check_agent_config(agent.config, validation.gin_name(agent.config))
    earlier_checkpoints.number_to_keep()
    with run_locks([Path(d) for d in run_dirs]):
        return _train_locked(
            env_id, agent, new_buffer, run_dirs, seeds, schedule, settings=settings, quiet=quiet,
            wandb_group=wandb_group, accept_change=accept_change, until_epoch=until_epoch,
        )


def _train_locked(
    env_id, agent, new_buffer, run_dirs, seeds, schedule, *, settings, quiet, wandb_group, accept_change, until_epoch
) -> list:
    """`train_seeds` once its settings are checked and its folders locked."""
    algo = agent.name
    num_epochs, steps_per_epoch = schedule["num_epochs"], schedule["num_steps_per_epoch"]
    update_after, update_every = schedule["update_after"], schedule["update_every"]
    total_steps = (until_epoch or num_epochs) * steps_per_epoch
    opened = [open_run(env_id, agent, new_buffer, Path(d), s, settings, accept_change) for d, s in zip(run_dirs, seeds)]
    runs = [r for r, _, _ in opened]
    rows = [{"Epoch": r.progress.epoch, "Timesteps": r.progress.step} for r in runs]
    if len({r.progress.step for r in runs}) != 1:
        raise checkpoint.CheckpointError("vectorized seeds must resume from the same epoch")
    start_step = runs[0].progress.step
    if start_step >= total_steps:
        for r in runs:
            csv_log = CSVLog(r.run_dir, _columns(agent), start_step)
            if r.committed_row is not None and not csv_log.has_row(start_step):
                csv_log.write(r.committed_row)
            r.close()
        return [r.committed_row or row for r, row in zip(runs, rows)]

    learner = _learner(agent, len(runs))
    act_keys = learner.stack([r.seeds.act_key for r in runs])
    state = learner.stack([s for _, s, _ in opened])
    policy = policy_view(agent, state)
    carry = learner.stack([c for _, _, c in opened]) if agent.is_recurrent else None
    batch_type = SequenceBatch if agent.is_recurrent else Batch
    for k, r in enumerate(runs):
        r.logger = RunLogger(
            r.run_dir, list(agent.metric_names.values()), total_steps, start_step, wandb_group=wandb_group,
            wandb_name=f"run_id={r.run_dir.name}", wandb_id=r.wandb_id, quiet=quiet, show_progress=k == 0,
            wandb_config={"env": env_id, "algo": algo, "seed": r.seed, "config": describe_config(agent.config)},
        )
        if r.committed_row is not None and not r.logger.csv.has_row(start_step):
            r.logger.log_epoch(r.committed_row, num_epochs)  # committed, but its rows were not yet logged
    metric_log: list = []
    epoch_start, epoch_start_step = time.perf_counter(), start_step
    try:
        for t in range(start_step, total_steps):
            if t < update_after:
                actions = [r.seeds.explore_rng.uniform(-1.0, 1.0, r.env.action_space.shape).astype(np.float32) for r in runs]
            else:
                actions, carry = learner.act(policy, carry, [r.obs for r in runs], act_keys, t)
            for k, (r, action) in enumerate(zip(runs, actions)):
                if r.step(action, agent.is_recurrent) and agent.is_recurrent:
                    carry = learner.reset_carry(carry, k)
            if t >= update_after and (t + 1) % update_every == 0 and all(r.buffer.can_sample() for r in runs):
                batches = [batch_type(**r.buffer.sample_many(update_every)) for r in runs]
                state, metrics = learner.update(state, batches)
                policy = policy_view(agent, state)
                metric_log.append(metrics)
            if (t + 1) % 100 == 0:
                runs[0].logger.advance(100)
            if (t + 1) % steps_per_epoch == 0:
                now = time.perf_counter()
                host_metrics = jax.device_get(metric_log)
                epoch = (t + 1) // steps_per_epoch
                finite = finite_seeds(state, host_metrics, learner.n)
                if not finite.all():
                    diverged = [r.run_dir for r, ok in zip(runs, finite) if not ok]
                    lr_name = f"{validation.gin_name(agent.config)}.lr"
                    raise DivergedError(divergence_message(diverged, epoch, epoch - 1, lr_name))
                test_seeds = [
                    [r.seeds.test_episode_seed(epoch, i) for i in range(schedule["num_test_episodes_per_epoch"])] for r in runs
                ]
                tests = learner.test_episodes(state, [r.test_env for r in runs], act_keys, test_seeds)
                for k, r in enumerate(runs):
                    seed_metrics = [jax.tree.map(lambda x: x[k], m) for m in host_metrics] if learner.n > 1 else host_metrics
                    rows[k] = _end_epoch(
                        r, agent, learner.select(state, k), learner.select(carry, k) if carry is not None else None,
                        seed_metrics, tests[k], schedule, now - epoch_start,
                        (t + 1 - epoch_start_step) / max(now - epoch_start, 1e-9),
                    )
                metric_log = []
                epoch_start, epoch_start_step = time.perf_counter(), t + 1
    finally:
        for r in runs:
            r.close()
    return rows


def _end_epoch(
    run: SeedRun, agent: Agent, state, carry, metric_log, tests: tuple, schedule, seconds: float, steps_per_second: float
) -> dict:
    """The epoch's log row (with its test episodes' (lengths, returns)), checkpoint and policy file of one seed."""
    p = run.progress
    p.epoch = p.step // schedule["num_steps_per_epoch"]
    test_lengths, test_returns = tests
    p.hours += seconds / 3600.0
    row = {
        "Epoch": p.epoch,
        "Timesteps": p.step,
        "Episode Length (Train)": _mean(run.lengths),
        "Episode Return (Train)": _mean(run.returns),
        "Episode Length (Test)": _mean(test_lengths),
        "Episode Return (Test)": _mean(test_returns),
        "Success Rate": _mean(run.successes),
        "Hours": p.hours,
        "Steps per Second": steps_per_second,
        **epoch_means(metric_log, agent.metric_names),
    }
    run.lengths, run.returns, run.successes = [], [], []
    # The checkpoint commits the epoch; the policy and the log rows follow from it, and a rerun
    # redoes them from the checkpoint when a crash came between.
    _save(run, agent, state, carry, row)
    save_policy(run.run_dir, agent, state, run.env_id, p.step)
    run.logger.log_epoch(row, schedule["num_epochs"])
    return row


def _save(run: SeedRun, agent: Agent, state, carry=None, row: Optional[dict] = None) -> None:
    """The buffer's new slots as a chunk, then the checkpoint listing it, then old chunks removed.

    In this order a crash at any point leaves the last committed checkpoint and every chunk it
    lists intact. The first checkpoint is preceded by the config files; each later one sets the
    one it replaces aside in earlier/ (the newest few are kept, with the chunks they list).
    """
    keep = earlier_checkpoints.number_to_keep()
    started = run.checkpoint_path.exists()
    if not started:
        run_settings.write_config_files(run.run_dir)
    meta = {
        **_run_meta(run.env_id, agent, run.seed),
        "settings": run.settings,
        "settings_history": run.settings_history,
        "row": row,
        "progress": dataclasses.asdict(run.progress),
        "explore_rng": run.seeds.explore_rng.bit_generator.state,
        "buffer_rng": run.buffer.rng.bit_generator.state,
        "wandb_id": run.logger.wandb_id,
        "buffer_chunks": run.chunks.prepare(run.buffer, run.progress.step),
    }
    groups = {"state": checkpoint.flatten_tree(state), "buffer": run.buffer.small_state()}
    if carry is not None:
        groups["carry"] = checkpoint.flatten_tree(carry)
    if started:
        earlier_checkpoints.set_aside(run.checkpoint_path, keep)
    checkpoint.save(run.checkpoint_path, groups, meta)
    earlier_checkpoints.prune(run.run_dir, keep)
    run.chunks.commit(run.buffer, meta["buffer_chunks"], keep=earlier_checkpoints.listed_chunks(run.run_dir))
    run.committed_row = row


def _columns(agent: Agent) -> list[str]:
    return list(BASE_COLUMNS) + list(agent.metric_names.values())


def _mean(values) -> float:
    return float(np.mean(values)) if len(values) else float("nan")
