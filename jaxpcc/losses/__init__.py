"""Pure loss functions: (params, frozen inputs, batch, key, hyper-parameters) -> (loss, metrics)."""

from jaxpcc.losses import augment, common, ddpg, drq, sac

__all__ = ["augment", "common", "ddpg", "drq", "sac"]
