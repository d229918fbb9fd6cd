"""The table of every env id jaxpcc registers with gymnasium, and its registration.

Each `EnvEntry` names a factory by "module:function" (gymnasium imports it only when the env is
made, so importing this module loads no simulator), the reference's episode length, and static
metadata for the catalog (observation and action shapes, a one-line description), which
`tests/test_envs.py` checks against the built envs.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium

from jaxpcc.envs.dmc_suite_table import CONTROL_STEPS, SUITE_TASKS


@dataclasses.dataclass(frozen=True)
class EnvEntry:
    """One registered id: how to build it and what it looks like."""

    id: str
    entry_point: str
    max_episode_steps: int
    obs_shape: tuple[int, ...]
    action_shape: tuple[int, ...]
    description: str
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def is_image(self) -> bool:
        return len(self.obs_shape) == 3


def _pendulum_entries() -> list[EnvEntry]:
    classic = "gymnasium.envs.classic_control.pendulum:PendulumEnv"
    mod = "jaxpcc.envs.pendulum"
    return [
        EnvEntry("Pendulum-v0", classic, 200, (3,), (1,), "pendulum swing-up, obs [cos, sin, velocity] (gym's Pendulum-v0)"),
        EnvEntry("pendulum-v0", classic, 200, (3,), (1,), "pendulum swing-up, full state (reference alias of Pendulum-v0)"),
        EnvEntry("pendulum-p-v0", f"{mod}:p", 200, (2,), (1,), "pendulum, angle only [cos, sin]"),
        EnvEntry("pendulum-v-v0", f"{mod}:v", 200, (1,), (1,), "pendulum, angular velocity only"),
        EnvEntry("pendulum-va-v0", f"{mod}:va", 200, (2,), (1,), "pendulum, [velocity, previous torque] (the paper's pendulum-v)"),
        EnvEntry("pendulum-p-concat5-v0", f"{mod}:p_concat5", 200, (10,), (1,), "pendulum-p, last 5 observations"),
        EnvEntry("pendulum-v-concat10-v0", f"{mod}:v_concat10", 200, (10,), (1,), "pendulum-v, last 10 observations"),
        EnvEntry("pendulum-va-concat10-v0", f"{mod}:va_concat10", 200, (20,), (1,), "pendulum-va, last 10 observations"),
    ]


def _dmc_entries() -> list[EnvEntry]:
    mod = "jaxpcc.envs.dmc_variants"
    entries = []
    cartpole_variants = [
        ("", "state", (5,), "full state [x, cos, sin, x_dot, angle_dot]"),
        ("-p", "position_only", (3,), "position only (velocity removed)"),
        ("-va", "velocity_and_action", (3,), "velocity plus previous action (the paper's -v)"),
        ("-p-concat5", "position_only_concat5", (15,), "position only, last 5 observations"),
        ("-va-concat10", "velocity_and_action_concat10", (30,), "velocity plus previous action, last 10 observations"),
    ]
    swingup_aliases = [
        ("-mdp", "state", (5,), "full state (alias of dmc-cartpole-swingup-v0)"),
        ("-pomdp", "position_only", (3,), "position only (alias of dmc-cartpole-swingup-p-v0)"),
        ("-mdp-concat5", "position_only_concat5", (15,), "position only, last 5 observations (reference's name)"),
    ]
    for task, variants in (("balance", cartpole_variants), ("swingup", cartpole_variants + swingup_aliases)):
        for suffix, factory, shape, what in variants:
            entries.append(
                EnvEntry(
                    f"dmc-cartpole-{task}{suffix}-v0", f"{mod}:{factory}", 200, shape, (1,),
                    f"dm_control cartpole {task}, {what}", {"domain": "cartpole", "task": task},
                )
            )
    for env_id, domain, task, shape in (
        ("dmc-cart2pole-v0", "cartpole", "two_poles", (8,)),
        ("dmc-cart3pole-v0", "cartpole", "three_poles", (11,)),
    ):
        entries.append(
            EnvEntry(env_id, f"{mod}:state", 200, shape, (1,), f"dm_control cartpole {task}, full state",
                     {"domain": domain, "task": task})
        )
    for domain, task, action in (("cartpole", "balance", (1,)), ("walker", "walk", (6,))):
        entries.append(
            EnvEntry(
                f"dmc-{domain}-{task}-mdp-img-concat3-v0", f"{mod}:image_concat3", 500, (3, 84, 84), action,
                f"dm_control {domain} {task} from pixels: 3 stacked 84x84 grayscale uint8 frames, frame skip 2",
                {"domain": domain, "task": task},
            )
        )
    taken = {e.id for e in entries}
    for (domain, task), (obs_dim, act_dim) in SUITE_TASKS.items():
        env_id = f"dmc-{domain}-{task}-v0"
        if env_id not in taken:
            entries.append(
                EnvEntry(env_id, f"{mod}:state", CONTROL_STEPS // 5, (obs_dim,), (act_dim,),
                         f"dm_control {domain} {task}, full state, frame skip 5", {"domain": domain, "task": task})
            )
    return entries


def _other_entries() -> list[EnvEntry]:
    reacher, maze, bumps, bullet = (
        "jaxpcc.envs.reacher", "jaxpcc.envs.water_maze", "jaxpcc.envs.bumps", "jaxpcc.envs.pybullet_tasks"
    )
    entries = [
        EnvEntry("reacher-mdp-v0", f"{reacher}:mdp", 50, (11,), (2,), "MuJoCo reacher, full state"),
        EnvEntry("reacher-pomdp-v0", f"{reacher}:pomdp_v0", 50, (13,), (2,), "reacher, goal shown only in the first observation"),
        EnvEntry("reacher-pomdp-v1", f"{reacher}:pomdp_v1", 50, (9,), (2,), "reacher-pomdp-v0 without joint velocities and action slots"),
        EnvEntry("water-maze-simple-mdp-v0", f"{maze}:simple_mdp", 200, (5,), (2,), "water maze, platform position observed"),
        EnvEntry("water-maze-simple-pomdp-v0", f"{maze}:simple_pomdp", 200, (3,), (2,), "water maze, hidden platform (the paper's watermaze)"),
        EnvEntry("water-maze-simple-mdp-concat10-v0", f"{maze}:simple_pomdp_concat10", 200, (30,), (2,), "water-maze-simple-pomdp, last 10 observations"),
        EnvEntry("water-maze-mdp-v0", f"{maze}:mdp", 200, (5,), (2,), "older water maze (no inertia, random starts), platform observed"),
        EnvEntry("water-maze-pomdp-v0", f"{maze}:pomdp", 200, (3,), (2,), "older water maze, hidden platform"),
        EnvEntry("water-maze-dense-mdp-v0", f"{maze}:dense_mdp", 200, (5,), (2,), "older water maze, dense distance reward, platform observed"),
        EnvEntry("water-maze-dense-pomdp-v0", f"{maze}:dense_pomdp", 200, (3,), (2,), "older water maze, dense reward, hidden platform"),
        EnvEntry("pbc-bumps-normal-pomdp-v0", f"{bumps}:normal_pomdp", 50, (2,), (2,), "PyBullet finger must push the right bump, feeling both"),
        EnvEntry("pbc-bumps-normal-test-v0", f"{bumps}:normal_test", 50, (2,), (2,), "bumps with 3 layouts and -1 for a wrong push (push-r-bump)"),
        EnvEntry("halfcheetah-p-v0", f"{bullet}:halfcheetah_p", 1000, (20,), (6,), "PyBullet half cheetah without joint speeds"),
        EnvEntry("halfcheetah-v-v0", f"{bullet}:halfcheetah_v", 1000, (20,), (6,), "PyBullet half cheetah without joint positions"),
        EnvEntry("ant-p-v0", f"{bullet}:ant_p", 1000, (20,), (8,), "PyBullet ant without joint speeds"),
    ]
    locomotion = {
        "HalfCheetahBulletEnv-v0": ("HalfCheetahBulletEnv", (26,), (6,)),
        "AntBulletEnv-v0": ("AntBulletEnv", (28,), (8,)),
        "HopperBulletEnv-v0": ("HopperBulletEnv", (15,), (3,)),
        "Walker2DBulletEnv-v0": ("Walker2DBulletEnv", (22,), (6,)),
    }
    for env_id, (cls, obs, act) in locomotion.items():
        entries.append(
            EnvEntry(env_id, f"{bullet}:locomotion", 1000, obs, act, f"PyBullet {cls[:-len('BulletEnv')]} locomotion",
                     {"class_name": cls})
        )
    return entries


ENTRIES: tuple[EnvEntry, ...] = tuple(_pendulum_entries() + _dmc_entries() + _other_entries())
ENTRY_BY_ID: dict[str, EnvEntry] = {e.id: e for e in ENTRIES}
assert len(ENTRY_BY_ID) == len(ENTRIES), "duplicate env ids"


def register_all() -> None:
    """Registers every entry not registered yet (idempotent)."""
    for entry in ENTRIES:
        if entry.id not in gymnasium.registry:
            gymnasium.register(
                id=entry.id,
                entry_point=entry.entry_point,
                max_episode_steps=entry.max_episode_steps,
                kwargs=dict(entry.kwargs),
            )


register_all()
