"""The Python API: train with keyword hyper-parameters, load a policy from its run folder alone, act, evaluate."""

import gymnasium
import numpy as np
import pytest

import jaxpcc
from jaxpcc import api
from jaxpcc.envs import UnsuitableEnvError
from jaxpcc.loop_observer import LoopObserver

from reach_env import Reach

QUICK = dict(num_epochs=1, num_steps_per_epoch=250, update_after=100, num_test_episodes_per_epoch=1, batch_size=16)


@pytest.fixture(scope="module")
def sac_run(tmp_path_factory):
    results = tmp_path_factory.mktemp("results")
    return jaxpcc.train("Pendulum-v0", "sac", seed=3, results_dir=results, hidden_sizes=(24, 24), **QUICK)


def test_train_returns_a_run_handle_with_the_folder_and_last_epoch(sac_run):
    assert sac_run.dir.name == "3" and sac_run.dir.parent.name == "sac" and sac_run.dir.parent.parent.name == "Pendulum-v0"
    assert sac_run.last_epoch["Epoch"] == 1 and sac_run.last_epoch["Timesteps"] == 250
    assert [row["Epoch"] for row in sac_run.progress()] == [1.0]
    for name in ("policy.npz", "checkpoint.npz", "config.gin", "operative_config.gin"):
        assert (sac_run.dir / name).is_file()


def test_keyword_overrides_become_gin_bindings(sac_run):
    operative = (sac_run.dir / "operative_config.gin").read_text()
    assert "make_MLP.hidden_dimensions = (24, 24)" in operative
    assert "ReplayBuffer.batch_size = 16" in operative
    assert "train.num_steps_per_epoch = 250" in operative


def test_load_policy_needs_no_config_and_acts_deterministically(sac_run):
    policy = jaxpcc.load_policy(sac_run.dir)
    assert policy.agent.config.hidden_sizes == (24, 24)  # from the run's own config, not the default 256
    obs, _ = policy.make_env().reset(seed=0)
    first, second = policy.act(obs), policy.act(obs)
    assert first.shape == (1,) and np.all(np.abs(first) <= 1.0)
    np.testing.assert_array_equal(first, second)
    sampled = [policy.act(obs, deterministic=False) for _ in range(3)]
    assert len({float(a[0]) for a in sampled}) == 3


def test_evaluate_matches_the_runs_own_test_episode(sac_run):
    """The training loop's test episode and `evaluate` run the same deterministic policy."""
    result = jaxpcc.load_policy(sac_run.dir).evaluate("Pendulum-v0", episodes=2, seed=5)
    assert result["lengths"] == [200, 200] and len(result["returns"]) == 2
    assert result["mean_return"] == pytest.approx(np.mean(result["returns"]))
    again = jaxpcc.load_policy(sac_run.dir).evaluate(episodes=2, seed=5)
    assert again["returns"] == result["returns"]


class SeenCheckpoints(LoopObserver):
    def __init__(self):
        self.saved = []

    def checkpoint_saved(self, run, state) -> None:
        self.saved.append((run.run_dir.name, run.progress.step))


def test_train_together_gives_each_seed_its_own_run_and_tells_the_observer(tmp_path):
    observer = SeenCheckpoints()
    runs = jaxpcc.train_together("Pendulum-v0", "td3", [1, 2], results_dir=tmp_path, hidden_sizes=(8, 8),
                                 observer=observer, **QUICK)
    assert [run.seed for run in runs] == [1, 2]
    assert [run.dir for run in runs] == [tmp_path / "Pendulum-v0" / "td3" / "1", tmp_path / "Pendulum-v0" / "td3" / "2"]
    for run in runs:
        assert run.last_epoch["Timesteps"] == 250 and (run.dir / "operative_config.gin").is_file()
    assert runs[0].last_epoch["Episode Return (Train)"] != runs[1].last_epoch["Episode Return (Train)"]
    assert sorted(observer.saved) == [("1", 250), ("2", 250)]


