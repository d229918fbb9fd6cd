"""Every registered env: gymnasium's checker, seeded determinism, episode length, catalog metadata."""

import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import jaxpcc.envs as envs
from jaxpcc.envs.domains import ENTRIES, ENTRY_BY_ID
from jaxpcc.envs.dmc_suite_table import SUITE_TASKS

# The general dmc-DOMAIN-TASK-v0 ids that are not reference ids: checked in a slow sweep only.
REFERENCE_DMC_IDS = {"dmc-cartpole-balance-v0", "dmc-cartpole-swingup-v0", "dmc-pendulum-swingup-v0"}
SUITE_ONLY_IDS = {f"dmc-{d}-{t}-v0" for d, t in SUITE_TASKS} - REFERENCE_DMC_IDS
CUSTOM_IDS = [e.id for e in ENTRIES if e.id not in SUITE_ONLY_IDS]


def _actions(env, n, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, env.action_space.shape).astype(np.float32) for _ in range(n)]


def _rollout(env_id, seed, n):
    env = envs.make_env(env_id)
    obs, _ = env.reset(seed=seed)
    out = [obs]
    rewards = []
    for action in _actions(env, n):
        obs, reward, terminated, truncated, _ = env.step(action)
        out.append(obs)
        rewards.append(reward)
        if terminated or truncated:
            break
    env.close()
    return out, rewards


