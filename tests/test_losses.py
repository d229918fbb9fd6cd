"""Each loss against an independent NumPy computation of the reference's formula."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import numpy_oracle as npo
from jaxpcc.losses import common, ddpg, sac
from jaxpcc.networks import DeterministicActor, EnsembleCritic, GaussianActor
from jaxpcc.types import Batch

B, O, A, H = 6, 3, 2, (8, 8)
GAMMA = 0.99
TOL = dict(rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(0)
    batch = Batch(
        obs=rng.normal(size=(B, O)).astype(np.float32),
        action=rng.uniform(-1, 1, size=(B, A)).astype(np.float32),
        reward=rng.normal(size=(B,)).astype(np.float32),
        next_obs=rng.normal(size=(B, O)).astype(np.float32),
        done=np.array([0, 1, 0, 0, 1, 0], np.float32),
    )
    keys = jax.random.split(jax.random.PRNGKey(42), 8)
    det = DeterministicActor(A, H)
    gau = GaussianActor(A, H)
    twin, single = EnsembleCritic(2, H), EnsembleCritic(1, H)
    params = {
        "det": det.init(keys[0], batch.obs),
        "det_targ": det.init(keys[1], batch.obs),
        "gau": gau.init(keys[2], batch.obs),
        "twin": twin.init(keys[3], batch.obs, batch.action),
        "twin_targ": twin.init(keys[4], batch.obs, batch.action),
        "single": single.init(keys[5], batch.obs, batch.action),
        "single_targ": single.init(keys[6], batch.obs, batch.action),
    }
    nets = {"det": det, "gau": gau, "twin": twin, "single": single}
    return batch, params, nets


def np_batch(batch):
    return [np.asarray(x, np.float64) for x in batch]


@pytest.mark.parametrize("jit", [False, True])
def test_ddpg_critic_loss(setup, jit):
    batch, p, n = setup
    fn = lambda: ddpg.critic_loss(  # noqa: E731
        p["single"], p["single_targ"], p["det_targ"], batch, None,
        actor_fn=n["det"].apply, critic_fn=n["single"].apply, gamma=GAMMA,
    )
    loss, metrics = jax.jit(fn)() if jit else fn()
    s, a, r, s2, d = np_batch(batch)
    y = r + GAMMA * (1 - d) * npo.critics(p["single_targ"], s2, npo.deterministic_actor(p["det_targ"], s2))[0]
    q = npo.critics(p["single"], s, a)[0]
    np.testing.assert_allclose(loss, np.mean((q - y) ** 2), **TOL)
    np.testing.assert_allclose(metrics["critic/q1_pred"], q.mean(), **TOL)


def test_ddpg_actor_loss(setup):
    batch, p, n = setup
    loss, metrics = ddpg.actor_loss(p["det"], p["single"], batch, actor_fn=n["det"].apply, critic_fn=n["single"].apply)
    s = np.asarray(batch.obs, np.float64)
    expected = -np.mean(npo.critics(p["single"], s, npo.deterministic_actor(p["det"], s))[0])
    np.testing.assert_allclose(loss, expected, **TOL)


def test_td3_critic_loss_with_target_smoothing(setup):
    batch, p, n = setup
    key = jax.random.PRNGKey(7)
    loss, metrics = ddpg.critic_loss(
        p["twin"], p["twin_targ"], p["det_targ"], batch, key,
        actor_fn=n["det"].apply, critic_fn=n["twin"].apply, gamma=GAMMA, target_noise=0.2, noise_clip=0.5,
    )
    s, a, r, s2, d = np_batch(batch)
    eps = np.asarray(jax.random.normal(key, (B, A)), np.float64)
    a2 = np.clip(npo.deterministic_actor(p["det_targ"], s2) + np.clip(0.2 * eps, -0.5, 0.5), -1, 1)
    y = r + GAMMA * (1 - d) * npo.critics(p["twin_targ"], s2, a2).min(axis=0)
    q = npo.critics(p["twin"], s, a)
    per = ((q - y) ** 2).mean(axis=1)
    np.testing.assert_allclose(loss, per.sum(), **TOL)
    np.testing.assert_allclose(metrics["critic/q1_loss"], per[0], **TOL)
    np.testing.assert_allclose(metrics["critic/q2_loss"], per[1], **TOL)
    np.testing.assert_allclose(metrics["critic/q2_pred"], q[1].mean(), **TOL)


def test_td3_actor_uses_first_critic_only(setup):
    batch, p, n = setup
    loss, _ = ddpg.actor_loss(p["det"], p["twin"], batch, actor_fn=n["det"].apply, critic_fn=n["twin"].apply)
    s = np.asarray(batch.obs, np.float64)
    expected = -np.mean(npo.critics(p["twin"], s, npo.deterministic_actor(p["det"], s))[0])
    np.testing.assert_allclose(loss, expected, **TOL)


@pytest.mark.parametrize("jit", [False, True])
def test_sac_critic_loss(setup, jit):
    batch, p, n = setup
    key, alpha = jax.random.PRNGKey(3), 0.3
    fn = lambda: sac.critic_loss(  # noqa: E731
        p["twin"], p["twin_targ"], p["gau"], batch, key,
        actor_fn=n["gau"].apply, critic_fn=n["twin"].apply, alpha=alpha, gamma=GAMMA,
    )
    loss, metrics = jax.jit(fn)() if jit else fn()
    s, a, r, s2, d = np_batch(batch)
    mean, log_std = npo.gaussian_actor(p["gau"], s2)
    eps = np.asarray(jax.random.normal(key, (B, A)), np.float64)
    a2, logp2 = npo.tanh_gaussian(mean, log_std, eps)
    y = r + GAMMA * (1 - d) * (npo.critics(p["twin_targ"], s2, a2).min(axis=0) - alpha * logp2)
    q = npo.critics(p["twin"], s, a)
    np.testing.assert_allclose(loss, ((q - y) ** 2).mean(axis=1).sum(), **TOL)


def test_sac_actor_and_temperature_losses(setup):
    batch, p, n = setup
    key, alpha, log_alpha = jax.random.PRNGKey(5), 0.3, jnp.log(0.3)
    loss, metrics = sac.actor_loss(p["gau"], p["twin"], batch, key, actor_fn=n["gau"].apply, critic_fn=n["twin"].apply, alpha=alpha)
    s = np.asarray(batch.obs, np.float64)
    mean, log_std = npo.gaussian_actor(p["gau"], s)
    eps = np.asarray(jax.random.normal(key, (B, A)), np.float64)
    a, logp = npo.tanh_gaussian(mean, log_std, eps)
    min_q = npo.critics(p["twin"], s, a).min(axis=0)
    np.testing.assert_allclose(loss, np.mean(alpha * logp - min_q), **TOL)
    np.testing.assert_allclose(metrics["actor/entropy"], np.mean(-logp), **TOL)
    np.testing.assert_allclose(metrics["actor/min_q_value"], np.mean(min_q), **TOL)

    t_loss, t_metrics = sac.temperature_loss(log_alpha, metrics["actor/log_pi"], target_entropy=-A)
    np.testing.assert_allclose(t_loss, np.log(0.3) * np.mean(-logp + A), **TOL)
    grad = jax.grad(lambda la: sac.temperature_loss(la, metrics["actor/log_pi"], target_entropy=-A)[0])(log_alpha)
    np.testing.assert_allclose(grad, np.mean(-logp + A), **TOL)


def test_tanh_gaussian_log_prob_matches_direct_formula():
    rng = np.random.default_rng(1)
    mean, log_std, eps = (rng.normal(size=(4, 3)) for _ in range(3))
    u = mean + np.exp(log_std) * eps
    got = common.tanh_gaussian_log_prob(jnp.asarray(u, jnp.float32), jnp.asarray(mean, jnp.float32), jnp.asarray(log_std, jnp.float32))
    np.testing.assert_allclose(got, npo.tanh_gaussian(mean, log_std, eps)[1], rtol=1e-4, atol=1e-4)


def test_masked_mean_ignores_masked_entries():
    x = jnp.array([[1.0, 2.0, 100.0], [3.0, 100.0, 100.0]])
    mask = jnp.array([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    assert float(common.masked_mean(x, mask)) == pytest.approx(2.0)
    per = common.q_regression(jnp.stack([x, x + 1]), jnp.zeros_like(x), mask)
    np.testing.assert_allclose(per, [np.mean([1, 4, 9]), np.mean([4, 9, 16])])


@pytest.mark.parametrize("spread", [1.0, 1e-4])
def test_masked_correlation_equals_numpy_over_valid_entries(spread):
    # spread 1e-4: the twin critics' predictions at initialisation, variances near 1e-8
    rng = np.random.default_rng(3)
    x = -0.006 + spread * rng.normal(size=(4, 30))
    y = 0.5 * x + spread * rng.normal(size=(4, 30))
    mask = (np.arange(30) < np.array([30, 12, 30, 5])[:, None]).astype(np.float32)
    x_padded, y_padded = np.where(mask > 0, x, 7.0), np.where(mask > 0, y, -3.0)
    valid = mask.astype(bool)
    expected = np.corrcoef(x[valid], y[valid])[0, 1]
    got = common.masked_correlation(jnp.asarray(x_padded, jnp.float32), jnp.asarray(y_padded, jnp.float32), jnp.asarray(mask))
    assert float(got) == pytest.approx(expected, abs=1e-4)


def test_masked_correlation_of_a_constant_is_zero():
    assert float(common.masked_correlation(jnp.full((3, 4), 2.0), jnp.arange(12.0).reshape(3, 4))) == 0.0


def test_shape_mismatch_is_refused():
    with pytest.raises(AssertionError):
        common.td_target(jnp.zeros(3), jnp.zeros(3), jnp.zeros(4), 0.99)


def shifted(params, layer, shift):
    """A copy of actor params with `shift` [A] added to one layer's bias (pushes outputs to a clip)."""
    params = jax.tree.map(np.array, params)
    params["params"][layer]["bias"] = params["params"][layer]["bias"] + np.asarray(shift, np.float32)
    return params


