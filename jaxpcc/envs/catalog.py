"""A cheap, static listing of the env ids jaxpcc knows (for `--list-envs`)."""

from __future__ import annotations

import dataclasses

from jaxpcc.envs.domains import ENTRIES


@dataclasses.dataclass(frozen=True)
class EnvInfo:
    """What a user needs to pick an env: its id, what it is, and its spaces' shapes."""

    id: str
    description: str
    obs_shape: tuple[int, ...]
    action_shape: tuple[int, ...]
    is_image: bool
    max_episode_steps: int


def describe_envs() -> list[EnvInfo]:
    """Every jaxpcc-registered id (custom domains, the reference's gymnasium and PyBullet ids), sorted.

    Static metadata: nothing is built, so this is instant; a test builds each env and checks it.
    """
    infos = [
        EnvInfo(e.id, e.description, e.obs_shape, e.action_shape, e.is_image, e.max_episode_steps)
        for e in ENTRIES
    ]
    return sorted(infos, key=lambda info: info.id.lower())
