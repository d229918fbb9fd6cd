"""Water maze dynamics on hand-constructed cases: clipping, the wall, platform reward, teleports."""

import numpy as np
import pytest

import jaxpcc.envs as envs
from jaxpcc.envs.water_maze import WaterMazeEnv, WaterMazeSimpleEnv


def _simple(platform_angle=0.0):
    env = WaterMazeSimpleEnv()
    env.reset(seed=0, options={"platform_angle": platform_angle})
    return env


def test_reset_starts_at_the_centre_with_the_platform_at_distance_0_7():
    env = WaterMazeSimpleEnv()
    for seed in range(5):
        obs, _ = env.reset(seed=seed)
        np.testing.assert_array_equal(obs[:3], [0, 0, 0])
        assert np.linalg.norm(obs[3:]) == pytest.approx(0.7, abs=1e-6)
    obs, _ = env.reset(seed=0, options={"platform_angle": np.pi / 2})
    np.testing.assert_allclose(obs[3:], [0.0, 0.7], atol=1e-6)


def test_velocity_accumulates_acceleration_and_is_clipped_at_0_1():
    env = _simple(platform_angle=np.pi)  # platform on the left, out of the way
    xs = []
    for _ in range(5):
        obs, reward, terminated, truncated, _ = env.step(np.array([0.03, 0.0]))
        xs.append(obs[0])
        assert (reward, terminated, truncated) == (0.0, False, False)
    # velocities 0.03, 0.06, 0.09, 0.1 (clipped), 0.1
    np.testing.assert_allclose(np.diff([0.0] + xs), [0.03, 0.06, 0.09, 0.1, 0.1], atol=1e-6)
    np.testing.assert_allclose(env.velocity, [0.1, 0.0])


def test_leaving_the_disc_undoes_the_move_and_stops_the_point():
    env = _simple(platform_angle=np.pi)
    env.position = np.array([0.95, 0.0])
    env.velocity = np.array([0.1, 0.0])
    obs, reward, *_ = env.step(np.array([0.0, 0.0]))
    np.testing.assert_allclose(obs[:2], [0.95, 0.0], atol=1e-6)
    np.testing.assert_array_equal(env.velocity, [0.0, 0.0])
    # from rest it can move again
    obs, *_ = env.step(np.array([-0.03, 0.0]))
    np.testing.assert_allclose(obs[:2], [0.92, 0.0], atol=1e-6)


def test_platform_pays_one_per_step_and_teleports_after_the_fifth():
    env = _simple(platform_angle=0.0)  # platform centred at (0.7, 0), radius 0.3
    env.position = np.array([0.7, 0.0])
    for _ in range(4):
        obs, reward, _, _, info = env.step(np.zeros(2))
        assert reward == 1.0 and obs[2] == 1.0 and "final_pos" not in info
        np.testing.assert_allclose(obs[:2], [0.7, 0.0])
    obs, reward, _, _, info = env.step(np.zeros(2))
    assert reward == 1.0
    np.testing.assert_array_equal(obs[:3], [0.0, 0.0, 1.0])  # teleported; the flag still says "was inside"
    np.testing.assert_allclose(info["final_pos"], [0.7, 0.0])
    np.testing.assert_array_equal(env.velocity, [0.0, 0.0])
    obs, reward, *_ = env.step(np.zeros(2))
    assert reward == 0.0 and obs[2] == 0.0


def test_teleport_counts_rewarded_steps_cumulatively_not_consecutively():
    env = _simple(platform_angle=0.0)
    env.position = np.array([0.5, 0.0])  # inside (|0.5 - 0.7| < 0.3)
    for _ in range(3):
        assert env.step(np.zeros(2))[1] == 1.0
    env.position = np.array([0.0, 0.5])  # outside
    assert env.step(np.zeros(2))[1] == 0.0
    env.position = np.array([0.6, 0.1])
    assert env.step(np.zeros(2))[1] == 1.0  # 4th rewarded step
    obs, reward, _, _, info = env.step(np.zeros(2))  # 5th: teleport
    assert reward == 1.0 and "final_pos" in info
    np.testing.assert_array_equal(obs[:2], [0.0, 0.0])


def test_platform_boundary_is_strict():
    env = _simple(platform_angle=0.0)
    env.position = np.array([0.7, 0.3])  # exactly 0.3 from the centre (0.7, 0): outside
    assert env.step(np.zeros(2))[1] == 0.0


def test_agent_actions_map_to_accelerations_of_0_03():
    env = envs.make_env("water-maze-simple-mdp-v0")
    env.reset(seed=0, options={"platform_angle": np.pi})
    obs, *_ = env.step(np.array([1.0, -1.0], np.float32))
    np.testing.assert_allclose(obs[:2], [0.03, -0.03], atol=1e-6)
    env.close()


def test_older_water_maze_scales_actions_twice_and_teleports_at_random():
    env = WaterMazeEnv(dense=False)
    env.reset(seed=1)
    env.position = np.array([0.0, 0.0])
    env.platform_center = np.array([0.5, 0.0])
    obs, reward, *_ = env.step(np.array([0.2, 0.0]))  # the declared max moves 0.2 * 0.2 = 0.04
    np.testing.assert_allclose(obs[:2], [0.04, 0.0], atol=1e-6)
    assert reward == 0.0
    env.position = np.array([0.5, 0.0])
    for _ in range(4):
        assert env.step(np.zeros(2))[1] == 1.0
    obs, reward, _, _, info = env.step(np.zeros(2))
    assert reward == 1.0 and "final_pos" in info
    assert np.linalg.norm(obs[:2] - env.platform_center) >= 0.3 and np.linalg.norm(obs[:2]) <= 1.0


def test_dense_water_maze_pays_minus_the_distance_and_never_sets_the_flag():
    env = WaterMazeEnv(dense=True)
    env.reset(seed=2)
    env.position = np.array([0.0, 0.0])
    env.platform_center = np.array([0.3, 0.4])
    obs, reward, *_ = env.step(np.zeros(2))
    assert reward == pytest.approx(-0.5)
    env.position = np.array([0.3, 0.4])
    obs, reward, *_ = env.step(np.zeros(2))
    assert reward == pytest.approx(0.0) and obs[2] == 0.0


def test_older_water_maze_starts_outside_the_platform_with_the_platform_inside_the_disc():
    env = WaterMazeEnv(dense=False)
    for seed in range(20):
        obs, _ = env.reset(seed=seed)
        assert np.linalg.norm(obs[3:]) + 0.3 < 1.0
        assert np.linalg.norm(obs[:2] - obs[3:]) >= 0.3
