"""The episode-sequence buffer: whole episodes, proportional sampling, masks, segments, burn-in, wrap-around."""

import numpy as np
import pytest

from jaxpcc.replay import RecurrentReplayBuffer


def fill(buffer, lengths, start=0, truncate_last=True):
    """Pushes episodes whose observations count the global step (obs = [step]) and actions = step + 0.5."""
    step = start
    for n in lengths:
        for t in range(n):
            last = t == n - 1
            buffer.push([step], [step + 0.5], float(step), [step + 1], done=last and not truncate_last,
                        truncated=last and truncate_last)
            step += 1
        step += 1  # the next episode's first observation is a fresh reset
    return step


def test_whole_episodes_are_padded_to_the_limit_with_masks():
    buf = RecurrentReplayBuffer(1, 1, max_episode_len=6, capacity=4, batch_size=3, seed=0)
    fill(buf, [2, 6, 4])
    batch = buf.sample()
    assert batch["obs"].shape == (3, 7, 1) and batch["action"].shape == (3, 6, 1)
    assert batch["reward"].shape == batch["mask"].shape == batch["done"].shape == (3, 6)
    assert batch["obs"].dtype == np.float32
    for obs, mask, reward in zip(batch["obs"][..., 0], batch["mask"], batch["reward"]):
        n = int(mask.sum())
        assert n in (2, 6, 4) and np.all(mask[:n] == 1) and np.all(mask[n:] == 0)
        np.testing.assert_array_equal(obs[: n + 1], obs[0] + np.arange(n + 1))  # o_0..o_n incl. the final next obs
        assert np.all(obs[n + 1 :] == 0) and np.all(reward[n:] == 0)


def test_done_only_on_termination():
    buf = RecurrentReplayBuffer(1, 1, max_episode_len=3, capacity=4, batch_size=1, seed=0)
    fill(buf, [3], truncate_last=True)
    fill(buf, [2], start=10, truncate_last=False)
    batches = buf.sample_many(50)
    for done, mask in zip(batches["done"].reshape(-1, 3), batches["mask"].reshape(-1, 3)):
        assert done.sum() == (1 if mask.sum() == 2 else 0)
        if mask.sum() == 2:
            assert done[1] == 1


def test_sampling_is_proportional_to_episode_length():
    buf = RecurrentReplayBuffer(1, 1, max_episode_len=8, capacity=10, batch_size=4, seed=1)
    fill(buf, [1, 2, 8, 4])
    lengths = buf.sample_many(5000)["mask"].sum(-1).ravel()
    freq = np.array([np.mean(lengths == n) for n in (1, 2, 8, 4)])
    np.testing.assert_allclose(freq, np.array([1, 2, 8, 4]) / 15, atol=0.015)


def test_unfinished_and_overwritten_episodes_are_never_sampled():
    buf = RecurrentReplayBuffer(1, 1, max_episode_len=5, capacity=3, batch_size=2, seed=2)
    fill(buf, [5, 5, 5, 5])  # the 4th episode overwrote the 1st slot (wrap-around)
    assert len(buf) == 3 and buf.episode_ptr == 1
    buf.push([100.0], [0.0], 0.0, [101.0], done=False)  # slot 1 is zeroed and in progress
    firsts = set(buf.sample_many(300)["obs"][..., 0, 0].ravel().tolist())
    assert firsts == {12.0, 18.0}  # episodes starting at steps 0 and 6 are gone
    with pytest.raises(ValueError):
        RecurrentReplayBuffer(1, 1, 5, capacity=3, batch_size=4).sample()


def test_segments_are_aligned_non_overlapping_and_start_from_zero_state():
    buf = RecurrentReplayBuffer(1, 1, max_episode_len=8, capacity=4, batch_size=1, segment_len=4, seed=3)
    fill(buf, [7])
    batch = buf.sample_many(200)
    assert batch["obs"].shape == (200, 1, 5, 1) and "burn_in_obs" not in batch
    starts = batch["obs"][..., 0, 0].ravel()
    assert set(starts.tolist()) == {0.0, 4.0}  # ceil(7 / 4) = 2 aligned segments, both drawn
    second = batch["obs"][..., 0, 0] == 4.0
    np.testing.assert_array_equal(batch["mask"][second][0], [1, 1, 1, 0])
    np.testing.assert_array_equal(batch["obs"][second][0, :, 0], [4, 5, 6, 7, 0])
    with pytest.raises(ValueError, match="divide"):
        RecurrentReplayBuffer(1, 1, max_episode_len=8, capacity=4, batch_size=4, segment_len=3)


def test_burn_in_prefix_holds_the_observations_before_the_segment():
    buf = RecurrentReplayBuffer(1, 1, max_episode_len=6, capacity=2, batch_size=1, segment_len=2, burn_in=3, seed=4)
    fill(buf, [6])
    batch = buf.sample_many(100)
    for obs, prefix, valid in zip(batch["obs"][:, 0, :, 0], batch["burn_in_obs"][:, 0, :, 0], batch["burn_in_mask"][:, 0]):
        start = int(obs[0])
        expected_valid = (np.arange(3) + start - 3) >= 0
        np.testing.assert_array_equal(valid, expected_valid)
        np.testing.assert_array_equal(prefix[expected_valid], np.arange(max(start - 3, 0), start))
        assert np.all(prefix[~expected_valid] == 0)
    with pytest.raises(ValueError, match="burn_in"):
        RecurrentReplayBuffer(1, 1, 6, capacity=2, batch_size=1, burn_in=2)


def test_state_dict_round_trip_keeps_the_episode_in_progress():
    buf = RecurrentReplayBuffer(1, 1, max_episode_len=5, capacity=3, batch_size=2, seed=5)
    fill(buf, [5, 3, 4, 2])
    buf.push([50.0], [0.25], 1.0, [51.0], done=False)
    buf.push([51.0], [0.75], 1.0, [52.0], done=False)
    copy = RecurrentReplayBuffer(1, 1, max_episode_len=5, capacity=3, batch_size=2, seed=99)
    copy.load_state_dict(buf.state_dict())
    copy.rng.bit_generator.state = buf.rng.bit_generator.state
    assert copy.current_episode_len() == 2
    np.testing.assert_array_equal(copy.last_actions(2)[:, 0], [0.25, 0.75])
    np.testing.assert_array_equal(copy.last_next_obs(), [52.0])
    a, b = buf.sample_many(3), copy.sample_many(3)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    with pytest.raises(ValueError):
        buf.last_actions(3)
