"""Device twins: each pendulum twin steps as `make_env(id)` does, to float32 tolerance, and compiles.

The oracle is the gymnasium env itself (float64 physics under jaxpcc's wrappers), driven from the
same state with the same actions. Actions go a little past [-1, 1] on purpose: RescaleAction does
not clip, so the torque PreviousAction records and the one PendulumEnv clips differ there.
"""

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpcc.envs import domains, make_env, max_episode_steps
from jaxpcc.device_envs import device_twin, pendulum_reset_at, twin_ids

PENDULUM_IDS = tuple(
    e.id for e in domains.ENTRIES
    if e.entry_point.startswith(("jaxpcc.envs.pendulum:", "gymnasium.envs.classic_control.pendulum:"))
)
WINDOWS = {"pendulum-p-concat5-v0": 5, "pendulum-v-concat10-v0": 10, "pendulum-va-concat10-v0": 10}
SINGLE_IDS = tuple(i for i in PENDULUM_IDS if i not in WINDOWS)
OBS_ATOL = 1e-5
REWARD_RTOL = 1e-5
# Actions past [-1, 1] put PreviousAction's torque past the declared [-2, 2] bounds; gymnasium's
# passive checker says so once, and that is expected here.
OUT_OF_BOUNDS = pytest.mark.filterwarnings("ignore:.*not within the observation space")


def _gym_env(env_id: str) -> gymnasium.Env:
    env = make_env(env_id)
    env.reset(seed=0)
    return env


def _start_both(env: gymnasium.Env, env_id: str, seed: int):
    """Resets the gymnasium env and starts the twin where it stands (its float64 state rounded to float32).

    The gymnasium env is moved onto the rounded state too, so both start from the very same numbers.
    """
    gym_obs, _ = env.reset(seed=seed)
    th, thdot = np.asarray(env.unwrapped.state, np.float32)
    env.unwrapped.state = np.array([th, thdot], np.float64)
    state, obs = pendulum_reset_at(env_id, th, thdot)
    return gym_obs, state, obs


def test_twin_ids_are_exactly_the_pendulum_catalog_ids():
    assert len(PENDULUM_IDS) == 8
    assert twin_ids() == PENDULUM_IDS


@pytest.mark.parametrize("env_id", ["HalfCheetahBulletEnv-v0", "dmc-pendulum-swingup-v0", "reacher-mdp-v0", "NoSuchEnv-v0"])
def test_envs_without_a_twin_give_none(env_id):
    assert device_twin(env_id) is None


def test_a_module_qualified_id_resolves_to_the_same_twin():
    twin = device_twin("jaxpcc.envs.domains:pendulum-va-v0")
    assert twin is device_twin("pendulum-va-v0")
    assert twin.env_id == "pendulum-va-v0"


@pytest.mark.parametrize("env_id", PENDULUM_IDS)
def test_spaces_and_time_limit_match_make_env(env_id):
    env = make_env(env_id)
    twin = device_twin(env_id)
    assert twin.env_id == env_id
    assert twin.obs_shape == env.observation_space.shape
    assert (twin.action_dim,) == env.action_space.shape
    assert twin.max_steps == max_episode_steps(env) == 200


@OUT_OF_BOUNDS
@pytest.mark.parametrize("env_id", SINGLE_IDS)
def test_one_step_from_random_states_matches_gymnasium(env_id):
    rng = np.random.default_rng(7)
    n = 64
    # Angles beyond [-pi, pi] (gymnasium never wraps its stored angle), speeds up to the clip, and
    # actions past [-1, 1] so that both clips (torque and speed) are exercised.
    th = rng.uniform(-3 * np.pi, 3 * np.pi, n).astype(np.float32)
    thdot = rng.uniform(-8, 8, n).astype(np.float32)
    actions = rng.uniform(-1.5, 1.5, (n, 1)).astype(np.float32)
    env = _gym_env(env_id)
    gym_obs, gym_reward = [], []
    for i in range(n):
        env.unwrapped.state = np.array([th[i], thdot[i]], np.float64)
        obs, reward, terminated, truncated, _ = env.step(actions[i])
        assert not terminated and not truncated
        gym_obs.append(obs)
        gym_reward.append(reward)
    twin = device_twin(env_id)

    def one_step(th, thdot, action):
        state, _ = pendulum_reset_at(env_id, th, thdot)
        return twin.step(state, action)

    state, obs, reward, terminated, truncated = jax.jit(jax.vmap(one_step))(th, thdot, actions)
    np.testing.assert_allclose(obs, np.stack(gym_obs), rtol=0, atol=OBS_ATOL)
    np.testing.assert_allclose(reward, np.array(gym_reward), rtol=REWARD_RTOL, atol=1e-6)
    assert not terminated.any() and not truncated.any()
    assert (state.t == 1).all()


