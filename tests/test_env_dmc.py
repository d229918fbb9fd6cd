"""The dm_control adapter: flattening, action repeat, time-outs as truncations, seeding, pixels."""

import numpy as np
import pytest

from jaxpcc.envs.dmc import DMCEnv
from jaxpcc.envs.dmc_suite_table import SUITE_TASKS
from jaxpcc.envs.dmc_variants import image_concat3


def test_suite_table_lists_exactly_dm_controls_tasks():
    from dm_control import suite

    assert list(SUITE_TASKS) == list(suite.ALL_TASKS)


def test_observation_is_the_dict_flattened_in_key_order():
    env = DMCEnv("cartpole", "balance", frame_skip=5)
    obs, _ = env.reset(seed=0)
    physics_obs = env._env.task.get_observation(env.physics)
    assert list(physics_obs) == ["position", "velocity"]
    np.testing.assert_allclose(obs, np.concatenate([physics_obs["position"], physics_obs["velocity"]]), atol=1e-6)
    assert obs.dtype == np.float32 and obs.shape == (5,)
    # balance starts near upright: cos(angle) ~ 1, cart near 0
    assert abs(obs[0]) <= 0.1 + 1e-6 and obs[1] > 0.99
    env.close()


def test_action_repeat_sums_rewards_and_matches_single_steps():
    repeated, single = DMCEnv("cartpole", "swingup", frame_skip=5), DMCEnv("cartpole", "swingup", frame_skip=1)
    obs5, _ = repeated.reset(seed=4)
    obs1, _ = single.reset(seed=4)
    np.testing.assert_array_equal(obs5, obs1)
    for action in (np.array([0.7]), np.array([-0.3])):
        obs5, reward5, *_ = repeated.step(action)
        singles = [single.step(action) for _ in range(5)]
        np.testing.assert_array_equal(obs5, singles[-1][0])
        assert reward5 == pytest.approx(sum(out[1] for out in singles), abs=1e-12)
        assert 0.0 <= reward5 <= 5.0
    repeated.close()
    single.close()


@pytest.mark.parametrize("domain, task, frame_skip, steps", [("cartpole", "balance", 5, 200), ("walker", "walk", 2, 500)])
def test_dm_control_time_limit_is_a_truncation(domain, task, frame_skip, steps):
    env = DMCEnv(domain, task, frame_skip=frame_skip)
    assert env.max_episode_steps == steps
    env.reset(seed=0)
    for t in range(1, steps + 1):
        _, _, terminated, truncated, _ = env.step(np.zeros(env.action_space.shape))
        assert not terminated
        assert truncated == (t == steps), t
    env.close()


def test_task_randomness_comes_from_the_reset_seed():
    a, b = DMCEnv("cartpole", "swingup", frame_skip=5), DMCEnv("cartpole", "swingup", frame_skip=5)
    first = [a.reset(seed=s)[0] for s in (1, 2, 1)]
    np.testing.assert_array_equal(first[0], first[2])
    assert not np.array_equal(first[0], first[1])
    np.testing.assert_array_equal(b.reset(seed=2)[0], first[1])
    # unseeded resets continue the seeded stream: two envs seeded alike agree on their next episodes
    a.reset(seed=9)
    b.reset(seed=9)
    np.testing.assert_array_equal(a.reset()[0], b.reset()[0])
    a.close()
    b.close()


def test_excluding_an_unknown_key_fails_loudly():
    with pytest.raises(ValueError, match="unknown observation keys"):
        DMCEnv("cartpole", "balance", exclude_keys=("speed",))


def test_unbounded_lqr_actions_are_exposed_as_the_unit_box():
    env = DMCEnv("lqr", "lqr_2_1", frame_skip=5)
    np.testing.assert_array_equal(env.action_space.low, [-1.0])
    np.testing.assert_array_equal(env.action_space.high, [1.0])
    assert env.max_episode_steps == 200
    env.close()


def test_image_env_stacks_three_grayscale_renders_as_uint8():
    env = image_concat3("cartpole", "balance")
    raw = env.unwrapped
    assert raw.frame_skip == 2 and raw.max_episode_steps == 500
    obs, _ = env.reset(seed=0)
    assert obs.shape == (3, 84, 84) and obs.dtype == np.uint8
    np.testing.assert_array_equal(obs[:2], 0)

    def gray_now():
        rgb = raw.physics.render(height=84, width=84, camera_id=0).astype(np.float64)
        return np.rint(rgb @ np.array([0.2989, 0.5870, 0.1140])).astype(np.uint8)

    np.testing.assert_array_equal(obs[2], gray_now())
    assert obs[2].std() > 0  # a real picture, not a blank frame
    previous = obs
    obs, *_ = env.step(np.array([1.0]))
    np.testing.assert_array_equal(obs[:2], previous[1:])
    np.testing.assert_array_equal(obs[2], gray_now())
    env.close()


def test_render_returns_an_rgb_frame():
    env = DMCEnv("cartpole", "balance", frame_skip=5, render_mode="rgb_array", render_size=(48, 64))
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8
    env.close()
