"""The Python API: train a run, load its policy, act and evaluate, with no gin file needed.

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

import contextlib
import csv
import dataclasses
import re
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence, Union

import gymnasium
import numpy as np

EnvSpec = Union[str, Callable[[], gymnasium.Env]]

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
OPERATIVE_CONFIG = "operative_config.gin"
STARTING_CONFIG = "config.gin"


def env_id_of(env: EnvSpec) -> str:
    """A gymnasium id for `env`: a registered id, a `module:id` string, or a factory of envs.

    A factory (a class or function returning a fresh `gymnasium.Env`) is registered under
    '<its name>-v0', with the time limit of the env it builds; jaxpcc builds separate train and
    test copies, which is why an env instance is not accepted.
    """
    from jaxpcc.envs import check_env_id, resolve_env_id

    if isinstance(env, str):
        check_env_id(env)
        return resolve_env_id(env)
    if isinstance(env, gymnasium.Env):
        raise TypeError(
            "pass a factory of envs (e.g. the env's class, or `lambda: MyEnv()`), not an env instance: "
            "jaxpcc builds its own train and test copies"
        )
    if not callable(env):
        raise TypeError(f"env must be an id, a 'module:id' string or a factory of envs, got {type(env).__name__}")
    name = re.sub(r"[^\w.-]", "_", getattr(env, "__name__", type(env).__name__)).strip("_") or "env"
    env_id = f"{name}-v0"
    probe = env()
    if not isinstance(probe, gymnasium.Env):
        raise TypeError(f"env factory {name} returned a {type(probe).__name__}, not a gymnasium.Env")
    steps = _time_limit(probe)
    probe.close()
    gymnasium.registry.pop(env_id, None)  # a new factory of the same name replaces the old one
    gymnasium.register(id=env_id, entry_point=env, max_episode_steps=steps)
    return env_id


def _time_limit(env: gymnasium.Env) -> Optional[int]:
    while env is not None:
        if isinstance(env, gymnasium.wrappers.TimeLimit):
            return int(env._max_episode_steps)
        env = getattr(env, "env", None)
    return None


def configure(algo: str, config: Optional[str] = None, gin_params: Sequence[str] = (), **overrides) -> None:
    """Clears gin, then binds `config` (default: the command line's for `algo`), `gin_params` and `overrides`.

    Each keyword binds the parameter of that name in the first of: `train`, `make_MLP`, the
    algorithm's config (`SAC`, `RecurrentTD3`, ...), its replay buffer, `Summarizer`
    (`hidden_sizes` is an alias of `make_MLP.hidden_dimensions`). A name none of them has, or
    a binding gin refuses, raises ValueError naming it.
    """
    import gin

    from jaxpcc import cli
    from jaxpcc.agents import RECURRENT_ALGOS

    if algo not in GIN_NAME_OF_ALGO:
        raise ValueError(f"unknown algo '{algo}'; valid: {', '.join(sorted(GIN_NAME_OF_ALGO))}")
    try:
        path = cli.resolve_config(config, algo)
    except cli.UserError as err:
        raise FileNotFoundError(str(err)) from err
    cli.register_configurables()
    gin.clear_config()
    gin.parse_config_files_and_bindings([str(path)], list(gin_params), finalize_config=False)
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

    def policy(self) -> "Policy":
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
    quiet: bool = True,
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
      quiet: no console output.
      **overrides: hyper-parameters by name, e.g. num_epochs=5, batch_size=256, lr=1e-3,
        hidden_sizes=(64, 64) (see `configure`).
    """
    import gin

    from jaxpcc import runtime
    from jaxpcc.envs import check_trainable
    from jaxpcc.agents import IMAGE_ALGOS
    from jaxpcc.train import train as train_loop

    with extras_named():
        env_id = env_id_of(env)
        configure(algo, config, [*gin_params, *(["tensorboard.enabled=True"] if tensorboard else [])], **overrides)
        check_trainable(env_id, algo in IMAGE_ALGOS)
        runtime.configure()
        folder = Path(run_dir) if run_dir is not None else Path(results_dir) / env_id / algo / str(seed)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / STARTING_CONFIG).write_text(gin.config_str())
        row = train_loop(env_id=env_id, algo=algo, run_dir=folder, seed=seed, quiet=quiet)
        (folder / OPERATIVE_CONFIG).write_text(gin.operative_config_str())
    run = Run(folder, env_id, algo, seed, dict(row))
    logged = run.progress() if (folder / "progress.csv").is_file() else []
    # A run found finished trains nothing and returns only its counters: its last row says more.
    return dataclasses.replace(run, last_epoch=logged[-1]) if logged else run


@contextlib.contextmanager
def extras_named() -> Iterator[None]:
    """An optional module's ImportError becomes a MissingExtraError naming the extra to install."""
    from jaxpcc.extras import missing_extra

    try:
        yield
    except ImportError as err:
        missing = missing_extra(err)
        if missing is None:
            raise
        raise missing from err


