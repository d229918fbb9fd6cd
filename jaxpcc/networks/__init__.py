"""Flax linen modules only: MLPs, actors, ensemble critics (no optimizer, RNG or env knowledge)."""

from jaxpcc.networks.mlp import MLP, TorchLinear, torch_uniform
from jaxpcc.networks.actors import DeterministicActor, GaussianActor
from jaxpcc.networks.critics import Critic, EnsembleCritic

__all__ = [
    "MLP",
    "TorchLinear",
    "torch_uniform",
    "DeterministicActor",
    "GaussianActor",
    "Critic",
    "EnsembleCritic",
]
