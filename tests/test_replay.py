"""Ring buffer semantics: wrap-around, sampling only filled slots, terminal vs truncation."""

import numpy as np
import pytest

from jaxpcc.replay import ReplayBuffer


def push_n(buf, n, start=0, done_every=None):
    for i in range(start, start + n):
        done = done_every is not None and (i + 1) % done_every == 0
        buf.push(np.full(2, i, np.float32), np.full(1, i, np.float32), float(i), np.full(2, i + 1, np.float32), done)


def test_wraps_around_and_overwrites_the_oldest():
    buf = ReplayBuffer((2,), 1, capacity=5, batch_size=2, seed=0)
    push_n(buf, 7)
    assert len(buf) == 5 and buf.ptr == 2
    assert sorted(buf.reward.tolist()) == [2.0, 3.0, 4.0, 5.0, 6.0]
    np.testing.assert_array_equal(buf.last_actions(3)[:, 0], [4, 5, 6])


def test_samples_only_filled_slots_with_consistent_fields():
    buf = ReplayBuffer((2,), 1, capacity=100, batch_size=8, seed=0)
    push_n(buf, 10)
    batch = buf.sample_many(50)
    assert batch["obs"].shape == (50, 8, 2) and batch["reward"].shape == (50, 8)
    assert set(np.unique(batch["reward"])) <= set(range(10))
    np.testing.assert_array_equal(batch["obs"][..., 0], batch["reward"])
    np.testing.assert_array_equal(batch["next_obs"][..., 0], batch["reward"] + 1)


def test_refuses_to_sample_fewer_than_a_batch():
    buf = ReplayBuffer((2,), 1, capacity=10, batch_size=4, seed=0)
    push_n(buf, 3)
    assert not buf.can_sample()
    with pytest.raises(ValueError, match="fewer than batch_size"):
        buf.sample()


def test_stores_terminated_not_truncated():
    """The loop pushes `terminated`; a truncated step is stored with done = 0."""
    buf = ReplayBuffer((2,), 1, capacity=10, batch_size=1, seed=0)
    buf.push(np.zeros(2), np.zeros(1), 0.0, np.ones(2), done=False)  # a time-limit truncation
    buf.push(np.zeros(2), np.zeros(1), 0.0, np.ones(2), done=True)  # a true terminal
    np.testing.assert_array_equal(buf.done[:2], [0.0, 1.0])


def test_state_dict_round_trip_restores_contents_and_sampling():
    buf = ReplayBuffer((2,), 1, capacity=6, batch_size=3, seed=4)
    push_n(buf, 9, done_every=4)
    copy = ReplayBuffer((2,), 1, capacity=6, batch_size=3, seed=99)
    copy.load_state_dict(buf.state_dict())
    copy.rng.bit_generator.state = buf.rng.bit_generator.state
    for name in ("obs", "next_obs", "action", "reward", "done"):
        np.testing.assert_array_equal(getattr(copy, name), getattr(buf, name))
    assert (copy.ptr, copy.size) == (buf.ptr, buf.size)
    np.testing.assert_array_equal(copy.sample()["reward"], buf.sample()["reward"])


def test_uint8_image_storage():
    buf = ReplayBuffer((3, 4, 4), 1, capacity=4, batch_size=2, obs_dtype=np.uint8, seed=0)
    buf.push(np.full((3, 4, 4), 255, np.uint8), np.zeros(1), 0.0, np.zeros((3, 4, 4), np.uint8), False)
    assert buf.obs.dtype == np.uint8 and buf.obs.nbytes == 4 * 3 * 16
