"""Recurrent agents: the critic loss against NumPy, padding and masks, summary pull-backs, acting, targets."""

import functools

import gin
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import numpy_oracle as npo
from jaxpcc.agents import RECURRENT_ALGOS, make_agent
from jaxpcc.agents.ddpg_family import state as ddpg_state
from jaxpcc.agents.sac_family import state as sac_state
from jaxpcc.agents import recurrent as rec
from jaxpcc.losses import ddpg as ddpg_losses
from jaxpcc.types import SequenceBatch
from recurrent_oracle import numpy_rnn

O, A, H = 2, 1, 4


@pytest.fixture
def tiny():
    """A 1-layer LSTM of 4 units and heads of one 5-unit layer (small programs compile fast)."""
    gin.parse_config("Summarizer.hidden_dim = 4\nSummarizer.num_layers = 1\nmake_MLP.hidden_dimensions = (5,)")


def episodes_batch(lengths, pad_to, rng, garbage=False):
    """A batch of episodes of the given lengths padded to `pad_to` steps (zeros, or garbage)."""
    b = len(lengths)
    obs = rng.normal(size=(b, pad_to + 1, O)).astype(np.float32)
    action = rng.uniform(-1, 1, (b, pad_to, A)).astype(np.float32)
    reward = rng.normal(size=(b, pad_to)).astype(np.float32)
    done = np.zeros((b, pad_to), np.float32)
    mask = (np.arange(pad_to)[None] < np.array(lengths)[:, None]).astype(np.float32)
    for i, n in enumerate(lengths):
        done[i, n - 1] = float(i == 0)  # the first episode terminates, the others are cut off
        fill = (lambda x: rng.normal(size=x.shape) * 7) if garbage else np.zeros_like
        obs[i, n + 1 :], action[i, n:], reward[i, n:], done[i, n:] = (
            fill(obs[i, n + 1 :]), fill(action[i, n:]), fill(reward[i, n:]), fill(done[i, n:])
        )
    return SequenceBatch(obs, action, reward, done, mask)


def cut(batch: SequenceBatch, steps: int) -> SequenceBatch:
    return SequenceBatch(batch.obs[:, : steps + 1], batch.action[:, :steps], batch.reward[:, :steps],
                         batch.done[:, :steps], batch.mask[:, :steps])


def perturbed_targets(state):
    """Targets different from the online networks, so a loss using the wrong one shows."""
    shift = lambda tree: jax.tree_util.tree_map(lambda x: x * 0.8 + 0.03, tree)
    fields = {k: shift(getattr(state, k)) for k in ("target_actor", "target_critic") if hasattr(state, k)}
    return state.replace(**fields)


def test_rdpg_critic_loss_matches_numpy(tiny):
    gin.parse_config("Summarizer.num_layers = 2")  # stacked layers, as the reference
    agent = make_agent("rdpg", O, A)
    state = perturbed_targets(agent.init(jax.random.PRNGKey(0)))
    batch = episodes_batch([3, 5, 2], 5, np.random.default_rng(0))
    p = jax.device_get(state)
    member = lambda tree: jax.tree_util.tree_map(lambda x: np.asarray(x)[0], tree)

    h_critic = numpy_rnn(member(p.critic["summarizer"]), batch.obs, "lstm", 2)
    h_target_critic = numpy_rnn(member(p.target_critic["summarizer"]), batch.obs, "lstm", 2)
    h_target_actor = numpy_rnn(p.target_actor["summarizer"], batch.obs, "lstm", 2)
    next_action = np.tanh(npo.mlp(p.target_actor["head"]["params"]["MLP_0"], h_target_actor[:, 1:], 2))
    critic = lambda params, h, a: npo.mlp(member(params)["params"]["MLP_0"], np.concatenate([h, a], -1), 2)[..., 0]
    y = batch.reward + 0.99 * (1 - batch.done) * critic(p.target_critic["head"], h_target_critic[:, 1:], next_action)
    q = critic(p.critic["head"], h_critic[:, :-1], batch.action)
    expected = np.sum(batch.mask * (q - y) ** 2) / np.sum(batch.mask)

    _, metrics = agent.update(state, jax.device_put(batch))
    np.testing.assert_allclose(metrics["critic/q1_loss"], expected, rtol=1e-5)
    np.testing.assert_allclose(metrics["critic/q1_pred"], np.sum(batch.mask * q) / np.sum(batch.mask), rtol=1e-5)


