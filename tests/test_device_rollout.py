"""The training loop with the env's JAX twin on the device (`device_rollout`, `--env_on_device`).

A stretch program must do, step by step, what the host loop does: act, step the env, store,
update when due (in TD3's delay phase), reset an ended episode. The first test replays a stretch
with the same pure parts called one by one and compares the train state, the ring and the env.
"""

from __future__ import annotations

import gin
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from small_run import SMALL as SMALL_RUN
from jaxpcc import device_rollout
from jaxpcc.agents import make_agent
from jaxpcc.cli import main
from jaxpcc.device_envs import device_twin
from jaxpcc.learner import Learner, add_metrics
from jaxpcc.loop import train
from jaxpcc.replay import device_ring
from jaxpcc.replay.device_ring import DeviceRing
from jaxpcc.persistence import checkpoint

BATCH = 8


def _fresh(algo: str, n_filled: int):
    agent = make_agent(algo, 3, 1, hidden_sizes=(8, 8))
    twin = device_twin("Pendulum-v0")
    ring = DeviceRing(1, (3,), 1, [3], capacity=64, batch_size=BATCH)
    rng = np.random.default_rng(0)
    for _ in range(n_filled):
        ring.views[0].push(rng.normal(size=3).astype(np.float32), rng.uniform(-1, 1, 1).astype(np.float32), 0.5,
                           rng.normal(size=3).astype(np.float32), False)
    ring.flush()
    keys = device_rollout.keys_for(jax.random.PRNGKey(7), 7)
    return agent, twin, ring, keys


def _replayed(agent, twin, arrays, state, sums, env, keys, stretch, update_every, updates_done):
    """The stretch, one pure part at a time (the host loop's order), outside any scan."""
    update_block = jax.jit(agent.update_block, static_argnums=2)
    for t in range(stretch.start, stretch.stop):
        if stretch.policy_acts:
            action = agent.act(state, env.obs, jax.random.fold_in(keys.act, t), deterministic=False)
        else:
            action = jax.random.uniform(jax.random.fold_in(keys.explore, t), (1,), jnp.float32, -1.0, 1.0)
        env_state, next_obs, reward, terminated, truncated = twin.step(env.env_state, action)
        row = jnp.concatenate([env.obs, next_obs, action, reward[None], terminated.astype(jnp.float32)[None]])
        arrays = device_ring.store(arrays, (row, None))
        if stretch.updates and (t + 1) % update_every == 0:
            batches = device_ring.draw(arrays, state.step, update_every, BATCH)
            state, metrics = update_block(state, batches, updates_done % agent.period)
            sums = add_metrics(sums, metrics, agent.metric_names)
            updates_done += update_every
        if bool(terminated | truncated):
            env = device_rollout.start_episode(twin, keys, int(env.episode) + 1)
        else:
            env = device_rollout.EnvCarry(env_state, next_obs, env.episode)
    return state, sums, arrays, env


@pytest.mark.parametrize("algo, update_every, start", [("td3", 1, 195), ("td3", 2, 195), ("sac", 3, 196), ("ddpg", 1, 0)])
def test_a_stretch_program_does_what_the_parts_do_one_by_one(algo, update_every, start):
    """Across an episode's end (step 200), over TD3's delay phases, with blocks of 1 to 3 updates."""
    agent, twin, ring, keys = _fresh(algo, 20)
    stretch = device_rollout.Stretch(start, start + 9, policy_acts=True, updates=True)
    state = agent.init(jax.random.PRNGKey(0))
    learner = Learner(agent, 1)
    env = device_rollout.start_episode(twin, keys, 0)
    env = env.replace(env_state=env.env_state._replace(t=jnp.int32(start % 200)))
    copies = jax.tree.map(jnp.copy, (state, ring.arrays, env))
    expected = _replayed(agent, twin, copies[1], copies[0], learner.zero_sums(), copies[2], keys, stretch, update_every, 1)

    state, sums, env, rewards, ended = device_rollout.run_stretch(
        agent, twin, ring, stretch, update_every, 1, state, learner.zero_sums(), env, keys, 1
    )
    got = (state, sums, ring.arrays, env)
    for want, have in zip(jax.tree.leaves(expected), jax.tree.leaves(got)):
        np.testing.assert_allclose(np.asarray(have), np.asarray(want), rtol=1e-5, atol=1e-6)
    assert int(state.step) == device_rollout.updates_in(stretch, update_every)
    assert int(sums["updates"]) == device_rollout.updates_in(stretch, update_every)
    assert ended.tolist() == [t + 1 == 200 for t in range(start, start + 9)] if start else not ended.any()
    assert ring.views[0].size == 29 and ring.views[0].ptr == 29 and ring.views[0].dirty.count == 29
    assert int(env.episode) == (1 if start else 0)


