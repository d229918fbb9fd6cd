"""Masked variants expose exactly the reference's observation components.

Each masked env is driven side by side with its full-state env from the same seed with the same
actions, and its observation is compared with the expected function of the full observation.
"""

import numpy as np
import pytest

import jaxpcc.envs as envs
from jaxpcc.envs.pybullet_tasks import ANT_P_INDICES, HALFCHEETAH_P_INDICES, HALFCHEETAH_V_INDICES


def _paired(full_id, masked_id, steps, seed=3):
    """Yields (t, full obs, masked obs, native previous action) along one seeded rollout."""
    full, masked = envs.make_env(full_id), envs.make_env(masked_id)
    full_obs, _ = full.reset(seed=seed)
    masked_obs, _ = masked.reset(seed=seed)
    rng = np.random.default_rng(0)
    space = full.action_space
    native = full.unwrapped.action_space
    previous = np.zeros(native.shape, np.float32)
    yield 0, full_obs, masked_obs, previous
    for t in range(1, steps + 1):
        action = rng.uniform(-1, 1, space.shape).astype(np.float32)
        full_obs, *_ = full.step(action)
        masked_obs, *_ = masked.step(action)
        # the action in the env's own range, as the previous-action wrappers record it
        previous = (native.low + (action + 1.0) * 0.5 * (native.high - native.low)).astype(np.float32)
        yield t, full_obs, masked_obs, previous
    full.close()
    masked.close()


@pytest.mark.parametrize(
    "full_id, masked_id, select",
    [
        ("Pendulum-v0", "pendulum-p-v0", lambda o, a: o[0:2]),
        ("Pendulum-v0", "pendulum-v-v0", lambda o, a: o[2:3]),
        ("Pendulum-v0", "pendulum-va-v0", lambda o, a: np.concatenate([o[2:3], a])),
        ("dmc-cartpole-balance-v0", "dmc-cartpole-balance-p-v0", lambda o, a: o[0:3]),
        ("dmc-cartpole-balance-v0", "dmc-cartpole-balance-va-v0", lambda o, a: np.concatenate([o[3:5], a])),
        ("dmc-cartpole-swingup-v0", "dmc-cartpole-swingup-p-v0", lambda o, a: o[0:3]),
        ("dmc-cartpole-swingup-v0", "dmc-cartpole-swingup-va-v0", lambda o, a: np.concatenate([o[3:5], a])),
        ("dmc-cartpole-swingup-v0", "dmc-cartpole-swingup-pomdp-v0", lambda o, a: o[0:3]),
        ("dmc-cartpole-swingup-v0", "dmc-cartpole-swingup-mdp-v0", lambda o, a: o),
        ("water-maze-simple-mdp-v0", "water-maze-simple-pomdp-v0", lambda o, a: o[0:3]),
        ("water-maze-mdp-v0", "water-maze-pomdp-v0", lambda o, a: o[0:3]),
        ("water-maze-dense-mdp-v0", "water-maze-dense-pomdp-v0", lambda o, a: o[0:3]),
        ("HalfCheetahBulletEnv-v0", "halfcheetah-p-v0", lambda o, a: o[list(HALFCHEETAH_P_INDICES)]),
        ("HalfCheetahBulletEnv-v0", "halfcheetah-v-v0", lambda o, a: o[list(HALFCHEETAH_V_INDICES)]),
        ("AntBulletEnv-v0", "ant-p-v0", lambda o, a: o[list(ANT_P_INDICES)]),
    ],
)
def test_masked_env_shows_the_reference_components(full_id, masked_id, select):
    for t, full_obs, masked_obs, previous in _paired(full_id, masked_id, steps=15):
        np.testing.assert_allclose(masked_obs, select(full_obs, previous), rtol=0, atol=1e-6, err_msg=f"step {t}")


def test_pybullet_masks_keep_the_reference_indices():
    assert HALFCHEETAH_P_INDICES == (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 18, 20, 21, 22, 23, 24, 25)
    assert HALFCHEETAH_V_INDICES == (0, 1, 2, 3, 4, 5, 6, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 24, 25)
    assert ANT_P_INDICES == (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 18, 20, 22, 24, 25, 26, 27)


@pytest.mark.parametrize(
    "full_id, window_id, window, select",
    [
        ("Pendulum-v0", "pendulum-p-concat5-v0", 5, lambda o, a: o[0:2]),
        ("Pendulum-v0", "pendulum-v-concat10-v0", 10, lambda o, a: o[2:3]),
        ("Pendulum-v0", "pendulum-va-concat10-v0", 10, lambda o, a: np.concatenate([o[2:3], a])),
        ("dmc-cartpole-balance-v0", "dmc-cartpole-balance-p-concat5-v0", 5, lambda o, a: o[0:3]),
        ("dmc-cartpole-swingup-v0", "dmc-cartpole-swingup-va-concat10-v0", 10, lambda o, a: np.concatenate([o[3:5], a])),
        ("dmc-cartpole-swingup-v0", "dmc-cartpole-swingup-mdp-concat5-v0", 5, lambda o, a: o[0:3]),
        ("water-maze-simple-mdp-v0", "water-maze-simple-mdp-concat10-v0", 10, lambda o, a: o[0:3]),
    ],
)
def test_history_variants_concatenate_the_masked_observations(full_id, window_id, window, select):
    history = []
    for t, full_obs, window_obs, previous in _paired(full_id, window_id, steps=12):
        history.append(select(full_obs, previous))
        padded = [np.zeros_like(history[0])] * max(0, window - len(history)) + history[-window:]
        np.testing.assert_allclose(window_obs, np.concatenate(padded), rtol=0, atol=1e-6, err_msg=f"step {t}")


def test_reacher_pomdp_peeks_once_and_appends_zero_actions():
    goal = [4, 5, 8, 9, 10]
    for t, full_obs, masked_obs, _ in _paired("reacher-mdp-v0", "reacher-pomdp-v0", steps=10):
        expected = full_obs.copy()
        if t > 0:
            expected[goal] = 0.0
        np.testing.assert_allclose(masked_obs, np.concatenate([expected, np.zeros(2)]), atol=1e-6, err_msg=f"step {t}")
    for t, full_obs, masked_obs, _ in _paired("reacher-mdp-v0", "reacher-pomdp-v1", steps=10):
        expected = full_obs.copy()
        if t > 0:
            expected[goal] = 0.0
        np.testing.assert_allclose(masked_obs, expected[[0, 1, 2, 3, 4, 5, 8, 9, 10]], atol=1e-6, err_msg=f"step {t}")


def test_reacher_reward_is_computed_before_the_step():
    env = envs.make_env("reacher-mdp-v0")
    obs, _ = env.reset(seed=0)
    action = np.array([0.5, -0.25], np.float32)
    _, reward, *_ = env.step(action)
    # obs[8:11] is fingertip - target before the step; the action is already in the native [-1, 1]
    assert reward == pytest.approx(-np.linalg.norm(obs[8:11]) - np.sum(action.astype(np.float64) ** 2), abs=1e-6)
    unwrapped = env.unwrapped
    assert unwrapped.frame_skip == 2 and unwrapped.dt == pytest.approx(0.02)
    assert np.linalg.norm(unwrapped.data.qpos[-2:]) < 0.2
    env.close()