def test_td3_target_smoothing_reaches_both_clips(setup):
    """Noise beyond noise_clip and smoothed actions beyond [-1, 1]: both clips change the target."""
    batch, p, n = setup
    key, target_noise, noise_clip = jax.random.PRNGKey(7), 1.5, 0.5
    near_edges = jax.tree.map(np.array, p["det_targ"])
    near_edges["params"]["MLP_0"]["TorchLinear_2"]["bias"] += np.array([2.0, -2.0], np.float32)  # mu near +-0.97
    loss, _ = ddpg.critic_loss(
        p["twin"], p["twin_targ"], near_edges, batch, key, actor_fn=n["det"].apply, critic_fn=n["twin"].apply,
        gamma=GAMMA, target_noise=target_noise, noise_clip=noise_clip,
    )
    s, a, r, s2, d = np_batch(batch)
    noise = target_noise * np.asarray(jax.random.normal(key, (B, A)), np.float64)
    mu = npo.deterministic_actor(near_edges, s2)
    assert np.any(noise > noise_clip) and np.any(noise < -noise_clip)  # the noise clip binds on both sides
    smoothed = mu + np.clip(noise, -noise_clip, noise_clip)
    assert np.any(smoothed > 1) and np.any(smoothed < -1)  # so does the action clip
    y = r + GAMMA * (1 - d) * npo.critics(p["twin_targ"], s2, np.clip(smoothed, -1, 1)).min(axis=0)
    q = npo.critics(p["twin"], s, a)
    np.testing.assert_allclose(loss, ((q - y) ** 2).mean(axis=1).sum(), **TOL)