def test_a_stretch_sends_the_device_nothing_but_its_start_and_update_count():
    """No implicit host-to-device transfer (on a GPU, nothing per step at all): the guard raises
    on any array the program would have to pull from the host."""
    agent, twin, ring, keys = _fresh("td3", 20)
    learner = Learner(agent, 1)
    state, sums, env = agent.init(jax.random.PRNGKey(0)), learner.zero_sums(), device_rollout.start_episode(twin, keys, 0)
    stretch = device_rollout.Stretch(100, 110, True, True)
    state, sums, env, _, _ = device_rollout.run_stretch(agent, twin, ring, stretch, 1, 1, state, sums, env, keys, 0)
    with jax.transfer_guard_host_to_device("disallow"):
        state, sums, env, rewards, _ = device_rollout.run_stretch(
            agent, twin, ring, stretch._replace(start=110, stop=120), 1, 1, state, sums, env, keys, 10
        )
    assert rewards.shape == (10,) and int(state.step) == 20


def test_random_stretches_act_uniformly_and_do_not_update():
    agent, twin, ring, keys = _fresh("sac", 0)
    state = agent.init(jax.random.PRNGKey(0))
    before = jax.tree.map(jnp.copy, state)
    state, sums, env, rewards, ended = device_rollout.run_stretch(
        agent, twin, ring, device_rollout.Stretch(0, 50, False, False), 1, 1, state, Learner(agent, 1).zero_sums(),
        device_rollout.start_episode(twin, keys, 0), keys, 0,
    )
    actions = np.asarray(ring.arrays.rows[:50, 6])
    assert actions.min() >= -1 and actions.max() <= 1 and np.std(actions) > 0.4  # uniform on [-1, 1]: std 0.58
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(before), jax.tree.leaves(state)))
    assert float(sums["updates"]) == 0 and rewards.shape == (50,) and not ended.any()


def test_stretches_cut_where_acting_and_updates_start_and_at_most_a_call_long(monkeypatch):
    S = device_rollout.Stretch
    assert device_rollout.stretches(0, 1000, 1000, 0, 100, 10**6) == [S(0, 1000, False, False)]
    assert device_rollout.stretches(1000, 2000, 1000, 1000, 100, 10**6) == [S(1000, 2000, True, True)]
    # Updates need a batch in the ring: with 40 stored at step 50, step 109 stores the 100th.
    assert device_rollout.stretches(50, 300, 80, 40, 100, 10**6) == [
        S(50, 80, False, False), S(80, 109, True, False), S(109, 300, True, True)
    ]
    monkeypatch.setattr(device_rollout, "MAX_STEPS_PER_CALL", 400)
    assert device_rollout.stretches(0, 1000, 0, 5000, 100, 10**6) == [S(0, 400, True, True), S(400, 800, True, True),
                                                                       S(800, 1000, True, True)]


@pytest.mark.parametrize("stretch, update_every, expected", [((0, 10, True, True), 1, 10), ((3, 10, True, True), 4, 8),
                                                             ((4, 7, True, True), 4, 0), ((0, 10, True, False), 1, 0)])
def test_updates_in_counts_the_blocks_due_in_a_stretch(stretch, update_every, expected):
    assert device_rollout.updates_in(device_rollout.Stretch(*stretch), update_every) == expected


# The small run of every test, with epochs that end mid-episode, one update per step, on the device.
SMALL = SMALL_RUN + """
train.num_steps_per_epoch = 250
train.update_every = 1
device_env.enabled = True
"""


def _checkpoint_arrays(run_dir):
    groups, _ = checkpoint.load(run_dir / "checkpoint.npz")
    return {f"{g}/{k}": v for g, arrays in groups.items() for k, v in arrays.items()}


