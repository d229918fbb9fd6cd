"""stable-baselines3's DDPG, TD3 and SAC trained from jaxpcc's gin configs, for performance checks.

    python main.py sb3 --env HopperBulletEnv-v0 --algo sac --config configs/reproduce_sb3/sac_hopper_walker2d.gin --run_id 1

The reference offers the same comparison (its `launch_baseline.py`). Here one config drives both
libraries: the algorithm's settings (`SAC.lr`, `TD3.policy_delay`, ...), `make_MLP.hidden_dimensions`,
`ReplayBuffer.capacity` / `batch_size` and the `train.*` schedule are read from the same bindings
jaxpcc trains with, so TD3 and SAC need no bindings of their own (the reference's SB3 driver read
`update_after` for DDPG alone and failed for the others). The env is jaxpcc's own (`make_env`,
actions in [-1, 1]). The run goes to RESULTS/ENV/sb3-ALGO/RUN_ID with a progress.csv of jaxpcc's
base columns (the same epochs, test episodes and names), so `main.py grid report` and
`jaxpcc.plot` put both libraries in one figure. The final checkpoint holds the policy's
parameters and the run's counters (npz, no pickle); SB3 keeps its replay buffer only through
pickle, so an unfinished SB3 run starts again from its first step.

torch and stable-baselines3 are optional: `pip install torch==2.13.0 stable-baselines3==2.9.2`.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

import gin
import numpy as np

from jaxpcc.extras import install_hint
from jaxpcc.gin_files import parse_gin, resolve_config
from jaxpcc.logger import BASE_COLUMNS, CSVLog
from jaxpcc.persistence import checkpoint
from jaxpcc.schedule import DEFAULT_UPDATE_EVERY
from jaxpcc.user_error import UserError

ALGOS = ("ddpg", "td3", "sac")
PREFIX = "sb3-"  # the run's folder name: RESULTS/ENV/sb3-ALGO/RUN_ID


def _bound(name: str, default):
    """The gin value of `Configurable.param` (macros resolved), or `default` when the config leaves it unbound."""
    try:
        value = gin.query_parameter(name)
    except ValueError:
        return default
    return value.scoped_configurable_fn() if isinstance(value, gin.config.ConfigurableReference) else value


def _default(callable_, param: str):
    return inspect.signature(callable_).parameters[param].default


def read_settings(algo: str) -> dict:
    """Everything an SB3 run takes from the parsed gin config: the schedule, buffer, MLP and algorithm."""
    from jaxpcc.agents.common import mlp_hidden_sizes
    from jaxpcc.agents.ddpg import DDPGConfig
    from jaxpcc.agents.sac import SACConfig
    from jaxpcc.agents.td3 import TD3Config
    from jaxpcc.replay import ReplayBuffer

    config_cls = {"ddpg": DDPGConfig, "td3": TD3Config, "sac": SACConfig}[algo]
    schedule = {name: _bound(f"train.{name}", None) for name in ("num_epochs", "num_steps_per_epoch", "num_test_episodes_per_epoch", "update_after")}
    missing = [name for name, value in schedule.items() if value is None]
    if missing:
        raise UserError(f"the config leaves {', '.join('train.' + m for m in missing)} unbound")
    schedule = {name: int(value) for name, value in schedule.items()}
    schedule["update_every"] = int(_bound("train.update_every", DEFAULT_UPDATE_EVERY))
    # gin fills the bound fields; the env's sizes are filled in by sb3_kwargs
    agent = config_cls(obs_dim=0, action_dim=0, hidden_sizes=mlp_hidden_sizes())
    buffer = {k: int(_bound(f"ReplayBuffer.{k}", _default(ReplayBuffer, k))) for k in ("capacity", "batch_size")}
    return {"schedule": schedule, "agent": agent, "buffer": buffer}


def sb3_kwargs(algo: str, settings: dict, action_dim: int) -> dict:
    """The SB3 constructor's keyword arguments for these settings (its env, seed and device aside)."""
    from stable_baselines3.common.noise import NormalActionNoise

    agent, schedule, buffer = settings["agent"], settings["schedule"], settings["buffer"]
    total = schedule["num_epochs"] * schedule["num_steps_per_epoch"]
    lr = agent.lr
    if agent.lr_schedule is not None:  # jaxpcc's multiplier counts updates; SB3's schedule sees the progress left
        base, multiplier, after = agent.lr, agent.lr_schedule, schedule["update_after"]
        lr = lambda left: base * multiplier(max(1, round((1 - left) * total) - after))  # noqa: E731
    kwargs = {
        "policy": "MlpPolicy",
        "learning_rate": lr,
        "buffer_size": buffer["capacity"],
        "batch_size": buffer["batch_size"],
        "gamma": agent.gamma,
        "tau": 1.0 - agent.polyak,
        "learning_starts": schedule["update_after"],
        "train_freq": (schedule["update_every"], "step"),
        "gradient_steps": schedule["update_every"],
        "policy_kwargs": {"net_arch": list(agent.hidden_sizes)},
    }
    if algo in ("ddpg", "td3"):
        kwargs["action_noise"] = NormalActionNoise(np.zeros(action_dim), agent.action_noise * np.ones(action_dim))
    if algo == "td3":
        kwargs.update(policy_delay=agent.policy_delay, target_policy_noise=agent.target_noise, target_noise_clip=agent.noise_clip)
    if algo == "sac":
        kwargs["ent_coef"] = f"auto_{agent.alpha}" if agent.autotune_alpha else agent.alpha
        kwargs["target_entropy"] = dataclasses.replace(agent, action_dim=action_dim).entropy_target
    return kwargs


