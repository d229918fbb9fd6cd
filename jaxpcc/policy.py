"""A trained policy loaded from its run folder alone: act, reset, evaluate.

    policy = jaxpcc.load_policy("results/Pendulum-v0/sac/1")
    action = policy.act(obs)
    print(policy.evaluate(episodes=10))

The agent is rebuilt under the run's own saved gin config (`operative_config.gin`), so the
networks have the widths the run trained with, whatever the current config says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import gymnasium
import numpy as np

from jaxpcc.envs.env_spec import EnvSpec, env_id_of
from jaxpcc.extras import extras_named

OPERATIVE_CONFIG = "operative_config.gin"
STARTING_CONFIG = "config.gin"


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

    from jaxpcc.gin_files import register_configurables

    register_configurables()
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

        from jaxpcc.evaluation import policy_view

        self.agent, self.env_id, self.run_dir = agent, env_id, run_dir
        self.state = policy_view(agent, state)
        self._key = jax.random.PRNGKey(seed)
        self._calls = 0
        self.carry = agent.start_carry()

    @property
    def is_recurrent(self) -> bool:
        return self.agent.is_recurrent

    def make_env(self, seed: Optional[int] = None) -> gymnasium.Env:
        """The run's env as jaxpcc builds it (actions in [-1, 1], as `act` returns them)."""
        from jaxpcc.envs import make_env

        return make_env(self.env_id, seed=seed)

    def reset(self) -> None:
        """Starts a new episode: a recurrent policy's hidden state goes back to zero."""
        self.carry = self.agent.start_carry()

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
        action, self.carry = self.agent.step(self.state, self.carry, obs, key, deterministic=deterministic)
        return np.asarray(action)

    def evaluate(self, env: Optional[EnvSpec] = None, episodes: int = 10, seed: int = 0) -> dict:
        """Deterministic episodes on `env` (default: the run's env), seeded seed, seed+1, ...

        Returns:
          {"mean_return", "std_return", "returns", "lengths"}.
        """
        import jax

        from jaxpcc.envs import make_env
        from jaxpcc.evaluation import run_test_episodes

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

    from jaxpcc.persistence import checkpoint
    from jaxpcc.persistence.policy_file import POLICY_NAME
    from jaxpcc.persistence.policy_file import load_policy as load_params
    from jaxpcc.programs import build_agent

    run_dir = Path(run_dir)
    if not (run_dir / POLICY_NAME).is_file():
        raise FileNotFoundError(f"no saved policy at {run_dir / POLICY_NAME}; train this run first")
    meta = checkpoint.read_meta(run_dir / POLICY_NAME)
    with extras_named():
        env_id = env_id_of(env if env is not None else meta["env_id"])
        parse_run_config(run_dir)
        agent, _ = build_agent(env_id, meta["algo"])
    state = load_params(run_dir, agent, agent.init(jax.random.PRNGKey(0)))
    return Policy(agent, state, env_id, run_dir)
