"""The device ring and the one-call step: ring semantics, exact sampling, delay phases, transfers per step."""

import functools

import jax
import numpy as np
import pytest

from jaxpcc.agents import make_agent
from jaxpcc.learner import Learner, epoch_means
from jaxpcc.replay import ReplayBuffer
from jaxpcc.replay.device_ring import DeviceRing, draw
from jaxpcc.replay.host_buffers import HostBuffers
from jaxpcc.types import Batch

OBS, ACT = 3, 1


def transition(i: int):
    """A transition whose every field tells which push it was."""
    obs = np.full(OBS, i, np.float32)
    return obs, np.full(ACT, -i, np.float32), float(i), obs + 0.5, float(i % 2)


@functools.cache
def sac_learner(num_seeds: int) -> Learner:
    """The device side of one SAC agent (8-unit layers) for `num_seeds`, shared by the tests as runs share it."""
    return Learner(make_agent("sac", OBS, ACT, hidden_sizes=(8, 8)), num_seeds)


def pushed_ring(n_pushes: int, capacity: int = 5, batch_size: int = 2, seeds=(0,)):
    ring = DeviceRing(len(seeds), (OBS,), ACT, list(seeds), capacity=capacity, batch_size=batch_size)
    learner = sac_learner(len(seeds))
    for i in range(n_pushes):
        for view in ring.views:
            view.push(*transition(i))
        learner.step(None, None, learner.start_carry(), ring, None, None, i)  # the step's store alone
    return ring


@pytest.mark.parametrize("pushes", [3, 5, 8])
def test_the_device_ring_holds_what_a_host_ring_holds(pushes):
    ring = pushed_ring(pushes)
    host = ReplayBuffer((OBS,), ACT, capacity=5, batch_size=2, seed=0)
    for i in range(pushes):
        host.push(*transition(i))
    view = ring.views[0]
    assert (view.ptr, view.size) == (host.ptr, host.size)
    assert int(ring.arrays.ptr) == host.ptr and int(ring.arrays.size) == host.size
    for name, column in view.slot_arrays().items():
        np.testing.assert_array_equal(column[:], getattr(host, name), err_msg=name)
    np.testing.assert_array_equal(view.last_actions(2), host.last_actions(2))
    np.testing.assert_array_equal(view.last_next_obs(), host.last_next_obs())


def test_draw_samples_uniformly_from_the_filled_slots_only():
    ring = pushed_ring(3, capacity=10)
    batches = draw(ring.arrays, jax.numpy.int32(7), 400, 2)
    seen = np.asarray(batches.reward).ravel()
    assert set(seen.tolist()) == {0.0, 1.0, 2.0}  # never an empty slot (reward 0 with obs 0 is push 0's)
    np.testing.assert_array_equal(np.asarray(batches.obs)[..., 0], np.asarray(batches.reward))
    counts = np.bincount(seen.astype(int), minlength=3) / seen.size
    assert np.all(np.abs(counts - 1 / 3) < 0.06), counts
    again = draw(ring.arrays, jax.numpy.int32(7), 400, 2)
    other = draw(ring.arrays, jax.numpy.int32(8), 400, 2)
    np.testing.assert_array_equal(np.asarray(again.reward), np.asarray(batches.reward))  # keyed by the update count
    assert not np.array_equal(np.asarray(other.reward), np.asarray(batches.reward))


def test_stacked_seeds_have_rings_and_sampling_keys_of_their_own():
    ring = pushed_ring(4, capacity=10, seeds=(0, 1))
    np.testing.assert_array_equal(ring.views[0].slot_arrays()["obs"][:], ring.views[1].slot_arrays()["obs"][:])
    one = jax.tree.map(lambda x: x[0], ring.arrays)
    two = jax.tree.map(lambda x: x[1], ring.arrays)
    a, b = (np.asarray(draw(r, jax.numpy.int32(0), 50, 2).reward) for r in (one, two))
    assert not np.array_equal(a, b)


def test_a_restored_ring_reads_back_its_slots_and_position():
    source = pushed_ring(7)
    target = DeviceRing(1, (OBS,), ACT, [0], capacity=5, batch_size=2)
    view = target.views[0]
    for name, column in source.views[0].slot_arrays().items():
        view.slot_arrays()[name][np.arange(5)] = column[:]
    view.load_small_state(source.views[0].small_state())
    for name, column in source.views[0].slot_arrays().items():
        np.testing.assert_array_equal(view.slot_arrays()[name][:], column[:], err_msg=name)
    assert (int(target.arrays.ptr), int(target.arrays.size)) == (2, 5)


