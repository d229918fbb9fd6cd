"""The training loop: explore, store, update, evaluate, log, checkpoint, resume.

It follows the reference's spinning-up style loop: uniform random actions until
`update_after`; from then on the policy with exploration noise, and every `update_every`
env steps a block of `update_every` gradient steps (one jitted `update_many` call on
pre-sampled batches). A time-limit truncation is not terminal: the buffer stores
`done = terminated`, and the env resets on `terminated or truncated`. Each epoch ends with
deterministic test episodes on a separate env, a log row and an atomic checkpoint of the whole
run, so re-running the same command resumes where the last epoch ended.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Callable, Optional

import gin
import jax
import numpy as np

from jaxpcc import checkpoint
from jaxpcc.agents import IMAGE_ALGOS, Agent, make_agent
from jaxpcc.agents.common import describe_config
from jaxpcc.envs import make_env, max_episode_steps
from jaxpcc.logger import RunLogger
from jaxpcc.replay import RecurrentReplayBuffer, ReplayBuffer
from jaxpcc.types import Batch, SequenceBatch

CHECKPOINT_NAME = "checkpoint.npz"
POLICY_NAME = "policy.npz"
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


def run_test_episodes(
    env, agent: Agent, state, key, seeds: list[int], on_step: Optional[Callable] = None
) -> tuple[list[int], list[float]]:
    """Deterministic episodes, one per seed; returns their lengths and returns.

    `on_step(env)` is called after each reset and step (rendering and recording use it).
    A recurrent agent's carried state starts from zero in every episode.
    """
    lengths, returns = [], []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        if on_step is not None:
            on_step(env)
        done, length, ret = False, 0, 0.0
        carry = agent.initial_carry() if agent.is_recurrent else None
        while not done:
            if agent.is_recurrent:
                action, carry = agent.act(state, carry, obs, key, deterministic=True)
            else:
                action = agent.act(state, obs, key, deterministic=True)
            action = np.asarray(action)
            obs, reward, terminated, truncated, _ = env.step(action)
            if on_step is not None:
                on_step(env)
            done = terminated or truncated
            length, ret = length + 1, ret + float(reward)
        lengths.append(length)
        returns.append(ret)
    return lengths, returns


def epoch_means(metric_log: list[dict], names: dict[str, str]) -> dict[str, float]:
    """Means over the epoch's updates, keyed by the reference's names (one device sync)."""
    if not metric_log:
        return {}
    host = jax.device_get(metric_log)
    return {names[k]: float(np.mean([np.mean(m[k]) for m in host])) for k in names if k in host[0]}


def save_policy(run_dir: Path, agent: Agent, state, env_id: str) -> None:
    """The acting parameters alone (what `--render` reloads), like the reference's actor.pth."""
    policy = {name: checkpoint.flatten_tree(tree) for name, tree in agent.policy(state).items()}
    meta = {"env_id": env_id, "algo": agent.name, "config": describe_config(agent.config)}
    checkpoint.save(run_dir / POLICY_NAME, policy, meta)


def load_policy(run_dir: Path, agent: Agent, template_state):
    """A state whose acting parameters come from `run_dir`'s policy file."""
    groups, meta = checkpoint.load(run_dir / POLICY_NAME)
    if meta.get("algo") != agent.name:
        raise checkpoint.CheckpointError(f"{run_dir / POLICY_NAME} holds a '{meta.get('algo')}' policy, not '{agent.name}'")
    template = agent.policy(template_state)
    loaded = {name: checkpoint.unflatten_like(tree, groups.get(name, {}), f"policy '{name}'") for name, tree in template.items()}
    return template_state.replace(**loaded)


def _run_meta(env_id: str, agent: Agent, seed: int) -> dict:
    return {"env_id": env_id, "algo": agent.name, "seed": seed, "config": describe_config(agent.config)}


