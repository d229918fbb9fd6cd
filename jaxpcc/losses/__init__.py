"""Pure loss functions: (params, frozen inputs, batch, key, hyper-parameters) -> (loss, metrics)."""

from jaxpcc.losses import common, ddpg, sac

__all__ = ["common", "ddpg", "sac"]