def test_a_step_storing_for_some_stacked_seeds_leaves_the_others_rings_alone():
    ring = pushed_ring(2, capacity=10, seeds=(0, 1))
    ring.views[0].push(*transition(7))  # seed 1 has nothing to store this step
    learner = sac_learner(2)
    learner.step(None, None, learner.start_carry(), ring, None, None, 2)
    assert [(v.ptr, v.size) for v in ring.views] == [(3, 3), (2, 2)]
    np.testing.assert_array_equal(np.asarray(ring.arrays.size), [3, 2])
    np.testing.assert_array_equal(ring.views[0].slot_arrays()["reward"][:3], [0.0, 1.0, 7.0])
    np.testing.assert_array_equal(ring.views[1].slot_arrays()["reward"][:3], [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(ring.views[1].slot_arrays()["obs"][2], np.zeros(OBS))


def test_a_staged_push_is_written_before_the_ring_is_read():
    ring = DeviceRing(1, (OBS,), ACT, [0], capacity=5, batch_size=2)
    ring.views[0].push(*transition(4))
    np.testing.assert_array_equal(ring.views[0].last_actions(1), [[-4.0]])  # read without a step program
    assert not ring.has_staged() and int(ring.arrays.size) == 1


@pytest.fixture(scope="module")
def td3_blocks():
    """One TD3 agent and its jitted block for every case below (each traces a block length and phase once)."""
    agent = make_agent("td3", OBS, ACT, hidden_sizes=(8, 8))
    return agent, jax.jit(agent.update_block, static_argnums=2)


@pytest.mark.parametrize("first", [0, 1])
@pytest.mark.parametrize("block", [1, 3, 4])
def test_td3_blocks_place_the_delayed_step_by_the_phase_the_host_passes(td3_blocks, first, block):
    agent, block_fn = td3_blocks
    rng = np.random.default_rng(0)
    total = first + block
    batches = Batch(
        rng.normal(size=(total, 4, OBS)).astype(np.float32), rng.uniform(-1, 1, (total, 4, ACT)).astype(np.float32),
        rng.normal(size=(total, 4)).astype(np.float32), rng.normal(size=(total, 4, OBS)).astype(np.float32),
        np.zeros((total, 4), np.float32),
    )
    expected, _ = agent.update_many.scanned(agent.init(jax.random.PRNGKey(0)), batches)  # decides on the device
    state = agent.init(jax.random.PRNGKey(0))
    if first:
        state, _ = agent.update_many.scanned(state, jax.tree.map(lambda x: x[:first], batches))
    state, metrics = block_fn(state, jax.tree.map(lambda x: x[first:], batches), first % agent.period)
    assert metrics["critic/q1_loss"].shape == (block,)
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(expected)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


def test_metric_sums_give_the_epoch_means_of_every_update():
    learner = sac_learner(1)
    agent = learner.agent
    ring = pushed_ring(6, capacity=10)
    state, sums = agent.init(jax.random.PRNGKey(0)), learner.zero_sums()
    expected_state = agent.init(jax.random.PRNGKey(0))
    losses = []
    for i in range(3):
        batches = draw(ring.arrays, expected_state.step, 1, 2)
        expected_state, metrics = agent.update_many(expected_state, batches)
        losses.append(float(metrics["critic/q1_loss"][0]))
        state, sums, _, _ = learner.step(state, sums, (), ring, ring.update_source(1), None, 6 + i, None, 1, i)
    means = epoch_means(jax.device_get(sums), agent.metric_names)
    assert means[agent.metric_names["critic/q1_loss"]] == pytest.approx(np.mean(losses), rel=1e-5)


@pytest.fixture
def counted_transfers(monkeypatch):
    """Counts explicit host-to-device transfers; implicit ones are refused by the transfer guard."""
    calls = []
    real = jax.device_put

    def counting(x, *args, **kwargs):
        calls.append(x)
        return real(x, *args, **kwargs)

    monkeypatch.setattr(jax, "device_put", counting)
    return calls


@pytest.mark.parametrize("algo, seeds", [("sac", (0,)), ("td3", (0, 1))])
def test_a_default_mode_step_sends_one_input_and_reads_back_the_action(counted_transfers, algo, seeds):
    """What a GPU pays per env step in the default mode: one transfer in (the transition, the
    observation to act on and the step index, packed), the action out, and nothing else."""
    agent = make_agent(algo, OBS, ACT, hidden_sizes=(8, 8))
    learner = Learner(agent, len(seeds), explicit_transfers=True)
    ring = DeviceRing(len(seeds), (OBS,), ACT, list(seeds), capacity=50, batch_size=4)
    state = learner.stack([agent.init(jax.random.PRNGKey(s)) for s in seeds])
    keys = learner.stack([jax.random.PRNGKey(10 + s) for s in seeds])
    sums, carry = learner.zero_sums(), learner.start_carry()
    for i in range(8):  # warm: every program compiled, the ring able to sample
        for view in ring.views:
            view.push(*transition(i))
        state, sums, _, carry = learner.step(state, sums, carry, ring, None, keys, i + 1, [transition(i)[3]] * len(seeds), 1, i)
    counted_transfers.clear()
    with jax.transfer_guard_host_to_device("disallow"):
        for i in range(8, 12):
            for view in ring.views:
                view.push(*transition(i))
            state, sums, actions, carry = learner.step(
                state, sums, carry, ring, ring.update_source(1), keys, i + 1, [transition(i)[3]] * len(seeds), 1, i
            )
            assert len(actions) == len(seeds) and actions[0].shape == (ACT,)
    assert len(counted_transfers) == 4  # one per step


def test_host_buffers_send_their_batches_too(counted_transfers):
    """The counting above can fail: a host buffer sends each block's batches besides the step input."""
    agent = make_agent("sac", OBS, ACT, hidden_sizes=(8, 8))
    learner = Learner(agent, 1, explicit_transfers=True)
    host = ReplayBuffer((OBS,), ACT, capacity=50, batch_size=4, seed=0)
    buffers = HostBuffers([host], (OBS,))
    state, sums = agent.init(jax.random.PRNGKey(0)), learner.zero_sums()
    for i in range(6):
        host.push(*transition(i))
    counted_transfers.clear()
    learner.step(state, sums, (), buffers, buffers.update_source(1), jax.random.PRNGKey(1), 6, [transition(5)[3]], 1, 0)
    assert len(counted_transfers) == 2