def _restore(path: Path, env_id, agent, seed, template_state, buffer, seeds: RunSeeds, template_carry=None):
    """Loads a checkpoint into (state, Progress, wandb id, carry) after checking it belongs to this run.

    The carry (a recurrent agent's hidden state mid-episode; None otherwise) is saved as it was,
    since the parameters that built it changed along the episode and cannot rebuild it.
    """
    groups, meta = checkpoint.load(path)
    expected = _run_meta(env_id, agent, seed)
    for key, value in expected.items():
        if meta.get(key) != value:
            raise checkpoint.CheckpointError(
                f"{path} belongs to another run ({key} = {meta.get(key)!r}, this run has {value!r}); "
                "it was left untouched. Use another --run_id or remove the folder."
            )
    state = checkpoint.unflatten_like(template_state, groups["state"], "checkpointed train state")
    buffer.load_state_dict(groups["buffer"])
    buffer.rng.bit_generator.state = meta["buffer_rng"]
    seeds.explore_rng.bit_generator.state = meta["explore_rng"]
    carry = None
    if template_carry is not None:
        carry = checkpoint.unflatten_like(template_carry, groups.get("carry", {}), "checkpointed hidden state")
    return state, Progress(**meta["progress"]), meta.get("wandb_id"), carry


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


@gin.configurable("train", denylist=["env_id", "algo", "run_dir", "seed", "quiet", "wandb_group"])
def train(
    env_id: str,
    algo: str,
    run_dir: str | Path,
    seed: int,
    num_epochs: int = gin.REQUIRED,
    num_steps_per_epoch: int = gin.REQUIRED,
    num_test_episodes_per_epoch: int = gin.REQUIRED,
    update_after: int = gin.REQUIRED,
    update_every: int = 1,
    quiet: bool = False,
    wandb_group: str = "",
) -> dict:
    """Trains (or resumes) one run and returns its last epoch's log row.

    Args:
      env_id, algo: what to train; `run_dir` receives progress.csv, checkpoint.npz, policy.npz.
      seed: the run's only source of randomness (network init, noise, sampling, env resets).
      num_epochs, num_steps_per_epoch: total env steps = their product.
      num_test_episodes_per_epoch: deterministic test episodes after each epoch.
      update_after: random actions and no updates before this many env steps.
      update_every: every `update_every` steps, `update_every` gradient steps (ratio 1:1).
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    seeds = RunSeeds.from_seed(seed)
    env, test_env = make_env(env_id, seed=seed), make_env(env_id, seed=seed + 1)
    obs_shape, action_dim = env.observation_space.shape, env.action_space.shape[0]
    agent = make_agent(algo, obs_shape, action_dim)
    if agent.is_recurrent:  # whole episodes (or segments) and a hidden state carried while acting
        buffer = RecurrentReplayBuffer(int(np.prod(obs_shape)), action_dim, max_episode_steps(env), seed=seeds.buffer_seed)
    else:  # images stay uint8 in the buffer; the image agent scales them to [0, 1] on the device
        obs_dtype = np.uint8 if env.observation_space.dtype == np.uint8 else np.float32
        buffer = ReplayBuffer(obs_shape, action_dim, obs_dtype=obs_dtype, seed=seeds.buffer_seed)
    if algo in IMAGE_ALGOS:  # the buffer's gin flag switches DrQ, which the agent applies in its update
        agent = make_agent(algo, obs_shape, action_dim, augment=buffer.use_aug_for_img)
    batch_type = SequenceBatch if agent.is_recurrent else Batch
    carry = agent.initial_carry() if agent.is_recurrent else None
    state = agent.init(seeds.init_key)
    progress, wandb_id = Progress(), None
    ckpt_path = run_dir / CHECKPOINT_NAME
    if ckpt_path.exists():
        state, progress, wandb_id, carry = _restore(ckpt_path, env_id, agent, seed, state, buffer, seeds, carry)
        obs = _rebuild_episode(env, seeds, progress, buffer)
    else:
        obs, _ = env.reset(seed=seeds.train_episode_seed(0))
    total_steps = num_epochs * num_steps_per_epoch
    last_row: dict = {"Epoch": progress.epoch, "Timesteps": progress.step}
    if progress.step >= total_steps:
        return last_row

    logger = RunLogger(
        run_dir, list(agent.metric_names.values()), total_steps, progress.step, wandb_group=wandb_group,
        wandb_name=f"run_id={run_dir.name}", wandb_id=wandb_id,
        wandb_config={"env": env_id, "algo": algo, "seed": seed, "config": describe_config(agent.config)}, quiet=quiet,
    )
    explore = jax.jit(lambda s, o, t: agent.act(s, o, jax.random.fold_in(seeds.act_key, t), deterministic=False))
    if agent.is_recurrent:
        explore = jax.jit(
            lambda s, c, o, t: agent.act(s, c, o, jax.random.fold_in(seeds.act_key, t), deterministic=False)
        )
    train_lengths, train_returns, successes, metric_log = [], [], [], []
    epoch_start, epoch_start_step = time.perf_counter(), progress.step
    try:
        for t in range(progress.step, total_steps):
            if t < update_after:
                action = seeds.explore_rng.uniform(-1.0, 1.0, action_dim).astype(np.float32)
            elif agent.is_recurrent:
                action, carry = explore(state, carry, obs, t)
                action = np.asarray(action)
            else:
                action = np.asarray(explore(state, obs, t))
            next_obs, reward, terminated, truncated, _ = env.step(action)
            if agent.is_recurrent:
                buffer.push(obs, action, reward, next_obs, terminated, truncated)
            else:
                buffer.push(obs, action, reward, next_obs, terminated)
            obs = next_obs
            progress.episode_len += 1
            progress.episode_return += float(reward)
            progress.step = t + 1
            if terminated or truncated:
                train_lengths.append(progress.episode_len)
                train_returns.append(progress.episode_return)
                successes.append(float(progress.episode_return > 0))
                progress.episode += 1
                progress.episode_len, progress.episode_return = 0, 0.0
                obs, _ = env.reset(seed=seeds.train_episode_seed(progress.episode))
                carry = agent.initial_carry() if agent.is_recurrent else None
            if t >= update_after and (t + 1) % update_every == 0 and buffer.can_sample():
                batches = jax.device_put(batch_type(**buffer.sample_many(update_every)))
                state, metrics = agent.update_many(state, batches)
                metric_log.append(metrics)
            if (t + 1) % 100 == 0:
                logger.advance(100)
            if (t + 1) % num_steps_per_epoch == 0:
                progress.epoch = (t + 1) // num_steps_per_epoch
                test_seeds = [seeds.test_episode_seed(progress.epoch, i) for i in range(num_test_episodes_per_epoch)]
                test_lengths, test_returns = run_test_episodes(test_env, agent, state, seeds.act_key, test_seeds)
                now = time.perf_counter()
                progress.hours += (now - epoch_start) / 3600.0
                last_row = {
                    "Epoch": progress.epoch,
                    "Timesteps": t + 1,
                    "Episode Length (Train)": _mean(train_lengths),
                    "Episode Return (Train)": _mean(train_returns),
                    "Episode Length (Test)": _mean(test_lengths),
                    "Episode Return (Test)": _mean(test_returns),
                    "Success Rate": _mean(successes),
                    "Hours": progress.hours,
                    "Steps per Second": (t + 1 - epoch_start_step) / max(now - epoch_start, 1e-9),
                    **epoch_means(metric_log, agent.metric_names),
                }
                logger.log_epoch(last_row, num_epochs)
                train_lengths, train_returns, successes, metric_log = [], [], [], []
                _save(ckpt_path, env_id, agent, seed, state, buffer, seeds, progress, logger.wandb_id, carry)
                save_policy(run_dir, agent, state, env_id)
                epoch_start, epoch_start_step = time.perf_counter(), t + 1
    finally:
        logger.close()
        env.close()
        test_env.close()
    return last_row


def _save(path, env_id, agent, seed, state, buffer, seeds, progress, wandb_id, carry=None) -> None:
    meta = {
        **_run_meta(env_id, agent, seed),
        "progress": dataclasses.asdict(progress),
        "explore_rng": seeds.explore_rng.bit_generator.state,
        "buffer_rng": buffer.rng.bit_generator.state,
        "wandb_id": wandb_id,
    }
    groups = {"state": checkpoint.flatten_tree(state), "buffer": buffer.state_dict()}
    if carry is not None:
        groups["carry"] = checkpoint.flatten_tree(carry)
    checkpoint.save(path, groups, meta)


def _mean(values) -> float:
    return float(np.mean(values)) if len(values) else float("nan")
