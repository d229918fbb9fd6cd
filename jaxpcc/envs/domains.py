"""Registers the reference's custom environment ids with gymnasium."""

import gymnasium


def _register(env_id: str, **kwargs) -> None:
    if env_id not in gymnasium.registry:
        gymnasium.register(id=env_id, **kwargs)


# The reference's classic pendulum ids (gym 0.15): same dynamics as gymnasium's Pendulum-v1.
for _id in ("Pendulum-v0", "pendulum-v0"):
    _register(_id, entry_point="gymnasium.envs.classic_control.pendulum:PendulumEnv", max_episode_steps=200)
