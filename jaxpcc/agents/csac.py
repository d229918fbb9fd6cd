"""ConvolutionalSAC ("csac"): SAC on image observations through a shared conv encoder, with DrQ.

One update, in the reference's order: the sampled uint8 images are (optionally) randomly shifted
and scaled to [0, 1]; the encoder and both critics step on the soft Bellman loss (the encoder
takes the summed gradient of both critics, the next embedding comes from the target encoder);
the actor steps on the embedding computed *before* the encoder step, with its gradient stopped
(the actor never trains the encoder), against the updated critics; log-alpha steps as in SAC;
the encoder and critic targets move by Polyak averaging.

Documented difference: the reference augments in its replay buffer; here the random shift is a
keyed function inside the jitted update, switched by the same gin flag,
`ReplayBuffer.use_aug_for_img`, which the training loop hands to this agent as `augment`.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable, Optional

import flax
import gin
import jax
import jax.numpy as jnp
import optax

from jaxpcc.agents.common import adam, apply_gradients, build_agent
from jaxpcc.agents.sac_family import update as family
from jaxpcc.agents.sac_family.settings import TemperatureSettings
from jaxpcc.agents.sac_family.state import initial_state, tanh_gaussian_action
from jaxpcc.losses import drq as drq_losses
from jaxpcc.losses.augment import random_shift, to_unit_float
from jaxpcc.networks import ConvEncoder, EnsembleCritic, GaussianActor
from jaxpcc.networks.encoder import CONV_IMPLS, default_conv_impl
from jaxpcc.types import Batch


@gin.configurable("ConvolutionalSAC", denylist=["obs_shape", "action_dim", "hidden_sizes", "augment"])
@dataclasses.dataclass(frozen=True)
class CSACConfig(TemperatureSettings):
    """ConvolutionalSAC hyper-parameters (reference defaults; gin names `ConvolutionalSAC.*`).

    Attributes:
      obs_shape: (C, H, W) of the uint8 image observations, set by the training loop.
      action_dim: |A|, set by the training loop.
      hidden_sizes: MLP widths of the actor and critics (gin: `make_MLP.hidden_dimensions`).
      embedding_dim: encoder output width.
      num_filters: channels of every conv layer (32 in the reference; smaller for tests).
      conv_impl: "im2col" or "xla", the same convolution computed two ways (see
        `jaxpcc.networks.encoder.TorchConv`); by default the backend's (`default_conv_impl`):
        im2col on the CPU, where it is ~10x faster inside `update_many`, XLA's on a GPU.
      augment: DrQ random shift of s and s' at every update (gin: `ReplayBuffer.use_aug_for_img`,
        passed in by the training loop).
      aug_pad: the largest shift in pixels (the reference's replicate padding of 4).
      gamma, lr, lr_schedule, polyak, alpha, autotune_alpha, target_entropy: as `SACConfig`;
        `lr_schedule` covers the actor and critics, not the encoder, as in the reference.
    """

    obs_shape: tuple[int, ...]
    action_dim: int
    hidden_sizes: tuple[int, ...] = (256, 256)
    embedding_dim: int = 50
    num_filters: int = 32
    conv_impl: str = dataclasses.field(default_factory=default_conv_impl)
    augment: bool = True
    aug_pad: int = 4
    gamma: float = 0.99
    lr: float = 3e-4
    lr_schedule: Optional[Callable] = None
    polyak: float = 0.995
    alpha: float = 1.0
    autotune_alpha: bool = True
    target_entropy: Optional[float] = None

    def __post_init__(self):
        if len(self.obs_shape) != 3:
            raise ValueError(f"ConvolutionalSAC needs (C, H, W) image observations, got shape {self.obs_shape}")
        self.check_temperature()
        if self.conv_impl not in CONV_IMPLS:
            raise ValueError(f"ConvolutionalSAC.conv_impl must be one of {CONV_IMPLS}, got {self.conv_impl!r}")
        if self.aug_pad < 0:
            raise ValueError(f"ConvolutionalSAC.aug_pad must be >= 0, got {self.aug_pad}")


@flax.struct.dataclass
class CSACState:
    """Everything ConvolutionalSAC learns or carries, as one immutable pytree."""

    encoder: dict
    target_encoder: dict
    actor: dict
    critic: dict
    target_critic: dict
    log_alpha: jax.Array
    encoder_opt: optax.OptState
    actor_opt: optax.OptState
    critic_opt: optax.OptState
    alpha_opt: optax.OptState
    key: jax.Array
    step: jax.Array


def networks(config: CSACConfig) -> tuple[ConvEncoder, GaussianActor, EnsembleCritic]:
    return (
        ConvEncoder(config.embedding_dim, config.num_filters, conv_impl=config.conv_impl),
        GaussianActor(config.action_dim, config.hidden_sizes),
        EnsembleCritic(2, config.hidden_sizes),
    )


def init(config: CSACConfig, key: jax.Array) -> CSACState:
    encoder_net, actor_net, critic_net = networks(config)
    key, encoder_key, actor_key, critic_key = jax.random.split(key, 4)
    encoder = encoder_net.init(encoder_key, jnp.zeros((1,) + tuple(config.obs_shape), jnp.float32))
    embedding = jnp.zeros((1, config.embedding_dim), jnp.float32)
    action = jnp.zeros((1, config.action_dim), jnp.float32)
    actor = actor_net.init(actor_key, embedding)
    critic = critic_net.init(critic_key, embedding, action)
    return initial_state(
        config, key, actor, critic, CSACState,
        encoder=encoder, target_encoder=encoder, encoder_opt=adam(config.lr).init(encoder),
    )


def act(config: CSACConfig, state: CSACState, obs: jax.Array, key: jax.Array, deterministic: bool) -> jax.Array:
    """Encoder then actor, no augmentation. obs: uint8 [C, H, W] or [N, C, H, W]."""
    encoder_net, actor_net, _ = networks(config)
    embedding = encoder_net.apply(state.encoder, to_unit_float(jnp.asarray(obs)))
    mean, log_std = actor_net.apply(state.actor, embedding)
    return tanh_gaussian_action(mean, log_std, key, deterministic)


def prepare_batch(config: CSACConfig, batch: Batch, key: jax.Array) -> Batch:
    """uint8 images [B, C, H, W] -> float ones in [0, 1], s and s' each randomly shifted when `augment`."""
    obs_tm1, obs_t = batch.obs, batch.next_obs
    if config.augment:
        key_tm1, key_t = jax.random.split(key)
        obs_tm1 = random_shift(obs_tm1, key_tm1, config.aug_pad)
        obs_t = random_shift(obs_t, key_t, config.aug_pad)
    return batch._replace(obs=to_unit_float(obs_tm1), next_obs=to_unit_float(obs_t))


def step_critic(config: CSACConfig, state: CSACState, grads: dict) -> CSACState:
    """The encoder's Adam step (no lr schedule, as the reference's) and the critics' step."""
    encoder, encoder_opt = apply_gradients(adam(config.lr), state.encoder, state.encoder_opt, grads["encoder"])
    state = family.step_critic(config, state, grads["critic"])
    return state.replace(encoder=encoder, encoder_opt=encoder_opt)


def embedded_batch(pixels: Batch, critic_metrics: dict) -> Batch:
    """The actor's batch: the embedding of s from before the encoder step, gradient stopped (the
    reference's e.detach()), as the critic loss computed it."""
    return pixels._replace(obs=critic_metrics["encoder/embedding"], next_obs=None)


def loss_view(config: CSACConfig, state: CSACState, batch: Batch, aug_key: jax.Array) -> family.SoftLossView:
    """The critic loss trains the encoder with the critics; the actor reads its embedding."""
    encoder_net, actor_net, critic_net = networks(config)
    pixels = prepare_batch(config, batch, aug_key)
    return family.SoftLossView(
        critic={"encoder": state.encoder, "critic": state.critic},
        target_critic={"encoder": state.target_encoder, "critic": state.target_critic},
        next_actor=state.actor,
        actor=state.actor,
        batch=pixels,
        actor_fn=actor_net.apply,
        critic_fn=critic_net.apply,
        critic_loss=functools.partial(drq_losses.critic_loss, encoder_fn=encoder_net.apply),
        step_critic=step_critic,
        actor_batch=functools.partial(embedded_batch, pixels),
        targets=("encoder", "critic"),
    )


def update(config: CSACConfig, state: CSACState, batch: Batch) -> tuple[CSACState, dict]:
    """One ConvolutionalSAC gradient step (encoder + critics, actor, temperature, targets)."""
    return family.update(config, state, batch, loss_view, view_keys=1)


def policy(state: CSACState) -> dict:
    """What acting needs: the encoder and the actor (the reference's cnn.pth and actor.pth)."""
    return {"encoder": state.encoder, "actor": state.actor}


def make_agent(obs_shape: tuple[int, ...], action_dim: int, hidden_sizes: tuple[int, ...], **overrides):
    """ConvolutionalSAC bound to its gin-configured hyper-parameters."""
    config = CSACConfig(
        obs_shape=tuple(int(d) for d in obs_shape), action_dim=action_dim, hidden_sizes=hidden_sizes, **overrides
    )
    return build_agent(
        "csac", config, init=init, act=act, update=update, policy=policy, metric_names=family.METRIC_NAMES
    )
