"""The training loop: explore, store, update, evaluate, log, checkpoint, resume.

It follows the reference's spinning-up style loop: uniform random actions until
`update_after`; from then on the policy with exploration noise, and every `update_every`
env steps a block of `update_every` gradient steps. The block is one compiled program that
samples its batches from the buffer (on the device for transition agents), updates, and acts for
the next step (see `learner`), so the reference's default of one update per env step costs one
call per step. A time-limit truncation is not terminal: the buffer stores
`done = terminated`, and the env resets on `terminated or truncated`. Each epoch ends with a
finiteness check (`finite_guard`), deterministic test episodes on a separate env, and its commit:
an atomic checkpoint of the whole run (the buffer's new slots go to a chunk file beside it, see
`buffer_chunks`), then the policy file and the log row, which a rerun redoes from the checkpoint
if a crash came between. Re-running the same command resumes where the last epoch ended, with
the settings the run started with (`run_settings`), in a folder no other process writes
(`run_lock`). docs/checkpoints.md states the guarantees.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import NamedTuple, Optional, Sequence

import jax
import numpy as np

from jaxpcc import device_rollout, run_settings, validation
from jaxpcc.agents import Agent
from jaxpcc.agents.common import describe_config
from jaxpcc.finite_guard import DivergedError, divergence_message, finite_seeds
from jaxpcc.logger import BASE_COLUMNS, CSVLog, RunLogger
from jaxpcc.loop_observer import ACTING, ENV_STEPS, SAMPLING, UPDATES, LoopObserver
from jaxpcc.persistence import checkpoint, earlier_checkpoints, policy_file, run_checkpoint
from jaxpcc.programs import build_agent, learner_for
from jaxpcc.run_lock import run_locks
from jaxpcc.schedule import Schedule, train_schedule
from jaxpcc.learner import Learner, epoch_means
from jaxpcc.seed_run import RunSeeds, SeedRun, open_run


def train(
    env_id: str,
    algo: str,
    run_dir: str | Path | Sequence[str | Path],
    seed: int | Sequence[int],
    quiet: bool = False,
    wandb_group: str = "",
    accept_change: Sequence[str] = (),
    observer: Optional[LoopObserver] = None,
    **schedule_settings,
):
    """Trains (or resumes) one run, or several seeds vectorized, and returns the last epoch's row(s).

    Args:
      env_id, algo: what to train; `run_dir` receives progress.csv, checkpoint.npz, policy.npz.
      seed: the run's only source of randomness (network init, noise, sampling, env resets).
        Lists of run dirs and seeds train those seeds together (see `train_vectorized`) and
        return a list of rows.
      accept_change: settings (e.g. "train.num_epochs", "SAC.lr") a resumed run may continue with
        changed values; any other difference from the run's first epoch is refused (see run_settings).
      observer: told of the loop's parts and checkpoints as they happen (see `loop_observer`).
      schedule_settings: the `train.*` settings (`schedule.train_schedule`'s arguments:
        num_epochs, num_steps_per_epoch, ...); any not given comes from its gin binding.
    """
    schedule = train_schedule(**schedule_settings)
    options = dict(quiet=quiet, wandb_group=wandb_group, accept_change=accept_change, observer=observer)
    if isinstance(seed, int):
        return train_seeds(env_id, algo, [Path(run_dir)], [seed], schedule, **options)[0]
    run_dirs = [Path(d) for d in run_dir]
    # A crash between two seeds' checkpoint writes leaves them an epoch apart: level them alone first.
    validation.check_schedule(schedule.as_dict())
    epochs = [run_checkpoint.checkpoint_epoch(d / run_checkpoint.CHECKPOINT_NAME) for d in run_dirs]
    for one_dir, one_seed, epoch in zip(run_dirs, seed, epochs):
        if epoch < max(epochs):
            train_seeds(env_id, algo, [one_dir], [one_seed], schedule, **options, until_epoch=max(epochs))
    return train_seeds(env_id, algo, run_dirs, list(seed), schedule, **options)


def train_vectorized(env_id: str, algo: str, run_dirs: Sequence, seeds: Sequence[int], **kwargs) -> list[dict]:
    """Trains several seeds together in one process, each as if alone (to float tolerance).

    Their TrainStates are stacked along a leading seed axis and acting and updating are vmapped;
    each seed keeps its own envs, buffer, logs, checkpoint and results folder. The schedule is
    the one bound to `train.*`.
    """
    return train(env_id, algo, list(run_dirs), list(seeds), **kwargs)


def train_seeds(
    env_id, algo, run_dirs: list, seeds: list, schedule: Schedule, quiet=False, wandb_group="",
    accept_change: Sequence[str] = (), until_epoch: Optional[int] = None, observer: Optional[LoopObserver] = None,
) -> list:
    """The loop for one seed, or several vectorized; returns each seed's last epoch row.

    Every setting is checked before anything is written, and each run folder is locked against
    a second process for the whole run. `until_epoch` stops early (levelling vectorized seeds).
    """
    validation.check_schedule(schedule.as_dict())
    settings = run_settings.current_settings(schedule.as_dict())
    validation.check_bindings(settings)
    agent, new_buffers = build_agent(env_id, algo)
    validation.check_agent_config(agent.config, validation.gin_name(agent.config))
    twin = device_rollout.twin_for(env_id, agent) if device_rollout.device_env_enabled() else None
    earlier_checkpoints.number_to_keep()
    with run_locks([Path(d) for d in run_dirs]):
        return _train_locked(
            env_id, agent, new_buffers, run_dirs, seeds, schedule, twin=twin, settings=settings, quiet=quiet,
            wandb_group=wandb_group, accept_change=accept_change, until_epoch=until_epoch,
            observer=observer or LoopObserver(),
        )


def _train_locked(
    env_id, agent, new_buffers, run_dirs, seeds, schedule: Schedule, *, twin, settings, quiet, wandb_group, accept_change,
    until_epoch, observer: LoopObserver,
) -> list:
    """`train_seeds` once its settings are checked and its folders locked; `twin` is the env's JAX
    twin when its steps run on the device, else None."""
    algo, num_epochs = agent.name, schedule.num_epochs
    total_steps = schedule.total_steps(until_epoch)
    buffers = new_buffers(agent, [RunSeeds.from_seed(s).buffer_seed for s in seeds])
    env_template = device_rollout.env_template_of(env_id)  # a checkpoint's twin, stepped or not
    opened = [
        open_run(env_id, agent, buffer, Path(d), s, settings, accept_change, env_template, on_device=twin is not None)
        for buffer, d, s in zip(buffers.views, run_dirs, seeds)
    ]
    runs = [o.run for o in opened]
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

    learner = learner_for(agent, len(runs))
    act_keys = learner.stack([r.seeds.act_key for r in runs])
    state = learner.stack([o.state for o in opened])
    carry = learner.stack([o.carry for o in opened])
    for k, r in enumerate(runs):
        r.logger = RunLogger(
            r.run_dir, list(agent.metric_names.values()), total_steps, start_step, wandb_group=wandb_group,
            wandb_name=f"run_id={r.run_dir.name}", wandb_id=r.wandb_id, quiet=quiet, show_progress=k == 0,
            wandb_config={"env": env_id, "algo": algo, "seed": r.seed, "config": describe_config(agent.config)},
        )
        if r.committed_row is not None and not r.logger.csv.has_row(start_step):
            r.logger.log_epoch(r.committed_row, num_epochs)  # committed, but its rows were not yet logged
    sums = learner.zero_sums()
    updates_done = int(np.asarray(learner.select(state, 0).step))  # the host's count decides TD3's delay phase
    loop = _Loop(agent, learner, runs, buffers, schedule, total_steps, observer,
                 _EpochEnd(agent, learner, runs, schedule, rows, observer, start_step))
    try:
        if twin is None:
            _host_steps(loop, state, carry, sums, act_keys, updates_done, start_step)
        else:
            _device_steps(loop, twin, state, sums, updates_done, start_step)
    finally:
        for r in runs:
            r.close()
    return rows


class _Loop(NamedTuple):
    """What the steps of a run use throughout, wherever they run."""

    agent: Agent
    learner: Learner
    runs: list
    buffers: object
    schedule: Schedule
    total_steps: int
    observer: LoopObserver
    epoch: "_EpochEnd"


def _host_steps(loop: _Loop, state, carry, sums, act_keys, updates_done: int, start_step: int) -> None:
    """Steps [start_step, total_steps) with the env on the host: one device call per step."""
    learner, runs, buffers, schedule, observer = loop.learner, loop.runs, loop.buffers, loop.schedule, loop.observer
    total_steps = loop.total_steps
    steps_per_epoch, update_after, update_every = schedule.num_steps_per_epoch, schedule.update_after, schedule.update_every
    actions = None  # the next step's actions, when the last update block already computed them
    for t in range(start_step, total_steps):
        mark = time.perf_counter()
        if t < update_after:
            actions = [r.seeds.explore_rng.uniform(-1.0, 1.0, r.env.action_space.shape).astype(np.float32) for r in runs]
        elif actions is None:
            actions, carry = learner.act(state, carry, [r.obs for r in runs], act_keys, t)
        mark = observer.lap(ACTING, mark)
        for k, (r, action) in enumerate(zip(runs, actions)):
            if r.step(action):
                carry = learner.reset_carry(carry, k)
        num_updates = 0
        if t >= update_after and (t + 1) % update_every == 0 and buffers.can_sample():
            num_updates = update_every
            mark = observer.lap(ENV_STEPS, mark)
        source = buffers.update_source(num_updates)
        if num_updates:
            mark = observer.lap(SAMPLING, mark)
        # One program stores the step, updates when due and acts for step t + 1. Its action is
        # not used where an epoch starts: a run resumed at that step acts with the acting
        # program, and so must this one, to stay bit-equal. (An update block acts anyway, so
        # that one program serves every step.)
        acts = update_after <= t + 1 < total_steps and (t + 1) % steps_per_epoch != 0
        state, sums, next_actions, next_carry = learner.step(
            state, sums, carry, buffers, source, act_keys, t + 1, [r.obs for r in runs] if acts or num_updates else None,
            num_updates, updates_done,
        )
        actions, carry = (next_actions, next_carry) if acts else (None, carry)
        updates_done += num_updates
        if num_updates:
            if observer.wait_for_updates:
                jax.block_until_ready(state)
            observer.lap(UPDATES, mark)
        else:  # the step's store (and the next action) count as its env step and push
            observer.lap(ENV_STEPS, mark)
        if (t + 1) % 100 == 0:
            runs[0].logger.advance(100)
        if (t + 1) % steps_per_epoch == 0:
            sums = loop.epoch.close(t + 1, state, carry, sums, act_keys)


def _device_steps(loop: _Loop, twin, state, sums, updates_done: int, start_step: int) -> None:
    """Steps [start_step, total_steps) with the env's JAX twin on the device: a few calls per epoch
    (see `device_rollout`)."""
    agent, learner, runs, schedule = loop.agent, loop.learner, loop.runs, loop.schedule
    steps_per_epoch, update_every = schedule.num_steps_per_epoch, schedule.update_every
    keys = [device_rollout.keys_for(r.seeds.act_key, r.seed) for r in runs]
    env = learner.stack([
        r.device_env if r.device_env is not None else device_rollout.start_episode(twin, k, r.progress.episode)
        for r, k in zip(runs, keys)
    ])
    keys, act_keys, carry = learner.stack(keys), learner.stack([r.seeds.act_key for r in runs]), learner.start_carry()
    t = start_step
    while t < loop.total_steps:
        epoch_end = (t // steps_per_epoch + 1) * steps_per_epoch
        view = runs[0].buffer
        for stretch in device_rollout.stretches(t, epoch_end, schedule.update_after, view.size, view.batch_size, view.capacity):
            mark = time.perf_counter()
            state, sums, env, rewards, ended = device_rollout.run_stretch(
                agent, twin, loop.buffers, stretch, update_every, learner.n, state, sums, env, keys, updates_done
            )
            updates_done += device_rollout.updates_in(stretch, update_every)
            for k, r in enumerate(runs):
                r.record_steps(*((rewards, ended) if learner.n == 1 else (rewards[k], ended[k])))
            loop.observer.lap(UPDATES if stretch.updates else ENV_STEPS, mark)
            runs[0].logger.advance(stretch.stop - stretch.start)
        for k, r in enumerate(runs):
            r.device_env = learner.select(env, k)
        sums = loop.epoch.close(epoch_end, state, carry, sums, act_keys)
        t = epoch_end


class _EpochEnd:
    """What ends every epoch, wherever its steps ran: the finiteness check, the test episodes, and
    each seed's log row, checkpoint and policy file."""

    def __init__(self, agent, learner, runs, schedule, rows, observer, start_step):
        self.agent, self.learner, self.runs, self.schedule, self.rows = agent, learner, runs, schedule, rows
        self.observer = observer
        self.started, self.start_step = time.perf_counter(), start_step

    def close(self, step: int, state, carry, sums, act_keys) -> dict:
        """Ends the epoch at `step`; returns the next epoch's zero metric sums."""
        agent, learner, runs, schedule = self.agent, self.learner, self.runs, self.schedule
        now = time.perf_counter()
        host_sums = jax.device_get(sums)
        epoch = step // schedule.num_steps_per_epoch
        finite = finite_seeds(state, [host_sums], learner.n)
        if not finite.all():
            diverged = [r.run_dir for r, ok in zip(runs, finite) if not ok]
            lr_name = f"{validation.gin_name(agent.config)}.lr"
            raise DivergedError(divergence_message(diverged, epoch, epoch - 1, lr_name))
        test_seeds = [[r.seeds.test_episode_seed(epoch, i) for i in range(schedule.num_test_episodes_per_epoch)] for r in runs]
        tests = learner.test_episodes(state, [r.test_env for r in runs], act_keys, test_seeds)
        seconds = now - self.started
        for k, r in enumerate(runs):
            self.rows[k] = _end_epoch(
                r, agent, learner.select(state, k), learner.select(carry, k), learner.select(host_sums, k), tests[k],
                schedule, seconds, (step - self.start_step) / max(seconds, 1e-9), self.observer,
            )
        self.started, self.start_step = time.perf_counter(), step
        return learner.zero_sums()


def _end_epoch(
    run: SeedRun, agent: Agent, state, carry, metric_sums: dict, tests: tuple, schedule: Schedule, seconds: float,
    steps_per_second: float, observer: LoopObserver,
) -> dict:
    """The epoch's log row (with its test episodes' (lengths, returns)), checkpoint and policy file of one seed."""
    p = run.progress
    p.epoch = p.step // schedule.num_steps_per_epoch
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
        **epoch_means(metric_sums, agent.metric_names),
    }
    run.lengths, run.returns, run.successes = [], [], []
    # The checkpoint commits the epoch; the policy and the log rows follow from it, and a rerun
    # redoes them from the checkpoint when a crash came between.
    observer.checkpoint_saving(run)
    run_checkpoint.save_run(run, agent, state, carry, row, device_env=run.device_env)
    observer.checkpoint_saved(run, state)
    policy_file.save_policy(run.run_dir, agent, state, run.env_id, p.step)
    run.logger.log_epoch(row, schedule.num_epochs)
    return row


def _columns(agent: Agent) -> list[str]:
    return list(BASE_COLUMNS) + list(agent.metric_names.values())


def _mean(values) -> float:
    return float(np.mean(values)) if len(values) else float("nan")