def run_config(run_dir: str | Path) -> Path:
    """The gin file a run was trained with: its operative config, or its starting one."""
    for name in (OPERATIVE_CONFIG, STARTING_CONFIG):
        path = Path(run_dir) / name
        if path.is_file():
            return path
    raise FileNotFoundError(f"{run_dir} holds neither {OPERATIVE_CONFIG} nor {STARTING_CONFIG}; is it a jaxpcc run folder?")


def parse_run_config(run_dir: str | Path, gin_params: Sequence[str] = ()) -> None:
    """Clears gin and binds what `run_dir` was trained with (plus `gin_params`)."""
    import gin

    from jaxpcc import cli

    cli.register_configurables()
    gin.clear_config()
    gin.parse_config_files_and_bindings([str(run_config(run_dir))], list(gin_params))


class Policy:
    """A trained policy: `act` on observations, `reset` between episodes, `evaluate` on an env.

    Deterministic by default (the actor's mean action, squashed), as in the test episodes. A
    recurrent policy carries its hidden state from one `act` to the next; call `reset()` at
    every episode start (`evaluate` does).
    """

    def __init__(self, agent, state, env_id: str, run_dir: Optional[Path] = None, seed: int = 0):
        import jax

        from jaxpcc.train import policy_view

        self.agent, self.env_id, self.run_dir = agent, env_id, run_dir
        self.state = policy_view(agent, state)
        self._key = jax.random.PRNGKey(seed)
        self._calls = 0
        self.carry = agent.initial_carry() if agent.is_recurrent else None

    @property
    def is_recurrent(self) -> bool:
        return self.agent.is_recurrent

    def make_env(self, seed: Optional[int] = None) -> gymnasium.Env:
        """The run's env as jaxpcc builds it (actions in [-1, 1], as `act` returns them)."""
        from jaxpcc.envs import make_env

        return make_env(self.env_id, seed=seed)

    def reset(self) -> None:
        """Starts a new episode: a recurrent policy's hidden state goes back to zero."""
        self.carry = self.agent.initial_carry() if self.agent.is_recurrent else None

    def act(self, obs, deterministic: bool = True) -> np.ndarray:
        """The action in [-1, 1]^A for one observation, for the env as `make_env` builds it.

        Args:
          obs: one observation, as the env returns it ([O] vectors, [C, H, W] uint8 images).
          deterministic: False samples from the policy (exploration), with keys drawn in turn.
        """
        import jax

        key = jax.random.fold_in(self._key, self._calls)
        self._calls += 1
        obs = np.asarray(obs)
        if self.agent.is_recurrent:
            action, self.carry = self.agent.act(self.state, self.carry, obs, key, deterministic=deterministic)
        else:
            action = self.agent.act(self.state, obs, key, deterministic=deterministic)
        return np.asarray(action)

    def evaluate(self, env: Optional[EnvSpec] = None, episodes: int = 10, seed: int = 0) -> dict:
        """Deterministic episodes on `env` (default: the run's env), seeded seed, seed+1, ...

        Returns:
          {"mean_return", "std_return", "returns", "lengths"}.
        """
        import jax

        from jaxpcc.envs import make_env
        from jaxpcc.train import run_test_episodes

        env_id = self.env_id if env is None else env_id_of(env)
        test_env = make_env(env_id, seed=seed)
        try:
            lengths, returns = run_test_episodes(
                test_env, self.agent, self.state, jax.random.PRNGKey(seed), [seed + i for i in range(episodes)]
            )
        finally:
            test_env.close()
        self.reset()
        return {
            "mean_return": float(np.mean(returns)),
            "std_return": float(np.std(returns)),
            "returns": returns,
            "lengths": lengths,
        }


def load_policy(run_dir: str | Path, env: Optional[EnvSpec] = None) -> Policy:
    """The policy saved in `run_dir`, built under the run's own gin config (no --config, no template).

    Args:
      run_dir: a run folder, as `Run.dir` or results/ENV/ALGO/RUN_ID.
      env: the env to size the networks from, when the run's env id is not registered in this
        process (a factory passed to `train`, or a `module:id` whose module is not imported yet).
    """
    import jax

    from jaxpcc import checkpoint
    from jaxpcc.train import POLICY_NAME, build_agent
    from jaxpcc.train import load_policy as load_params

    run_dir = Path(run_dir)
    if not (run_dir / POLICY_NAME).is_file():
        raise FileNotFoundError(f"no saved policy at {run_dir / POLICY_NAME}; train this run first")
    meta = checkpoint.load(run_dir / POLICY_NAME)[1]
    with extras_named():
        env_id = env_id_of(env if env is not None else meta["env_id"])
        parse_run_config(run_dir)
        agent, _ = build_agent(env_id, meta["algo"])
    state = load_params(run_dir, agent, agent.init(jax.random.PRNGKey(0)))
    return Policy(agent, state, env_id, run_dir)
