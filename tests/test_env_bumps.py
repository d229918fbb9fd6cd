"""The PyBullet bumps envs: isolated physics clients, start distributions, rewards and terminations."""

import numpy as np
import pytest

import jaxpcc.envs as envs
from jaxpcc.envs.bumps import BumpsEnv, Y_G_LIMIT

HARD, SOFT = 1.0, -1.0


def test_train_and_test_envs_in_one_process_do_not_see_each_other():
    train, test = BumpsEnv(test=False), BumpsEnv(test=True)
    train.reset(seed=0)
    test.reset(seed=1)
    for env in (train, test):
        assert env.scene.client.getNumBodies() == 4  # floor, finger, two bumps: nothing of the other env
    assert train.scene.client._client != test.scene.client._client
    test_bumps = (test.scene.bump_y(0), test.scene.bump_y(1))
    test_obs = test._obs()
    for _ in range(5):  # the train finger sweeps its own rail, pushing hard
        train.step(np.array([1.0, HARD]))
    assert (test.scene.bump_y(0), test.scene.bump_y(1)) == test_bumps
    np.testing.assert_array_equal(test._obs(), test_obs)
    # building a third env does not reset the first two (the reference's shared client did)
    third = BumpsEnv(test=False)
    assert train.scene.client.getNumBodies() == 4 and test.scene.bump_y(0) == test_bumps[0]
    for env in (train, test, third):
        env.close()


def test_test_variant_start_layouts():
    env = BumpsEnv(test=True)
    options = set()
    for seed in range(30):
        env.reset(seed=seed)
        finger, b1, b2 = env._draw_start()  # another draw from the same distribution
        k = round((b1 + 0.4) / 0.16)
        options.add(k)
        assert k in (1, 2, 3)
        assert abs(b1 - (-0.4 + 0.16 * k)) <= 0.03 + 1e-9 and abs(b2 - (-0.4 + 0.16 * (k + 1))) <= 0.03 + 1e-9
        assert abs(finger) <= 0.03
    assert options == {1, 2, 3}
    env.close()


def test_pomdp_variant_start_layouts():
    env = BumpsEnv(test=False)
    for seed in range(200):
        env.reset(seed=seed)
        finger, b1, b2 = env._draw_start()
        assert -0.28 <= b1 and b2 <= 0.28 + 1e-9
        assert 0.12 - 1e-9 <= b2 - b1 <= 0.32 + 1e-9
        assert -Y_G_LIMIT <= finger <= Y_G_LIMIT
        assert min(abs(finger - b1), abs(finger - b2)) >= 0.04 - 1e-9
    env.close()


def _between_bumps_seed(test):
    """A seed whose start has the finger between the two bumps."""
    env = BumpsEnv(test=test)
    for seed in range(100):
        env.reset(seed=seed)
        b1, b2 = env.start_bump_y
        if b1 + 0.04 < env.scene.tip_y() < b2 - 0.04:
            env.close()
            return seed
    raise AssertionError("no start between the bumps")


@pytest.mark.parametrize("test", [False, True])
def test_pushing_bump_two_right_with_a_hard_finger_succeeds(test):
    env = envs.make_env("pbc-bumps-normal-test-v0" if test else "pbc-bumps-normal-pomdp-v0")
    env.reset(seed=_between_bumps_seed(test))
    for t in range(50):
        obs, reward, terminated, truncated, info = env.step(np.array([1.0, HARD], np.float32))
        if terminated or truncated:
            break
    assert (reward, terminated, info["is_success"]) == (1.0, True, True)
    env.close()


def test_a_soft_finger_slides_over_a_bump_and_bends():
    env = BumpsEnv(test=False)
    env.reset(seed=_between_bumps_seed(False))
    b2 = env.start_bump_y[1]
    max_bend = 0.0
    for _ in range(20):
        obs, reward, terminated, *_ = env.step(np.array([0.5, SOFT]))
        max_bend = max(max_bend, obs[1])
        if obs[0] > b2 + 0.05 or terminated:
            break
    assert max_bend > 0.2  # the blade deflected as it passed the bump
    assert abs(env.scene.bump_y(1) - env.start_bump_y[1]) < 0.01  # and barely moved it
    env.close()


def test_pushing_bump_one_is_punished_in_the_test_variant_and_ends_the_pomdp_variant():
    for test, expected in ((True, -1.0), (False, 0.0)):
        env = BumpsEnv(test=test)
        for seed in range(100):  # a start left of bump 1
            env.reset(seed=seed)
            if env.scene.tip_y() < env.start_bump_y[0] - 0.04:
                break
        for _ in range(50):
            _, reward, terminated, *_ = env.step(np.array([1.0, HARD]))
            if terminated:
                break
        assert terminated and reward == expected
        assert abs(env.scene.bump_y(0) - env.start_bump_y[0]) > 0.001
        env.close()


def test_reaching_the_rail_end_terminates():
    env = BumpsEnv(test=False)
    env.reset(seed=_between_bumps_seed(False))
    for _ in range(50):
        obs, reward, terminated, *_ = env.step(np.array([-1.0, SOFT]))
        if terminated:
            break
    assert terminated
    assert obs[0] <= -Y_G_LIMIT + 0.01 or abs(env.scene.bump_y(0) - env.start_bump_y[0]) > 0.001
    env.close()


def test_zero_step_length_does_not_move_the_finger():
    env = BumpsEnv(test=True)
    obs, _ = env.reset(seed=0)
    obs2, reward, terminated, *_ = env.step(np.array([0.0, 0.3]))
    np.testing.assert_allclose(obs2, obs, atol=1e-6)
    assert (reward, terminated) == (0.0, False)
    env.close()
