"""The Python API: train a run, load its policy (`jaxpcc.policy`), act and evaluate, with no gin file needed.

    import jaxpcc
    run = jaxpcc.train("Pendulum-v0", "sac", seed=1, num_epochs=5, batch_size=256)
    policy = jaxpcc.load_policy(run.dir)
    action = policy.act(obs)
    print(policy.evaluate("Pendulum-v0", episodes=10))

A run made here is the same as one made by the command line (same folder layout, checkpoint,
`progress.csv`, `config.gin` and `operative_config.gin`), so either can resume, render or load
the other's runs. Hyper-parameters go in as keywords and become gin bindings; gin's global
configuration belongs to jaxpcc while `train` or `load_policy` runs (each starts by clearing it).

Agents underneath (`jaxpcc.agents.make_agent`) follow JAX's functional style: `agent.update` and
`agent.update_many` donate their input state to XLA, so after `state, metrics =
agent.update(state, batch)` only the returned state may be read; the old one's arrays are deleted.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path
from typing import Any, Optional, Sequence

from jaxpcc import gin_names
from jaxpcc.envs.env_spec import EnvSpec, env_id_of
from jaxpcc.extras import extras_named
from jaxpcc.loop_observer import LoopObserver
from jaxpcc.policy import OPERATIVE_CONFIG, STARTING_CONFIG, Policy, load_policy
from jaxpcc.user_error import UserError

__all__ = ["EnvSpec", "Policy", "Run", "configure", "env_id_of", "load_policy", "train", "train_together"]

# The gin name of each algorithm's config (its `@gin.configurable` name).
GIN_NAME_OF_ALGO = {
    "ddpg": "DDPG",
    "td3": "TD3",
    "sac": "SAC",
    "rdpg": "RecurrentDDPG",
    "rtd3": "RecurrentTD3",
    "rsac": "RecurrentSAC",
    "rsac_s": "RecurrentSACSharing",
    "csac": "ConvolutionalSAC",
}
# Keyword names that mean something else than the configurable parameter of the same name.
_ALIASES = {"hidden_sizes": "make_MLP.hidden_dimensions", "hidden_dimensions": "make_MLP.hidden_dimensions"}
# Set by the training loop from the env; never a hyper-parameter.
_NOT_OVERRIDABLE = {"obs_dim", "obs_shape", "action_dim", "augment"}


def configure(algo: str, config: Optional[str] = None, gin_params: Sequence[str] = (), **overrides) -> None:
    """Clears gin, then binds `config` (default: the command line's for `algo`), `gin_params` and `overrides`.

    Each keyword binds the parameter of that name in the first of: `train`, `make_MLP`, the
    algorithm's config (`SAC`, `RecurrentTD3`, ...), its replay buffer, `Summarizer`
    (`hidden_sizes` is an alias of `make_MLP.hidden_dimensions`). A name none of them has, or
    a binding gin refuses, raises ValueError naming it.
    """
    import gin

    from jaxpcc import gin_files
    from jaxpcc.agents import RECURRENT_ALGOS

    if algo not in GIN_NAME_OF_ALGO:
        raise ValueError(f"unknown algo '{algo}'; valid: {', '.join(sorted(GIN_NAME_OF_ALGO))}")
    try:
        path = gin_files.resolve_config(config, algo)
    except UserError as err:
        raise FileNotFoundError(str(err)) from err
    gin_files.register_configurables()
    gin.clear_config()
    gin_names.parse_config_file_and_bindings(path, gin_params, finalize=False)  # the reference's names too
    buffer = "RecurrentReplayBuffer" if algo in RECURRENT_ALGOS else "ReplayBuffer"
    selectors = ["train", "make_MLP", GIN_NAME_OF_ALGO[algo], buffer, "Summarizer"]
    for name, value in overrides.items():
        if name in _NOT_OVERRIDABLE:
            raise ValueError(f"'{name}' is set from the env, not a hyper-parameter")
        targets = [_ALIASES[name]] if name in _ALIASES else [f"{s}.{name}" for s in selectors]
        for target in targets:
            try:
                gin.bind_parameter(target, value)
                break
            except ValueError:
                continue
        else:
            raise ValueError(
                f"no hyper-parameter named '{name}' for {algo} (looked in {', '.join(selectors)}); "
                "gin_params=['Configurable.name=value'] binds any other"
            )
    gin.finalize()


@dataclasses.dataclass(frozen=True)
class Run:
    """A trained (or resumed) run: its folder and its last epoch's statistics.

    Attributes:
      dir: the results folder (progress.csv, checkpoint.npz, policy.npz, operative_config.gin).
      env_id, algo, seed: what was trained.
      last_epoch: the last epoch's row of progress.csv (only the counters when no epoch ever ended).
    """

    dir: Path
    env_id: str
    algo: str
    seed: int
    last_epoch: dict

    def progress(self) -> list[dict[str, float]]:
        """Every epoch's row of progress.csv, as numbers."""
        with open(self.dir / "progress.csv", newline="") as f:
            return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]

    def policy(self) -> Policy:
        return load_policy(self.dir)