def _rdpg_losses(critic, actor, state, batch, config):
    """RDPG's critic and actor losses as functions of the online {summarizer, head} pairs,
    assembled from the same pieces as `ddpg_family.update.update_recurrent` (one loss each, no optimizer)."""
    cfg = config.summarizer
    actor_head, critic_head = ddpg_state.recurrent_heads(config)
    fns = dict(actor_fn=functools.partial(rec.actor_on_summary, actor_head),
               critic_fn=functools.partial(rec.critics_on_summary, critic_head), mask=batch.mask)
    h_critic = rec.summarize_ensemble(cfg, critic["summarizer"], batch)
    critic_loss, _ = ddpg_losses.critic_loss(
        rec.on_summary(critic["head"], rec.current(h_critic)),
        rec.on_summary(state.target_critic["head"],
                       rec.following(rec.summarize_ensemble(cfg, state.target_critic["summarizer"], batch))),
        rec.on_summary(state.target_actor["head"],
                       rec.following(rec.summarize(cfg, state.target_actor["summarizer"], batch))),
        rec.loss_batch(batch), None, gamma=0.99, **fns)
    actor_loss, _ = ddpg_losses.actor_loss(
        rec.on_summary(actor["head"], rec.current(rec.summarize(cfg, actor["summarizer"], batch))),
        rec.on_summary(critic["head"], jax.lax.stop_gradient(rec.current(h_critic))),
        rec.loss_batch(batch), **fns)
    return critic_loss + actor_loss