def test_unknown_hyper_parameter_is_named():
    with pytest.raises(ValueError, match="no hyper-parameter named 'learning_rate'"):
        api.configure("sac", learning_rate=1e-3)


def test_algo_specific_override_reaches_the_algorithms_config():
    import gin

    api.configure("rtd3", lr=1e-3, target_noise=0.3, hidden_dim=16, capacity=50)
    assert gin.query_parameter("RecurrentTD3.lr") == 1e-3 and gin.query_parameter("RecurrentTD3.target_noise") == 0.3
    assert gin.query_parameter("Summarizer.hidden_dim") == 16
    assert gin.query_parameter("RecurrentReplayBuffer.capacity") == 50


def test_env_values_cannot_be_overridden():
    with pytest.raises(ValueError, match="set from the env"):
        api.configure("sac", obs_dim=4)


def test_an_env_instance_is_refused_with_the_reason():
    env = gymnasium.make("Pendulum-v1")
    with pytest.raises(TypeError, match="factory"):
        api.env_id_of(env)
    env.close()


def make_tiny_reach():
    return gymnasium.wrappers.TimeLimit(Reach(), max_episode_steps=20)


def test_an_env_factory_trains_and_its_policy_evaluates(tmp_path):
    run = jaxpcc.train(make_tiny_reach, "td3", seed=1, results_dir=tmp_path, hidden_sizes=(8, 8), **QUICK)
    assert run.env_id == "make_tiny_reach-v0" and run.last_epoch["Episode Length (Test)"] == 20
    result = jaxpcc.load_policy(run.dir).evaluate(make_tiny_reach, episodes=1)
    assert result["lengths"] == [20]


def test_a_recurrent_policy_keeps_its_carry_until_reset(tmp_path):
    import jax

    run = jaxpcc.train(
        "pendulum-p-v0", "rsac", seed=1, results_dir=tmp_path, hidden_sizes=(8, 8), hidden_dim=8,
        config="test/template_recurrent_100k.gin", **{**QUICK, "batch_size": 2, "num_steps_per_epoch": 400, "update_after": 200},
    )
    policy = jaxpcc.load_policy(run.dir)
    assert policy.is_recurrent
    obs = np.array([1.0, 0.0], np.float32)
    start = policy.act(obs)
    carried = policy.act(obs)
    zero = jax.tree.leaves(policy.agent.initial_carry())
    assert any(not np.allclose(c, z) for c, z in zip(jax.tree.leaves(policy.carry), zero))
    policy.reset()
    assert all(np.allclose(c, z) for c, z in zip(jax.tree.leaves(policy.carry), zero))
    np.testing.assert_array_equal(policy.act(obs), start)
    assert carried.shape == start.shape


def test_unsuitable_envs_are_refused_with_the_reason():
    from jaxpcc.envs.suitability import check_spaces

    box = gymnasium.spaces.Box(-1.0, 1.0, (3,), np.float32)
    image = gymnasium.spaces.Box(0, 255, (3, 8, 8), np.uint8)
    with pytest.raises(UnsuitableEnvError, match="Discrete action space"):
        check_spaces("x", box, gymnasium.spaces.Discrete(3), image_algo=False)
    with pytest.raises(UnsuitableEnvError, match="unbounded actions"):
        check_spaces("x", box, gymnasium.spaces.Box(-np.inf, np.inf, (2,), np.float32), image_algo=False)
    with pytest.raises(UnsuitableEnvError, match="image observations"):
        check_spaces("x", image, box, image_algo=False)
    with pytest.raises(UnsuitableEnvError, match="image algorithms need"):
        check_spaces("x", box, box, image_algo=True)
    with pytest.raises(UnsuitableEnvError, match="Dict observation space"):
        check_spaces("x", gymnasium.spaces.Dict({"a": box}), box, image_algo=False)
    check_spaces("x", box, box, image_algo=False)
    check_spaces("x", image, box, image_algo=True)
