"""Flax linen modules only: MLPs, actors, ensemble critics, the conv encoder (no optimizer, RNG or env knowledge)."""

from jaxpcc.networks.mlp import MLP, TorchLinear, torch_uniform
from jaxpcc.networks.actors import DeterministicActor, GaussianActor
from jaxpcc.networks.critics import Critic, EnsembleCritic, critic_ensemble
from jaxpcc.networks.encoder import ConvEncoder, TorchConv

__all__ = [
    "MLP",
    "TorchLinear",
    "torch_uniform",
    "DeterministicActor",
    "GaussianActor",
    "Critic",
    "EnsembleCritic",
    "critic_ensemble",
    "ConvEncoder",
    "TorchConv",
]