def _evaluate(model, env, seeds: Sequence[int]) -> tuple[list[int], list[float]]:
    lengths, returns = [], []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        done, length, ret = False, 0, 0.0
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, reward, terminated, truncated, _ = env.step(action)
            done, length, ret = terminated or truncated, length + 1, ret + float(reward)
        lengths.append(length)
        returns.append(ret)
    return lengths, returns


def train(env_id: str, algo: str, run_dir: Path, seed: int, settings: dict, quiet: bool = False) -> dict:
    """Trains one SB3 run from scratch; every `num_steps_per_epoch` steps a progress.csv row and a checkpoint."""
    from stable_baselines3 import DDPG, SAC, TD3
    from stable_baselines3.common.callbacks import BaseCallback

    from jaxpcc.envs import make_env
    from jaxpcc.seed_run import RunSeeds

    schedule = settings["schedule"]
    run_dir.mkdir(parents=True, exist_ok=True)
    env, test_env = make_env(env_id, seed=seed), make_env(env_id, seed=seed + 1)
    seeds = RunSeeds.from_seed(seed)
    model_cls = {"ddpg": DDPG, "td3": TD3, "sac": SAC}[algo]
    model = model_cls(env=env, seed=seed, device="cpu", verbose=0, **sb3_kwargs(algo, settings, env.action_space.shape[0]))
    log = CSVLog(run_dir, BASE_COLUMNS, keep_until_step=0)
    started = time.perf_counter()
    last = {}

    class Epochs(BaseCallback):
        def _on_training_start(self) -> None:
            self.lengths, self.returns, self.length, self.ret, self.epoch_start = [], [], 0, 0.0, time.perf_counter()

        def _on_step(self) -> bool:
            self.length += 1
            self.ret += float(self.locals["rewards"][0])
            if self.locals["dones"][0]:
                self.lengths.append(self.length)
                self.returns.append(self.ret)
                self.length, self.ret = 0, 0.0
            step = self.num_timesteps
            if step % schedule["num_steps_per_epoch"] == 0:
                epoch = step // schedule["num_steps_per_epoch"]
                seeds_ = [seeds.test_episode_seed(epoch, i) for i in range(schedule["num_test_episodes_per_epoch"])]
                test_lengths, test_returns = _evaluate(self.model, test_env, seeds_)
                row = {
                    "Epoch": epoch, "Timesteps": step,
                    "Episode Length (Train)": _mean(self.lengths), "Episode Return (Train)": _mean(self.returns),
                    "Episode Length (Test)": _mean(test_lengths), "Episode Return (Test)": _mean(test_returns),
                    "Success Rate": _mean([float(r > 0) for r in self.returns]),
                    "Hours": (time.perf_counter() - started) / 3600,
                    "Steps per Second": schedule["num_steps_per_epoch"] / (time.perf_counter() - self.epoch_start),
                }
                log.write(row)
                save_checkpoint(run_dir, self.model, env_id, algo, seed, epoch, step)
                if not quiet:
                    print(f"epoch {epoch}/{schedule['num_epochs']}: test return {row['Episode Return (Test)']:.2f}", flush=True)
                last.update(row)
                self.lengths, self.returns, self.epoch_start = [], [], time.perf_counter()
            return True

    model.learn(total_timesteps=schedule["num_epochs"] * schedule["num_steps_per_epoch"], callback=Epochs())
    env.close()
    test_env.close()
    return last


def save_checkpoint(run_dir: Path, model, env_id: str, algo: str, seed: int, epoch: int, step: int) -> None:
    """The policy's parameters (torch tensors as arrays) and the counters a grid reads; no pickle."""
    params = {name: tensor.detach().cpu().numpy() for name, tensor in model.policy.state_dict().items()}
    meta = {"env_id": env_id, "algo": PREFIX + algo, "seed": seed, "progress": {"epoch": epoch, "step": step}}
    checkpoint.save(run_dir / "checkpoint.npz", {"policy": params}, meta)


def _mean(values) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="main.py sb3", description="Train stable-baselines3 from a jaxpcc gin config.")
    parser.add_argument("--env", required=True)
    parser.add_argument("--algo", required=True, choices=ALGOS)
    parser.add_argument("--config", required=True)
    parser.add_argument("--run_id", type=int, nargs="+", default=[1])
    parser.add_argument("--seed_offset", type=int, default=0)
    parser.add_argument("--gin_param", action="append", default=[])
    parser.add_argument("--results_dir", default="results", help=f"runs go to RESULTS_DIR/ENV/{PREFIX}ALGO/RUN_ID")
    parser.add_argument("--quiet", action="store_true")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from jaxpcc.envs import UnknownEnvError, check_env_id

        try:
            check_env_id(args.env)
        except UnknownEnvError as err:
            raise UserError(str(err)) from err
        try:
            import stable_baselines3  # noqa: F401
        except ImportError as err:
            raise UserError(f"the SB3 backend needs torch and stable-baselines3: {install_hint('bench')}") from err
        parse_gin(resolve_config(args.config, args.algo), args.gin_param)
        settings = read_settings(args.algo)
        for run_id in args.run_id:
            run_dir = Path(args.results_dir) / args.env / (PREFIX + args.algo) / str(run_id)
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "config.gin").write_text(gin.config_str())
            train(args.env, args.algo, run_dir, run_id + args.seed_offset, settings, args.quiet)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
