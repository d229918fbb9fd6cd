"""The deterministic-policy family's networks, state, acting and policy, for transitions and sequences."""

from __future__ import annotations

import flax
import jax
import jax.numpy as jnp
import optax

from jaxpcc.agents import recurrent as rec
from jaxpcc.agents.common import adam
from jaxpcc.networks import DeterministicActor, EnsembleCritic, critic_ensemble


@flax.struct.dataclass
class DeterministicState:
    """Actor, critic ensemble, their targets and optimizer states, key, step counter.

    A recurrent agent's actor and critic are {"summarizer", "head"} (the critic's entries stacked
    on an ensemble axis). `actor_q_value` holds the last actor step's Q value, logged between
    delayed actor steps.
    """

    actor: dict
    target_actor: dict
    critic: dict
    target_critic: dict
    actor_opt: optax.OptState
    critic_opt: optax.OptState
    key: jax.Array
    step: jax.Array
    actor_q_value: jax.Array


def networks(config) -> tuple[DeterministicActor, EnsembleCritic]:
    return DeterministicActor(config.action_dim, config.hidden_sizes), EnsembleCritic(config.num_critics, config.hidden_sizes)


def recurrent_heads(config):
    """The actor head and the critic heads (member i on its own summarizer's summary)."""
    return DeterministicActor(config.action_dim, config.hidden_sizes), critic_ensemble(config.hidden_sizes, obs_axis=0)


def _initial_state(config, key: jax.Array, actor: dict, critic: dict) -> DeterministicState:
    tx = adam(config.lr, config.lr_schedule)
    return DeterministicState(
        actor=actor,
        target_actor=actor,
        critic=critic,
        target_critic=critic,
        actor_opt=tx.init(actor),
        critic_opt=tx.init(critic),
        key=key,
        step=jnp.zeros((), jnp.int32),
        actor_q_value=jnp.zeros((), jnp.float32),
    )


def init(config, key: jax.Array) -> DeterministicState:
    actor_net, critic_net = networks(config)
    key, actor_key, critic_key = jax.random.split(key, 3)
    obs = jnp.zeros((1, config.obs_dim), jnp.float32)
    action = jnp.zeros((1, config.action_dim), jnp.float32)
    return _initial_state(config, key, actor_net.init(actor_key, obs), critic_net.init(critic_key, obs, action))


def init_recurrent(config, key: jax.Array) -> DeterministicState:
    actor_head, _ = recurrent_heads(config)
    cfg, num = config.summarizer, config.num_critics
    key, k1, k2, k3, k4 = jax.random.split(key, 5)
    actor = {
        "summarizer": rec.init_summarizer(cfg, k1, config.obs_dim),
        "head": rec.init_head(actor_head, k2, cfg.hidden_dim),
    }
    critic = {
        "summarizer": rec.init_summarizer(cfg, k3, config.obs_dim, num),
        "head": rec.init_head(critic_ensemble(config.hidden_sizes, num), k4, cfg.hidden_dim, config.action_dim),
    }
    return _initial_state(config, key, actor, critic)


def _explore(config, mu: jax.Array, key: jax.Array, deterministic: bool) -> jax.Array:
    """mu, plus clipped Gaussian exploration noise unless deterministic."""
    if deterministic:
        return mu
    return jnp.clip(mu + config.action_noise * jax.random.normal(key, mu.shape, mu.dtype), -1.0, 1.0)


def act(config, state: DeterministicState, obs: jax.Array, key: jax.Array, deterministic: bool) -> jax.Array:
    """mu(s), plus clipped Gaussian exploration noise unless deterministic."""
    actor_net, _ = networks(config)
    return _explore(config, actor_net.apply(state.actor, obs), key, deterministic)


def act_recurrent(config, state: DeterministicState, carry, obs: jax.Array, key: jax.Array, deterministic: bool):
    """mu(h_t) (plus clipped Gaussian noise unless deterministic) and the new carry."""
    actor_head, _ = recurrent_heads(config)
    summary, carry = rec.step_summary(config.summarizer, state.actor["summarizer"], carry, obs)
    return _explore(config, actor_head.apply(state.actor["head"], summary), key, deterministic), carry


def policy(state: DeterministicState) -> dict:
    """What acting needs (a recurrent actor's summarizer and head together)."""
    return {"actor": state.actor}