def test_a_resumed_run_on_the_device_is_bit_identical_to_one_run_through(tmp_path):
    """Resumed at step 250, mid-episode: the twin's state comes back from the checkpoint."""
    gin.parse_config(SMALL + "train.update_every = 2")
    whole = train("Pendulum-v0", "td3", tmp_path / "whole", seed=3, quiet=True, num_epochs=2)
    train("Pendulum-v0", "td3", tmp_path / "resumed", seed=3, quiet=True, num_epochs=1)
    resumed = train("Pendulum-v0", "td3", tmp_path / "resumed", seed=3, quiet=True, num_epochs=2,
                    accept_change=["train.num_epochs"])
    drop = ("Hours", "Steps per Second")
    assert {k: v for k, v in whole.items() if k not in drop} == {k: v for k, v in resumed.items() if k not in drop}
    a, b = _checkpoint_arrays(tmp_path / "whole"), _checkpoint_arrays(tmp_path / "resumed")
    assert a.keys() == b.keys() and any(k.startswith("device_env/") for k in a)
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_vectorized_seeds_on_the_device_train_as_each_alone(tmp_path):
    gin.parse_config(SMALL)
    together = train("Pendulum-v0", "sac", [tmp_path / "v1", tmp_path / "v2"], [1, 2], quiet=True, num_epochs=1)
    alone = train("Pendulum-v0", "sac", tmp_path / "a2", seed=2, quiet=True, num_epochs=1)
    for key in ("Episode Return (Train)", "Episode Return (Test)", "Timesteps"):
        assert together[1][key] == pytest.approx(alone[key], rel=1e-4)
    assert together[0]["Episode Return (Train)"] != together[1]["Episode Return (Train)"]


def test_train_episode_books_add_up_on_the_device(tmp_path):
    """Epochs of 250 steps and episodes of 200: the second epoch logs the episode ended at 400."""
    gin.parse_config(SMALL)
    row = train("Pendulum-v0", "ddpg", tmp_path / "r", seed=1, quiet=True, num_epochs=2)
    assert row["Episode Length (Train)"] == 200 and row["Timesteps"] == 500
    episode = _checkpoint_arrays(tmp_path / "r")["device_env/.episode"]
    assert int(episode) == 2  # episodes 0 and 1 ended at steps 200 and 400


def test_a_run_switching_between_host_and_device_starts_a_new_episode_and_goes_on(tmp_path):
    """Epochs of 250 steps: each switch comes mid-episode, which is dropped (the other side
    cannot be brought into it); the run goes on from the checkpoint's step and buffer."""
    gin.parse_config(SMALL.replace("device_env.enabled = True", ""))
    train("Pendulum-v0", "sac", tmp_path / "r", seed=1, quiet=True, num_epochs=1)  # episode 1 is 50 steps in
    gin.parse_config("device_env.enabled = True")
    changes = ["train.num_epochs", "device_env.enabled"]
    row = train("Pendulum-v0", "sac", tmp_path / "r", seed=1, quiet=True, num_epochs=2, accept_change=changes)
    assert row["Timesteps"] == 500 and row["Episode Length (Train)"] == 200  # episode 2: steps 250 to 449
    assert int(_checkpoint_arrays(tmp_path / "r")["device_env/.episode"]) == 3
    gin.parse_config("device_env.enabled = False")
    row = train("Pendulum-v0", "sac", tmp_path / "r", seed=1, quiet=True, num_epochs=3, accept_change=changes)
    assert row["Timesteps"] == 750 and row["Episode Length (Train)"] == 200  # episode 4 on the host: 500 to 699
    assert "device_env/.episode" not in _checkpoint_arrays(tmp_path / "r")


@pytest.mark.slow
def test_sac_learns_pendulum_on_the_device_within_6000_steps(tmp_path):
    gin.parse_config(
        """
        make_MLP.hidden_dimensions = (64, 64)
        ReplayBuffer.batch_size = 64
        SAC.lr = 1e-3
        train.num_epochs = 6
        train.num_steps_per_epoch = 1000
        train.num_test_episodes_per_epoch = 5
        train.update_after = 1000
        device_env.enabled = True
        """
    )
    row = train("Pendulum-v0", "sac", tmp_path / "sac", seed=1, quiet=True)
    assert row["Timesteps"] == 6000
    assert row["Episode Return (Test)"] > -400  # untrained: about -1200 to -1600


@pytest.mark.parametrize("env, algo, says", [
    ("reacher-pomdp-v0", "sac", ["has no JAX twin", "Pendulum-v0, pendulum-v0, pendulum-p-v0"]),
    ("pendulum-p-v0", "rsac", ["whole episodes", "(ddpg, td3, sac)"]),
])
def test_the_flag_refuses_envs_without_a_twin_and_recurrent_agents(tmp_path, capsys, env, algo, says):
    assert main(["--env", env, "--algo", algo, "--env_on_device", "--results_dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert all(part in err for part in says) and err.count("\n") == 1 and not (tmp_path / env).exists()
