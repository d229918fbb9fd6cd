"""Pure-JAX twins of registered envs, so a whole chunk of env steps can run inside one compiled program.

A twin reproduces, in float32 JAX, what `jaxpcc.envs.make_env(env_id)` does step by step: the same
dynamics, the same wrappers' arithmetic (action rescaling, observation filters, previous action,
observation history) and the same time limit. It is not bit-identical to the gymnasium env, which
computes the physics in float64; the tests hold it to float32 tolerance.

It lives outside `jaxpcc.envs`, which holds no JAX, and reads that registry only to resolve ids.
`device_rollout` steps these twins inside the training loop's programs (`--env_on_device`).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp

from jaxpcc.envs.user_modules import resolve_env_id


class DeviceEnv(NamedTuple):
    """A pure-JAX twin of a registered env: reset and step as pure functions (jit/vmap/scan-able).

    Attributes:
      env_id: the catalog id it twins (e.g. "Pendulum-v0").
      obs_shape: as the gymnasium env's observation_space.shape.
      action_dim: size of the action vector.
      max_steps: the time limit (gymnasium's TimeLimit truncates on this step).
      reset: key -> (env_state, obs float32 [*obs_shape]).
      step: (env_state, action float32 [action_dim] in the agent's [-1, 1] scale) ->
        (env_state, obs, reward float32 [], terminated bool [], truncated bool []).
    """

    env_id: str
    obs_shape: tuple
    action_dim: int
    max_steps: int
    reset: Callable
    step: Callable


# --- the pendulums: gymnasium's classic_control PendulumEnv under jaxpcc's wrappers ---

_MAX_SPEED = 8.0
_MAX_TORQUE = 2.0
_DT = 0.05
_G = 10.0  # PendulumEnv's default g; jaxpcc registers no other
_M = 1.0
_L = 1.0
_PENDULUM_STEPS = 200
_RESET_SPEED = 1.0  # PendulumEnv.reset draws th_dot from U[-1, 1]


class PendulumState(NamedTuple):
    """Everything a pendulum variant carries between steps.

    Attributes:
      th: angle, float32 [], kept in [-pi, pi) (see `_angle_normalize` for why).
      thdot: angular velocity, float32 [].
      t: steps taken in this episode, int32 [] (TimeLimit's elapsed steps).
      history: the last `window` inner observations, oldest first, float32 [window, D]; window is 1
        for the variants without ConcatObs, so the observation is always `history.reshape(-1)`.
    """

    th: jax.Array
    thdot: jax.Array
    t: jax.Array
    history: jax.Array


@dataclasses.dataclass(frozen=True)
class _PendulumVariant:
    """How one registered pendulum id wraps PendulumEnv (see `jaxpcc.envs.pendulum`).

    Attributes:
      indices: FilterObsByIndex's kept entries of [cos th, sin th, th_dot].
      previous_action: whether PreviousAction appends the last torque.
      window: ConcatObs's window (1: no ConcatObs).
    """

    indices: tuple[int, ...] = (0, 1, 2)
    previous_action: bool = False
    window: int = 1

    @property
    def inner_dim(self) -> int:
        return len(self.indices) + int(self.previous_action)


_PENDULUMS: dict[str, _PendulumVariant] = {
    "Pendulum-v0": _PendulumVariant(),
    "pendulum-v0": _PendulumVariant(),
    "pendulum-p-v0": _PendulumVariant(indices=(0, 1)),
    "pendulum-v-v0": _PendulumVariant(indices=(2,)),
    "pendulum-va-v0": _PendulumVariant(indices=(2,), previous_action=True),
    "pendulum-p-concat5-v0": _PendulumVariant(indices=(0, 1), window=5),
    "pendulum-v-concat10-v0": _PendulumVariant(indices=(2,), window=10),
    "pendulum-va-concat10-v0": _PendulumVariant(indices=(2,), previous_action=True, window=10),
}


def _angle_normalize(x: jax.Array) -> jax.Array:
    """gymnasium's angle_normalize: x wrapped into [-pi, pi).

    The twin also keeps its stored angle wrapped: gymnasium lets th grow without bound (harmless in
    float64), but in float32 cos/sin of a large angle lose digits; cos, sin and the cost only see th
    modulo 2 pi, so wrapping changes nothing else.
    """
    return jnp.mod(x + jnp.pi, 2 * jnp.pi) - jnp.pi


def _inner_obs(variant: _PendulumVariant, th: jax.Array, thdot: jax.Array, torque: jax.Array) -> jax.Array:
    """The observation below ConcatObs: FilterObsByIndex of [cos, sin, th_dot], then the torque if kept.

    `torque` is what PreviousAction records: the action it receives, i.e. already rescaled to the
    env's [-2, 2] range but not clipped (PendulumEnv clips only inside its own step).
    """
    full = jnp.stack([jnp.cos(th), jnp.sin(th), thdot]).astype(jnp.float32)
    obs = full[jnp.asarray(variant.indices)]
    if variant.previous_action:
        obs = jnp.concatenate([obs, torque.reshape(1)])
    return obs


def _pendulum_reset_at(variant: _PendulumVariant, th: jax.Array, thdot: jax.Array) -> tuple[PendulumState, jax.Array]:
    th = _angle_normalize(jnp.asarray(th, jnp.float32))
    thdot = jnp.asarray(thdot, jnp.float32)
    first = _inner_obs(variant, th, thdot, jnp.zeros((), jnp.float32))  # PreviousAction: 0 after a reset
    # ConcatObs after a reset: window - 1 zero observations, then the first one.
    history = jnp.zeros((variant.window, variant.inner_dim), jnp.float32).at[-1].set(first)
    state = PendulumState(th=th, thdot=thdot, t=jnp.zeros((), jnp.int32), history=history)
    return state, history.reshape(-1)


def _pendulum_reset(variant: _PendulumVariant, key: jax.Array) -> tuple[PendulumState, jax.Array]:
    """PendulumEnv.reset's distribution (th ~ U[-pi, pi], th_dot ~ U[-1, 1]) drawn with JAX's RNG.

    The draws cannot match gymnasium's np_random for the same seed; only the distribution is the same.
    """
    th_key, thdot_key = jax.random.split(key)
    th = jax.random.uniform(th_key, (), jnp.float32, -jnp.pi, jnp.pi)
    thdot = jax.random.uniform(thdot_key, (), jnp.float32, -_RESET_SPEED, _RESET_SPEED)
    return _pendulum_reset_at(variant, th, thdot)


def _pendulum_step(variant: _PendulumVariant, state: PendulumState, action: jax.Array):
    """RescaleAction, then PendulumEnv.step, then the observation wrappers and TimeLimit."""
    action = jnp.asarray(action, jnp.float32).reshape(1)
    # RescaleAction([-2, 2] -> [-1, 1]) hands the env (a - 0) / 0.5, i.e. exactly 2 a in float32, unclipped.
    torque = (action[0] * jnp.float32(_MAX_TORQUE)).astype(jnp.float32)
    u = jnp.clip(torque, -_MAX_TORQUE, _MAX_TORQUE)
    th, thdot = state.th, state.thdot
    cost = _angle_normalize(th) ** 2 + 0.1 * thdot**2 + 0.001 * u**2
    new_thdot = thdot + (3 * _G / (2 * _L) * jnp.sin(th) + 3.0 / (_M * _L**2) * u) * _DT
    new_thdot = jnp.clip(new_thdot, -_MAX_SPEED, _MAX_SPEED)
    new_th = _angle_normalize(th + new_thdot * _DT)
    inner = _inner_obs(variant, new_th, new_thdot, torque)
    history = jnp.concatenate([state.history[1:], inner[None]], axis=0)
    t = state.t + 1
    new_state = PendulumState(th=new_th, thdot=new_thdot, t=t, history=history)
    reward = (-cost).astype(jnp.float32)
    terminated = jnp.zeros((), bool)  # the pendulum never terminates
    truncated = t >= _PENDULUM_STEPS  # TimeLimit: elapsed steps >= max_episode_steps
    return new_state, history.reshape(-1), reward, terminated, truncated


def pendulum_reset_at(env_id: str, th: float, thdot: float) -> tuple[PendulumState, jax.Array]:
    """A pendulum twin's reset from a given angle and velocity instead of a random draw.

    Lets a caller start the twin where a gymnasium env stands (its `unwrapped.state`), e.g. to
    compare the two; the wrappers' memory is what it is after a reset.

    Returns:
      (env_state, obs float32 [*obs_shape]), as `DeviceEnv.reset` returns.
    """
    variant = _PENDULUMS.get(resolve_env_id(env_id))
    if variant is None:
        raise ValueError(f"'{env_id}' is not a pendulum with a twin; pendulum twins: {', '.join(_PENDULUMS)}")
    return _pendulum_reset_at(variant, th, thdot)


@functools.lru_cache(maxsize=None)
def _pendulum_twin(env_id: str) -> DeviceEnv:
    """One DeviceEnv per id, cached, so the same id gives the same (hashable, equal) object to jit."""
    variant = _PENDULUMS[env_id]
    return DeviceEnv(
        env_id=env_id,
        obs_shape=(variant.window * variant.inner_dim,),
        action_dim=1,
        max_steps=_PENDULUM_STEPS,
        reset=functools.partial(_pendulum_reset, variant),
        step=functools.partial(_pendulum_step, variant),
    )


def twin_ids() -> tuple[str, ...]:
    """The catalog ids that have a device twin."""
    return tuple(_PENDULUMS)


def device_twin(env_id: str) -> Optional[DeviceEnv]:
    """The device twin of `env_id`, or None when it has none.

    Accepts the ids `jaxpcc.envs.make_env` accepts for those envs (a `module:id` id resolves to its
    plain id, importing the module, as `make_env` does).
    """
    env_id = resolve_env_id(env_id)
    if env_id in _PENDULUMS:
        return _pendulum_twin(env_id)
    return None