@pytest.mark.parametrize("env_id", CUSTOM_IDS)
def test_env_passes_gymnasium_checker_with_actions_in_unit_box(env_id):
    env = envs.make_env(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # infinite bounds and "wrapped env" notes are expected
        check_env(env, skip_render_check=True)
    space = env.action_space
    assert space.dtype == np.float32
    np.testing.assert_array_equal(space.low, -1.0)
    np.testing.assert_array_equal(space.high, 1.0)
    assert isinstance(env, gymnasium.wrappers.TimeLimit), "TimeLimit must be the outermost wrapper"
    env.close()


@pytest.mark.parametrize("env_id", CUSTOM_IDS)
def test_seeded_resets_and_rollouts_are_deterministic(env_id):
    steps = 5 if env_id.startswith("pbc-") or envs.is_image_env(env_id) else 20
    first, rewards_first = _rollout(env_id, seed=7, n=steps)
    second, rewards_second = _rollout(env_id, seed=7, n=steps)
    assert len(first) == len(second)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(rewards_first, rewards_second)


@pytest.mark.parametrize(
    "env_id",
    ["pendulum-p-v0", "dmc-cartpole-balance-v0", "dmc-cartpole-swingup-va-v0", "reacher-mdp-v0",
     "water-maze-simple-mdp-v0", "pbc-bumps-normal-pomdp-v0", "HalfCheetahBulletEnv-v0"],
)
def test_different_seeds_give_different_starts(env_id):
    env = envs.make_env(env_id)
    starts = {env.reset(seed=s)[0].tobytes() for s in range(4)}
    env.close()
    assert len(starts) > 1


def _check_episode_length(env_id):
    env = envs.make_env(env_id)
    expected = ENTRY_BY_ID[env_id].max_episode_steps
    assert envs.max_episode_steps(env) == expected
    env.reset(seed=0)
    zero = np.zeros(env.action_space.shape, np.float32)
    for t in range(1, expected + 1):
        _, _, terminated, truncated, _ = env.step(zero)
        assert not terminated, f"{env_id} terminated at step {t}"
        if truncated:
            break
    assert (t, truncated) == (expected, True)
    env.close()


# One full episode per family (the dm_control adapter's own limit is tested in test_env_dmc.py);
# every other id is checked for its declared limit only.
FULL_EPISODE_IDS = [
    "Pendulum-v0", "pendulum-va-concat10-v0", "dmc-cartpole-swingup-va-concat10-v0", "dmc-pendulum-swingup-v0",
    "reacher-pomdp-v1", "water-maze-simple-mdp-concat10-v0", "water-maze-dense-pomdp-v0",
    "pbc-bumps-normal-test-v0", "halfcheetah-p-v0",
]


@pytest.mark.parametrize("env_id", FULL_EPISODE_IDS)
def test_episode_lasts_the_reference_length_and_ends_in_truncation(env_id):
    _check_episode_length(env_id)


@pytest.mark.parametrize("env_id", CUSTOM_IDS)
def test_env_reports_the_reference_episode_length(env_id):
    env = envs.make_env(env_id)
    assert envs.max_episode_steps(env) == ENTRY_BY_ID[env_id].max_episode_steps
    if env_id.startswith(("pendulum", "Pendulum", "dmc-cartpole")) and not envs.is_image_env(env_id):
        assert envs.max_episode_steps(env) == 200
    if envs.is_image_env(env_id):
        assert envs.max_episode_steps(env) == env.unwrapped.max_episode_steps == 500
    env.close()


@pytest.mark.parametrize("env_id", CUSTOM_IDS)
def test_catalog_shapes_match_the_built_env(env_id):
    info = {i.id: i for i in envs.describe_envs()}[env_id]
    env = envs.make_env(env_id)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.shape == info.obs_shape == obs.shape
    assert env.action_space.shape == info.action_shape
    assert envs.is_image_env(env_id) == info.is_image == (obs.ndim == 3)
    env.close()


@pytest.mark.slow
@pytest.mark.parametrize("env_id", sorted(SUITE_ONLY_IDS))
def test_every_suite_task_builds_with_the_catalog_shapes(env_id):
    env = envs.make_env(env_id)
    obs, _ = env.reset(seed=0)
    entry = ENTRY_BY_ID[env_id]
    assert obs.shape == entry.obs_shape == env.observation_space.shape
    assert env.action_space.shape == entry.action_shape
    assert envs.max_episode_steps(env) == env.unwrapped.max_episode_steps == 200  # table == dm_control's limit
    obs, *_ = env.step(env.action_space.sample())
    assert env.observation_space.contains(obs)
    env.close()


def test_catalog_covers_every_registered_jaxpcc_id_and_is_cheap():
    infos = envs.describe_envs()
    ids = [i.id for i in infos]
    assert len(ids) == len(set(ids)) == len(ENTRIES)
    assert set(ids) <= set(envs.env_ids())
    for required in ("Pendulum-v0", "pendulum-va-concat10-v0", "dmc-cartpole-balance-mdp-img-concat3-v0",
                     "dmc-walker-walk-mdp-img-concat3-v0", "dmc-walker-run-v0", "reacher-pomdp-v1",
                     "water-maze-simple-pomdp-v0", "pbc-bumps-normal-test-v0", "HalfCheetahBulletEnv-v0",
                     "halfcheetah-p-v0", "ant-p-v0", "HopperBulletEnv-v0", "Walker2DBulletEnv-v0"):
        assert required in ids
    assert all(i.description and "\n" not in i.description for i in infos)


def test_is_image_env_is_true_exactly_for_image_envs():
    image_ids = {e.id for e in ENTRIES if envs.is_image_env(e.id)}
    assert image_ids == {"dmc-cartpole-balance-mdp-img-concat3-v0", "dmc-walker-walk-mdp-img-concat3-v0"}
    assert not envs.is_image_env("Pendulum-v1")


def test_unknown_id_names_close_matches():
    with pytest.raises(envs.UnknownEnvError, match="pendulum-p-v0"):
        envs.make_env("pendulum-pp-v0")


def test_make_env_does_not_repeat_gymnasium_noise():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for env_id in ("Pendulum-v0", "pendulum-va-v0", "water-maze-simple-pomdp-v0", "HalfCheetahBulletEnv-v0"):
            envs.make_env(env_id).close()
    noisy = [str(w.message) for w in caught if "out of date" in str(w.message) or "precision lowered" in str(w.message)
             or "Overriding environment" in str(w.message)]
    assert noisy == []


def test_import_loads_no_simulator_and_no_jax():
    import pathlib
    import subprocess
    import sys

    code = (
        "import sys, jaxpcc.envs; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('jax', 'dm_control', 'mujoco', 'pybullet', 'pybullet_envs_gymnasium')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    root = pathlib.Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "env_id",
    ["pendulum-va-v0", "dmc-cartpole-swingup-p-v0", "reacher-pomdp-v0", "water-maze-simple-pomdp-v0",
     "water-maze-dense-mdp-v0", "pbc-bumps-normal-test-v0", "halfcheetah-p-v0"],
)
def test_rgb_array_rendering_gives_frames(env_id):
    env = envs.make_env(env_id, render_mode="rgb_array")
    env.reset(seed=0)
    env.step(np.zeros(env.action_space.shape, np.float32))
    frame = env.render()
    assert frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8 and frame.std() > 0
    env.close()