def test_padded_batch_equals_unpadded_episodes(tiny):
    """Loss and gradients of a padded batch (garbage in the padding) equal the length-weighted
    mean over the episodes run one by one without any padding."""
    agent = make_agent("rdpg", O, A)
    state = perturbed_targets(agent.init(jax.random.PRNGKey(1)))
    lengths = [3, 6]
    padded = episodes_batch(lengths, 8, np.random.default_rng(1), garbage=True)
    loss_and_grads = jax.jit(jax.value_and_grad(_rdpg_losses, argnums=(0, 1)), static_argnums=4)
    loss, grads = loss_and_grads(state.critic, state.actor, state, padded, agent.config)

    total = sum(lengths)
    expected_loss, expected_grads = 0.0, None
    for i, n in enumerate(lengths):
        one = SequenceBatch(padded.obs[i : i + 1, : n + 1], padded.action[i : i + 1, :n],
                            padded.reward[i : i + 1, :n], padded.done[i : i + 1, :n], padded.mask[i : i + 1, :n])
        l_i, g_i = loss_and_grads(state.critic, state.actor, state, one, agent.config)
        g_i = jax.tree_util.tree_map(lambda g: g * n / total, g_i)
        expected_loss += float(l_i) * n / total
        expected_grads = g_i if expected_grads is None else jax.tree_util.tree_map(jnp.add, expected_grads, g_i)
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-5)
    for a, b in zip(jax.tree_util.tree_leaves(grads), jax.tree_util.tree_leaves(expected_grads)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("algo", ["rdpg", "rtd3", "rsac", "rsac_s"])
def test_update_ignores_what_lies_in_the_padding(tiny, algo):
    """Zero and garbage padding give the same update, metrics included (the masked
    temperature loss too: the reference's unmasked mean would differ here). The agent's own
    `update` runs; RTD3 from an odd step, so that its delayed actor step is part of it. (The
    normalisation of the masked means is checked against the reference's own numbers on padded
    batches by tests/test_golden.py.)"""
    agent = make_agent(algo, O, A)
    start = agent.init(jax.random.PRNGKey(5))
    start = start.replace(step=jnp.asarray(getattr(agent.config, "policy_delay", 1) - 1, start.step.dtype))
    assert algo in RECURRENT_ALGOS
    clean = episodes_batch([3, 6, 2], 8, np.random.default_rng(4))
    dirty = episodes_batch([3, 6, 2], 8, np.random.default_rng(4), garbage=True)
    dirty = dirty._replace(obs=np.where(np.arange(9)[None, :, None] <= np.array([3, 6, 2])[:, None, None],
                                        clean.obs, dirty.obs))
    for f in ("action", "reward", "done"):
        keep = clean.mask.reshape(clean.mask.shape + (1,) * (getattr(clean, f).ndim - 2)) > 0
        dirty = dirty._replace(**{f: np.where(keep, getattr(clean, f), getattr(dirty, f))})
    new_clean, m_clean = agent.update(jax.tree.map(jnp.copy, start), jax.device_put(clean))  # update donates its state
    new_dirty, m_dirty = agent.update(jax.tree.map(jnp.copy, start), jax.device_put(dirty))
    assert set(m_clean) >= set(agent.metric_names)
    if hasattr(start, "target_actor"):  # rdpg, rtd3: the actor stepped and the targets moved
        assert not np.allclose(new_clean.target_actor["head"]["params"]["MLP_0"]["TorchLinear_0"]["kernel"],
                               start.target_actor["head"]["params"]["MLP_0"]["TorchLinear_0"]["kernel"])
    for k in m_clean:
        np.testing.assert_allclose(m_clean[k], m_dirty[k], rtol=1e-5, atol=1e-6, err_msg=k)
    for a, b in zip(jax.tree_util.tree_leaves(new_clean), jax.tree_util.tree_leaves(new_dirty)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_summary_pullback_equals_direct_gradient(tiny):
    """One forward pass + the pull-back of d loss / d summary = the gradient through the scan."""
    agent = make_agent("rsac", O, A)
    state = agent.init(jax.random.PRNGKey(6))
    batch = jax.device_put(episodes_batch([4, 2], 5, np.random.default_rng(6)))
    cfg = agent.config.summarizer
    head_net = sac_state.recurrent_heads(agent.config)[1]
    loss_on = lambda head, h: jnp.sum(jnp.sin(rec.critics_on_summary(head_net, rec.on_summary(head, h), None,
                                                                     batch.action)) * batch.mask)
    direct = jax.grad(lambda p: loss_on(state.critic["head"],
                                        rec.current(rec.summarize_ensemble(cfg, p, batch))))(state.critic["summarizer"])
    h, pullback = rec.summary_with_pullback(lambda p: rec.summarize_ensemble(cfg, p, batch), state.critic["summarizer"])
    via_pullback = pullback(jax.grad(loss_on, argnums=1)(state.critic["head"], rec.current(h)))
    for a, b in zip(jax.tree_util.tree_leaves(direct), jax.tree_util.tree_leaves(via_pullback)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("algo", ["rtd3", "rsac_s"])
def test_step_by_step_acting_equals_the_summary_over_the_sequence(tiny, algo):
    agent = make_agent(algo, O, A)
    state = agent.init(jax.random.PRNGKey(7))
    obs = np.random.default_rng(7).normal(size=(6, O)).astype(np.float32)
    carry, actions = agent.initial_carry(), []
    for o in obs:
        action, carry = agent.act(state, carry, o, jax.random.PRNGKey(0), deterministic=True)
        actions.append(action)
    params = state.actor["summarizer"] if algo == "rtd3" else state.summarizer
    summary, _ = rec.summarizer_net(agent.config.summarizer).apply(params, obs)
    if algo == "rtd3":
        expected = ddpg_state.recurrent_heads(agent.config)[0].apply(state.actor["head"], summary)
    else:
        expected = jnp.tanh(sac_state.recurrent_heads(agent.config)[0].apply(state.actor, summary)[0])
    np.testing.assert_allclose(np.stack(actions), expected, atol=1e-6)


def test_rtd3_targets_move_only_on_delayed_actor_steps(tiny):
    agent = make_agent("rtd3", O, A)
    state = agent.init(jax.random.PRNGKey(8))
    batch = jax.device_put(episodes_batch([3, 4], 4, np.random.default_rng(8)))
    target0 = jax.device_get(state.target_critic)
    actor0 = jax.device_get(state.actor)
    state, _ = agent.update(state, batch)  # step 1: critics only
    for a, b in zip(jax.tree_util.tree_leaves(target0), jax.tree_util.tree_leaves(state.target_critic)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(jax.tree_util.tree_leaves(actor0), jax.tree_util.tree_leaves(state.actor)):
        np.testing.assert_array_equal(a, b)
    critic1 = jax.device_get(state.critic)
    state, _ = agent.update(state, batch)  # step 2: actor step, then Polyak on every target
    critic2 = jax.device_get(state.critic)
    for t0, c2, t2 in zip(*(jax.tree_util.tree_leaves(x) for x in (target0, critic2, state.target_critic))):
        np.testing.assert_allclose(t2, 0.995 * t0 + 0.005 * c2, rtol=1e-5, atol=1e-7)
    del critic1


def test_saved_policy_reloads_summarizer_and_head(tiny, tmp_path):
    from jaxpcc.persistence.policy_file import load_policy, save_policy

    agent = make_agent("rsac_s", O, A)
    trained = agent.init(jax.random.PRNGKey(9))
    save_policy(tmp_path, agent, trained, "test-env")
    fresh = load_policy(tmp_path, agent, agent.init(jax.random.PRNGKey(10)))
    obs = np.ones(O, np.float32)
    a1, _ = agent.act(trained, agent.initial_carry(), obs, jax.random.PRNGKey(0), deterministic=True)
    a2, _ = agent.act(fresh, agent.initial_carry(), obs, jax.random.PRNGKey(0), deterministic=True)
    np.testing.assert_array_equal(a1, a2)


@pytest.mark.parametrize("recurrent_type", ["lstm", "gru"])
def test_ensemble_summaries_equal_each_member_with_burn_in(recurrent_type):
    """`summarize_ensemble` (the stacked LSTM, or vmap for a GRU) equals `summarize` member by member,
    a burn-in prefix with missing steps included; the prefix passes no gradient."""
    cfg = rec.SummarizerConfig(recurrent_type=recurrent_type, num_layers=2, hidden_dim=6)
    rng = np.random.default_rng(5)
    batch = SequenceBatch(
        obs=rng.normal(size=(3, 5, O)).astype(np.float32), action=None, reward=None, done=None, mask=None,
        burn_in_obs=rng.normal(size=(3, 4, O)).astype(np.float32),
        burn_in_mask=np.array([[1, 1, 1, 1], [0, 0, 1, 1], [0, 0, 0, 0]], np.float32),
    )
    # Each call is one jitted program (run eagerly, every scan and op would compile on its own).
    summarize_ensemble, summarize = (jax.jit(f, static_argnums=0) for f in (rec.summarize_ensemble, rec.summarize))
    params = jax.jit(rec.init_summarizer, static_argnums=(0, 2, 3))(cfg, jax.random.PRNGKey(0), O, 3)
    together = summarize_ensemble(cfg, params, batch)
    assert together.shape == (3, 3, 5, 6)
    for e in range(3):
        member = jax.tree.map(lambda x: x[e], params)
        np.testing.assert_allclose(together[e], summarize(cfg, member, batch), atol=1e-6)
    without_prefix = summarize_ensemble(cfg, params, batch._replace(burn_in_obs=None, burn_in_mask=None))
    np.testing.assert_allclose(together[:, 2], without_prefix[:, 2], atol=1e-6)  # an empty prefix is a zero start
    assert float(jnp.abs(together[:, 0] - without_prefix[:, 0]).max()) > 1e-3
    # Gradients flow into the summarizers through the sequence, never through the burn-in prefix.
    grad_obs = jax.jit(jax.grad(lambda b: jnp.sum(rec.summarize_ensemble(cfg, params, b))))(batch)
    np.testing.assert_array_equal(grad_obs.burn_in_obs, 0.0)
    assert float(jnp.abs(grad_obs.obs).max()) > 0