def train(
    env: EnvSpec,
    algo: str,
    seed: int = 1,
    *,
    config: Optional[str] = None,
    gin_params: Sequence[str] = (),
    results_dir: str | Path = "results",
    run_dir: str | Path | None = None,
    tensorboard: bool = False,
    env_on_device: bool = False,
    quiet: bool = True,
    observer: Optional[LoopObserver] = None,
    **overrides: Any,
) -> Run:
    """Trains `algo` on `env` (or resumes the run if its folder holds a checkpoint).

    Args:
      env: a registered id ("Pendulum-v0"), a "module:id" string, or a factory of gymnasium envs.
      algo: "ddpg", "td3", "sac", "rdpg", "rtd3", "rsac", "rsac_s" or "csac".
      seed: the run's only source of randomness; also its folder name under results_dir.
      config: a gin file (default: the command line's default for `algo`); relative paths are
        looked up in the current directory and in jaxpcc's configs.
      gin_params: extra gin bindings, "Configurable.parameter=value".
      results_dir, run_dir: the run goes to run_dir, by default results_dir/ENV/ALGO/SEED.
      tensorboard: also write TensorBoard event files (the 'tensorboard' extra).
      env_on_device: step the env's JAX twin inside the compiled training program (the command
        line's --env_on_device; pendulum envs, transition agents; see `jaxpcc.device_rollout`).
      quiet: no console output.
      observer: told of the loop's parts and checkpoints as they happen (a
        `jaxpcc.loop_observer.LoopObserver`; the benchmarks time the loop through it).
      **overrides: hyper-parameters by name, e.g. num_epochs=5, batch_size=256, lr=1e-3,
        hidden_sizes=(64, 64) (see `configure`).
    """
    folder = Path(run_dir) if run_dir is not None else None
    options = dict(config=config, gin_params=gin_params, tensorboard=tensorboard, env_on_device=env_on_device, quiet=quiet,
                   observer=observer)
    return _train(env, algo, [seed], results_dir, folder, options, overrides)[0]


def train_together(
    env: EnvSpec,
    algo: str,
    seeds: Sequence[int],
    *,
    config: Optional[str] = None,
    gin_params: Sequence[str] = (),
    results_dir: str | Path = "results",
    tensorboard: bool = False,
    env_on_device: bool = False,
    quiet: bool = True,
    observer: Optional[LoopObserver] = None,
    **overrides: Any,
) -> list[Run]:
    """Trains several seeds together in one process, each as if alone (to float tolerance).

    The command line's `--vectorized`: the seeds' states are stacked and acting and updating are
    vmapped; each seed keeps its own envs, buffer and folder results_dir/ENV/ALGO/SEED. The
    arguments are `train`'s; returns one `Run` per seed, in order.
    """
    options = dict(config=config, gin_params=gin_params, tensorboard=tensorboard, env_on_device=env_on_device, quiet=quiet,
                   observer=observer)
    return _train(env, algo, list(seeds), results_dir, None, options, overrides)


def _train(env, algo, seeds: list[int], results_dir, run_dir: Optional[Path], options: dict, overrides: dict) -> list[Run]:
    """One run, or several seeds vectorized (a list of seeds), configured by `configure`."""
    import gin

    from jaxpcc import runtime
    from jaxpcc.envs import check_trainable
    from jaxpcc.agents import IMAGE_ALGOS
    from jaxpcc.loop import train as train_loop

    flags = {"tensorboard": "tensorboard.enabled=True", "env_on_device": "device_env.enabled=True"}
    gin_params = [*options["gin_params"], *(binding for name, binding in flags.items() if options[name])]
    with extras_named():
        env_id = env_id_of(env)
        configure(algo, options["config"], gin_params, **overrides)
        check_trainable(env_id, algo in IMAGE_ALGOS)
        runtime.configure()
        folders = [run_dir] if run_dir is not None else [Path(results_dir) / env_id / algo / str(s) for s in seeds]
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / STARTING_CONFIG).write_text(gin.config_str())
        quiet, observer = options["quiet"], options["observer"]
        if len(seeds) == 1:
            rows = [train_loop(env_id=env_id, algo=algo, run_dir=folders[0], seed=seeds[0], quiet=quiet, observer=observer)]
        else:
            rows = train_loop(env_id=env_id, algo=algo, run_dir=folders, seed=seeds, quiet=quiet, observer=observer)
        for folder in folders:
            (folder / OPERATIVE_CONFIG).write_text(gin.operative_config_str())
    return [_finished(Run(folder, env_id, algo, s, dict(row))) for folder, s, row in zip(folders, seeds, rows)]


def _finished(run: Run) -> Run:
    logged = run.progress() if (run.dir / "progress.csv").is_file() else []
    # A run found finished trains nothing and returns only its counters: its last row says more.
    return dataclasses.replace(run, last_epoch=logged[-1]) if logged else run
