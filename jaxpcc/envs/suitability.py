"""Which gymnasium envs jaxpcc can train, and the reason when it cannot.

jaxpcc's agents output a bounded continuous action vector (squashed into [-1, 1], rescaled to
the env's box) and read either a flat vector (every MLP algorithm) or a (C, H, W) uint8 image
(the image algorithms). Envs outside that are refused before anything is built from them.
"""

from __future__ import annotations

import gymnasium
import numpy as np


class UnsuitableEnvError(ValueError):
    """An env whose spaces no jaxpcc agent can act in or read."""


def is_image_space(space: gymnasium.Space) -> bool:
    return isinstance(space, gymnasium.spaces.Box) and len(space.shape) == 3 and space.dtype == np.uint8


def check_spaces(env_id: str, observation_space: gymnasium.Space, action_space: gymnasium.Space, image_algo: bool) -> None:
    """Raises UnsuitableEnvError saying why `env_id` cannot be trained by a (non-)image algorithm."""
    if not isinstance(action_space, gymnasium.spaces.Box):
        raise UnsuitableEnvError(
            f"'{env_id}' has a {type(action_space).__name__} action space; jaxpcc's algorithms need continuous (Box) actions"
        )
    if len(action_space.shape) != 1:
        raise UnsuitableEnvError(f"'{env_id}' has actions of shape {action_space.shape}; jaxpcc needs a flat action vector")
    if not (np.all(np.isfinite(action_space.low)) and np.all(np.isfinite(action_space.high))):
        raise UnsuitableEnvError(
            f"'{env_id}' has unbounded actions; jaxpcc's policies squash actions into a box, so every bound must be finite"
        )
    if not isinstance(observation_space, gymnasium.spaces.Box):
        raise UnsuitableEnvError(
            f"'{env_id}' has a {type(observation_space).__name__} observation space; jaxpcc needs a Box "
            "(flatten it first, e.g. with gymnasium.wrappers.FlattenObservation)"
        )
    image = is_image_space(observation_space)
    if image and not image_algo:
        raise UnsuitableEnvError(
            f"'{env_id}' has image observations {observation_space.shape}; use an image algorithm (csac) or a vector env"
        )
    if image_algo and not image:
        raise UnsuitableEnvError(
            f"'{env_id}' has observations of shape {observation_space.shape} ({observation_space.dtype}); "
            "image algorithms need (C, H, W) uint8 images"
        )
