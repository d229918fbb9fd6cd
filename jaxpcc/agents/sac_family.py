"""What every SAC variant (sac, csac, rsac, rsac_s) shares: the temperature and its settings, the
recurrent variants' settings, the tanh-Gaussian action, the optimizers and the logged names. The
variants import it; none imports another.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import jax
import jax.numpy as jnp

from jaxpcc.agents.common import adam, apply_gradients
from jaxpcc.agents.recurrent import SummarizerConfig
from jaxpcc.losses import sac as sac_losses
from jaxpcc.validation import gin_name

METRIC_NAMES = {
    "critic/q1_pred": "(qfunc) Q1 pred",
    "critic/q2_pred": "(qfunc) Q2 pred",
    "critic/q1_loss": "(qfunc) Q1 loss",
    "critic/q2_loss": "(qfunc) Q2 loss",
    "actor/min_q_value": "(actor) min Q value",
    "actor/entropy": "(actor) entropy (sample)",
    "alpha/value": "(alpha) alpha",
    "alpha/loss": "(alpha) log alpha loss",
}
RECURRENT_METRIC_NAMES = {**METRIC_NAMES, "critic/q1_q2_corr": "(qfunc) Q1 Q2 corr"}


class TemperatureSettings:
    """Checks and derived values of the fields every SAC config has (polyak, alpha, target_entropy).

    Mixed into each variant's frozen config dataclass; its `__post_init__` calls `check_temperature()`.
    """

    def check_temperature(self) -> None:
        name = gin_name(self)
        if not 0.0 <= self.polyak <= 1.0:
            raise ValueError(f"{name}.polyak must lie in [0, 1], got {self.polyak}")
        if self.alpha <= 0.0:
            raise ValueError(f"{name}.alpha must be positive, got {self.alpha}")

    @property
    def entropy_target(self) -> float:
        """The temperature loss's target: -action_dim (the reference's fixed choice) unless set."""
        return -float(self.action_dim) if self.target_entropy is None else float(self.target_entropy)


@dataclasses.dataclass(frozen=True)
class RecurrentSACSettings(TemperatureSettings):
    """The recurrent SAC variants' hyper-parameters (RSAC's and RSAC-sharing's, reference defaults).

    Attributes:
      obs_dim, action_dim: set by the training loop from the env.
      hidden_sizes: MLP widths of the heads (gin: `make_MLP.hidden_dimensions`).
      summarizer: the summarizers' shape (gin: `Summarizer.*`).
      gamma, lr, polyak: discount, Adam learning rate (every network and log-alpha), target averaging.
      alpha: initial temperature (the fixed one when `autotune_alpha` is False).
      autotune_alpha: learn log-alpha towards `target_entropy`.
      target_entropy: None means -action_dim, the reference's fixed choice.
    """

    obs_dim: int
    action_dim: int
    hidden_sizes: tuple[int, ...] = (256, 256)
    summarizer: SummarizerConfig = SummarizerConfig()
    gamma: float = 0.99
    lr: float = 3e-4
    polyak: float = 0.995
    alpha: float = 1.0
    autotune_alpha: bool = True
    target_entropy: Optional[float] = None

    def __post_init__(self):
        self.check_temperature()


def tanh_gaussian_action(mean: jax.Array, log_std: jax.Array, key: jax.Array, deterministic: bool) -> jax.Array:
    """tanh(mean) when deterministic, else a tanh-Gaussian sample."""
    if deterministic:
        return jnp.tanh(mean)
    return jnp.tanh(mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape, mean.dtype))


def optimizers(config):
    """(actor/critic Adam with the optional schedule, log-alpha Adam without it)."""
    return adam(config.lr, config.lr_schedule), adam(config.lr)


def temperature_step(config, state, log_pi: jax.Array, mask: Optional[jax.Array] = None):
    """The temperature loss on the actor's log-probs; log-alpha steps only when autotuning.

    `state` is any SAC variant's state (its `log_alpha` and `alpha_opt` step). Log-alpha's Adam
    has no lr schedule. Returns (state, metrics), with `alpha/value` the temperature after the step.
    """
    grads, metrics = jax.grad(sac_losses.temperature_loss, has_aux=True)(
        state.log_alpha, log_pi, target_entropy=config.entropy_target, mask=mask
    )
    if config.autotune_alpha:
        log_alpha, alpha_opt = apply_gradients(adam(config.lr), state.log_alpha, state.alpha_opt, grads)
        state = state.replace(log_alpha=log_alpha, alpha_opt=alpha_opt)
    # as the reference logs it: `get_current_alpha()` at the end of its update
    return state, {**metrics, "alpha/value": jnp.exp(state.log_alpha)}