@pytest.mark.parametrize("jit", [False, True])
def test_sac_losses_where_the_log_std_clamp_binds(setup, jit):
    """log-std pushed past both ends of [-20, 2]: the losses must read the clamped values."""
    batch, p, n = setup
    clamped = shifted(p["gau"], "log_std", [8.0, -30.0])
    # a zero mean where std is e^-20: u = mean + std * eps then keeps eps in float32 (as in the reference,
    # a nonzero mean would round the noise away, and the NumPy oracle would not)
    clamped["params"]["mean"]["kernel"][:, 1] = 0.0
    clamped["params"]["mean"]["bias"][1] = 0.0
    s, a, r, s2, d = np_batch(batch)
    trunk = npo.mlp(clamped["params"]["MLP_0"], s2, 2, final_relu=True)
    raw = npo.linear(clamped["params"]["log_std"], trunk)
    assert np.all(raw[:, 0] > 2.0) and np.all(raw[:, 1] < -20.0)
    key, alpha = jax.random.PRNGKey(3), 0.3
    fns = dict(actor_fn=n["gau"].apply, critic_fn=n["twin"].apply, alpha=alpha)
    critic = lambda: sac.critic_loss(p["twin"], p["twin_targ"], clamped, batch, key, gamma=GAMMA, **fns)  # noqa: E731
    actor = lambda: sac.actor_loss(clamped, p["twin"], batch, key, **fns)  # noqa: E731
    (critic_loss, _), (actor_loss, _) = (jax.jit(critic)(), jax.jit(actor)()) if jit else (critic(), actor())
    eps = np.asarray(jax.random.normal(key, (B, A)), np.float64)
    mean, log_std = npo.gaussian_actor(clamped, s2)
    a2, logp2 = npo.tanh_gaussian(mean, log_std, eps)
    y = r + GAMMA * (1 - d) * (npo.critics(p["twin_targ"], s2, a2).min(axis=0) - alpha * logp2)
    np.testing.assert_allclose(critic_loss, ((npo.critics(p["twin"], s, a) - y) ** 2).mean(axis=1).sum(), rtol=1e-4)
    mean, log_std = npo.gaussian_actor(clamped, s)
    a1, logp1 = npo.tanh_gaussian(mean, log_std, eps)
    np.testing.assert_allclose(actor_loss, np.mean(alpha * logp1 - npo.critics(p["twin"], s, a1).min(axis=0)), rtol=1e-4)