@OUT_OF_BOUNDS
@pytest.mark.parametrize("env_id", tuple(WINDOWS))
def test_concat_variants_match_gymnasium_after_reset_and_one_step(env_id):
    env = _gym_env(env_id)
    twin = device_twin(env_id)
    step = jax.jit(twin.step)
    rng = np.random.default_rng(3)
    for seed in range(16):
        gym_obs, state, obs = _start_both(env, env_id, seed)
        np.testing.assert_allclose(obs, gym_obs, rtol=0, atol=OBS_ATOL)
        action = rng.uniform(-1.5, 1.5, 1).astype(np.float32)
        gym_obs, gym_reward, _, _, _ = env.step(action)
        _, obs, reward, _, _ = step(state, action)
        np.testing.assert_allclose(obs, gym_obs, rtol=0, atol=OBS_ATOL)
        np.testing.assert_allclose(reward, gym_reward, rtol=REWARD_RTOL)


def _twin_episode(twin, state, actions):
    def body(state, action):
        state, obs, reward, terminated, truncated = twin.step(state, action)
        return state, (obs, reward, terminated, truncated)

    return jax.jit(lambda s, a: jax.lax.scan(body, s, a))(state, actions)


@OUT_OF_BOUNDS
@pytest.mark.parametrize("env_id", PENDULUM_IDS)
def test_a_whole_episode_truncates_at_200_and_tracks_gymnasium(env_id):
    env = _gym_env(env_id)
    _, state, _ = _start_both(env, env_id, seed=11)
    actions = np.random.default_rng(5).uniform(-1.2, 1.2, (200, 1)).astype(np.float32)
    gym_obs, gym_reward, gym_term, gym_trunc = [], [], [], []
    for action in actions:
        obs, reward, terminated, truncated, _ = env.step(action)
        gym_obs.append(obs), gym_reward.append(reward), gym_term.append(terminated), gym_trunc.append(truncated)
    final, (obs, reward, terminated, truncated) = _twin_episode(device_twin(env_id), state, actions)
    expected_trunc = np.arange(1, 201) == 200
    np.testing.assert_array_equal(np.array(gym_trunc), expected_trunc)
    np.testing.assert_array_equal(truncated, expected_trunc)
    assert not any(gym_term) and not terminated.any()
    assert int(final.t) == 200
    # Step by step only at first: float32 and float64 rounding differ by ~1e-7 per step and the
    # pendulum near its top amplifies small angle differences, so later steps may drift apart.
    np.testing.assert_allclose(obs[:20], np.stack(gym_obs[:20]), rtol=0, atol=OBS_ATOL)
    np.testing.assert_allclose(reward[:20], np.array(gym_reward[:20]), rtol=REWARD_RTOL)
    # The whole episode still stays close (drift measured up to 2e-4 over 200 steps from several starts),
    # which catches an error that only shows late, e.g. once the angle has gone round several times.
    np.testing.assert_allclose(obs, np.stack(gym_obs), rtol=0, atol=2e-3)


@OUT_OF_BOUNDS
def test_va_previous_torque_is_zero_after_reset_then_the_last_action_in_torque_units():
    env = make_env("pendulum-va-v0")
    twin = device_twin("pendulum-va-v0")
    gym_obs, state, obs = _start_both(env, "pendulum-va-v0", seed=2)
    assert obs[1] == 0 and gym_obs[1] == 0
    for a in (0.3, -0.7, 1.5, -1.25):  # past 1: the recorded torque is 2 a, not clipped to 2
        action = np.array([a], np.float32)
        gym_obs, *_ = env.step(action)
        state, obs, *_ = twin.step(state, action)
        assert obs[1] == gym_obs[1] == np.float32(2) * action[0]
        np.testing.assert_allclose(obs[0], gym_obs[0], atol=OBS_ATOL)


