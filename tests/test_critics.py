"""Critic ensembles: one convention (nn.vmap over Critic, params stacked [E, ...]) for every agent."""

import jax
import numpy as np

import numpy_oracle as npo
from jaxpcc.agents.common import first_member
from jaxpcc.networks import EnsembleCritic, critic_ensemble

B, O, A, H = 5, 4, 2, (8, 8)


def _inputs(seed=0, obs_shape=(B, O)):
    rng = np.random.default_rng(seed)
    return rng.normal(size=obs_shape).astype(np.float32), rng.uniform(-1, 1, size=(B, A)).astype(np.float32)


def _member(params, e):
    """Member e of a top-level `critic_ensemble`'s params, as the NumPy MLP reads it."""
    return {k: {n: np.asarray(v)[e] for n, v in layer.items()} for k, layer in params["params"]["MLP_0"].items()}


def test_each_member_reads_its_own_obs_when_obs_axis_is_0():
    obs, action = _inputs(obs_shape=(3, B, O))
    params = critic_ensemble(H, 3).init(jax.random.PRNGKey(0), obs[0], action)
    q = critic_ensemble(H, obs_axis=0).apply(params, obs, action)
    expected = [npo.mlp(_member(params, e), np.concatenate([obs[e], action], -1), 3)[..., 0] for e in range(3)]
    assert q.shape == (3, B)
    np.testing.assert_allclose(q, np.stack(expected), rtol=1e-5, atol=1e-6)


def test_members_differ_at_init_and_share_one_obs_by_default():
    obs, action = _inputs()
    params = critic_ensemble(H, 2).init(jax.random.PRNGKey(1), obs, action)
    q = critic_ensemble(H).apply(params, obs, action)
    assert q.shape == (2, B) and not np.allclose(q[0], q[1])
    expected = [npo.mlp(_member(params, e), np.concatenate([obs, action], -1), 3)[..., 0] for e in range(2)]
    np.testing.assert_allclose(q, np.stack(expected), rtol=1e-5, atol=1e-6)


def test_the_first_member_alone_is_q1_of_the_same_module():
    """Q1 alone (TD3's actor loss) is the ensemble module applied to `first_member(params)`."""
    obs, action = _inputs(2)
    net = EnsembleCritic(2, H)
    params = net.init(jax.random.PRNGKey(2), obs, action)
    q1 = net.apply(first_member(params), obs, action)
    assert q1.shape == (1, B)
    np.testing.assert_allclose(q1[0], npo.critics(params, obs, action)[0], rtol=1e-5, atol=1e-6)
