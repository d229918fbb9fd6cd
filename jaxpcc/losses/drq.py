"""The ConvolutionalSAC (DrQ-style) critic loss: SAC's soft Bellman loss on encoder embeddings.

Reference: the reference's `ConvolutionalSAC.update_networks`; Kostrikov et al. 2020 (DrQ,
arXiv 2004.13649) for the shared encoder trained by the critic loss. It reuses
`jaxpcc.losses.sac.critic_loss` on a batch whose observations are embeddings, so the formula is
written once. The actor and temperature losses are SAC's, applied to the embeddings returned
here (gradient stopped: the actor never trains the encoder).
"""

from typing import Callable, Mapping

import chex
import jax

from jaxpcc.losses import sac
from jaxpcc.types import Batch

ApplyFn = Callable[..., jax.Array]


def critic_loss(
    params: Mapping,
    target_params: Mapping,
    actor_params,
    batch: Batch,
    key: jax.Array,
    *,
    encoder_fn: ApplyFn,
    actor_fn: ApplyFn,
    critic_fn: ApplyFn,
    alpha: jax.Array,
    gamma: float,
) -> tuple[jax.Array, dict]:
    """sum_i mean((Q_i(e, a) - y)^2) with e = enc(s), trained through both the encoder and Q_i.

    y = r + gamma * (1 - d) * (min_i Q_i^targ(e', a') - alpha * log pi(a'|e')), where
    e' = enc^targ(s') comes from the *target* encoder and a' ~ pi(.|e') from the online actor;
    no gradient flows into y. The encoder receives the summed gradient of both critics' losses,
    as the reference's shared `cnn_optimizer` step after both backward passes.

    Args:
      params: {"encoder": ..., "critic": ...}, the differentiated parameters.
      target_params: {"encoder": ..., "critic": ...}, their Polyak-averaged targets.
      actor_params: the actor's parameters (only used for a', without gradient).
      batch: obs and next_obs [B, C, H, W] float images in [0, 1] (already augmented when DrQ
        is on), action [B, A], reward [B], done [B].
      key: samples a'.
      encoder_fn: (params, images [B, C, H, W]) -> embeddings [B, D].
      actor_fn, critic_fn, alpha, gamma: as in `jaxpcc.losses.sac.critic_loss`.
    Returns:
      (loss, metrics): SAC's critic metrics plus `encoder/embedding` [B, D], e with its gradient
      stopped (a per-sample auxiliary, the actor's input).
    """
    chex.assert_rank([batch.obs, batch.next_obs], 4)
    e_tm1 = encoder_fn(params["encoder"], batch.obs)
    e_t = jax.lax.stop_gradient(encoder_fn(target_params["encoder"], batch.next_obs))
    embedded = batch._replace(obs=e_tm1, next_obs=e_t)
    loss, metrics = sac.critic_loss(
        params["critic"], target_params["critic"], actor_params, embedded, key,
        actor_fn=actor_fn, critic_fn=critic_fn, alpha=alpha, gamma=gamma,
    )
    return loss, {**metrics, "encoder/embedding": jax.lax.stop_gradient(e_tm1)}