@pytest.mark.parametrize("env_id", tuple(WINDOWS))
@pytest.mark.parametrize("k", [3, 12])
def test_concat_history_after_reset_and_k_steps(env_id, k):
    """The window holds zeros then the first observation after a reset; after k steps the last inner observations, oldest first."""
    window = WINDOWS[env_id]
    inner_id = env_id.replace(f"-concat{window}", "")
    inner_env = _gym_env(inner_id)
    twin = device_twin(env_id)
    first, state, obs = _start_both(inner_env, env_id, seed=4)
    rows = np.asarray(obs).reshape(window, -1)
    np.testing.assert_array_equal(rows[:-1], 0)
    np.testing.assert_allclose(rows[-1], first, atol=OBS_ATOL)
    inner_obs = [np.zeros_like(first)] * (window - 1) + [first]
    actions = np.random.default_rng(k).uniform(-1, 1, (k, 1)).astype(np.float32)
    for action in actions:
        inner_obs.append(inner_env.step(action)[0])
    _, (obs, *_) = _twin_episode(twin, state, actions)
    np.testing.assert_allclose(np.asarray(obs[-1]).reshape(window, -1), np.stack(inner_obs[-window:]), atol=OBS_ATOL)
    # Rows shift by one per step: after k steps the reset's first observation sits at row window - 1 - k.
    if k < window:
        np.testing.assert_allclose(np.asarray(obs[-1]).reshape(window, -1)[window - 1 - k], first, atol=OBS_ATOL)


@pytest.mark.parametrize("env_id", PENDULUM_IDS)
def test_reset_draws_in_bounds_and_differs_by_key(env_id):
    twin = device_twin(env_id)
    space = make_env(env_id).observation_space
    keys = jax.random.split(jax.random.key(0), 256)
    state, obs = jax.jit(jax.vmap(twin.reset))(keys)
    obs = np.asarray(obs)
    assert obs.dtype == np.float32 and obs.shape == (256, *twin.obs_shape)
    assert all(space.contains(o) for o in obs)
    assert (state.t == 0).all()
    th, thdot = np.asarray(state.th), np.asarray(state.thdot)
    assert len(np.unique(np.stack([th, thdot], 1), axis=0)) == 256  # float32 draws may repeat one coordinate
    assert abs(np.corrcoef(th, thdot)[0, 1]) < 0.2  # drawn independently (0.2 is ~3 sigma for 256 draws)
    # PendulumEnv.reset's ranges, both ends reached: th in [-pi, pi], thdot in [-1, 1].
    assert -np.pi <= th.min() < -2.9 and 2.9 < th.max() <= np.pi
    assert -1 <= thdot.min() < -0.9 and 0.9 < thdot.max() <= 1


@pytest.mark.parametrize("env_id", ["Pendulum-v0", "pendulum-va-concat10-v0"])
def test_vmapped_reset_then_scanned_episode_compiles_and_agrees_with_one_env(env_id):
    twin = device_twin(env_id)
    keys = jax.random.split(jax.random.key(1), 8)
    actions = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (200, 8, 1)), jnp.float32)

    def run(keys, actions):
        state, _ = jax.vmap(twin.reset)(keys)

        def body(state, action):
            state, obs, reward, terminated, truncated = jax.vmap(twin.step)(state, action)
            return state, (obs, reward, terminated, truncated)

        return jax.lax.scan(body, state, actions)

    final, (obs, reward, terminated, truncated) = jax.jit(run)(keys, actions)
    assert obs.shape == (200, 8, *twin.obs_shape) and obs.dtype == jnp.float32
    assert reward.shape == (200, 8) and reward.dtype == jnp.float32
    assert terminated.dtype == jnp.bool_ and truncated.dtype == jnp.bool_
    assert not terminated.any()
    np.testing.assert_array_equal(truncated, np.broadcast_to((np.arange(1, 201) == 200)[:, None], (200, 8)))
    assert (final.t == 200).all()
    # Env 5 alone gives the same rewards as inside the batch (the first 20 steps: a vectorised sin may
    # round differently from a scalar one, and the difference may grow later; mixed-up envs differ at once).
    state, _ = twin.reset(keys[5])
    _, (_, alone, _, _) = _twin_episode(twin, state, actions[:, 5])
    np.testing.assert_allclose(alone[:20], reward[:20, 5], rtol=1e-5)


def test_same_id_gives_the_same_twin_so_jit_reuses_its_program():
    assert device_twin("pendulum-p-v0") is device_twin("pendulum-p-v0")
    assert device_twin("Pendulum-v0") != device_twin("pendulum-v0")
