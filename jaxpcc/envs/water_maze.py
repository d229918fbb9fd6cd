"""The reference's Morris water mazes: a point in the unit disc looking for a hidden platform.

`WaterMazeSimpleEnv` (`water-maze-simple-*`, the one in the paper):
  * The point starts at the centre with zero velocity; the platform (radius 0.3) is centred at
    distance 0.7 from the origin at an angle ~ U(0, 2 pi) drawn at every reset.
  * Action: a 2-D acceleration in [-0.03, 0.03]^2. v <- clip(v + a, -0.1, 0.1); p <- p + v; if the
    point is not strictly inside the disc the move is undone and v <- 0.
  * Reward 1 on each step ending inside the platform, else 0. After every 5th rewarded step since
    the last teleport (cumulative, not consecutive: the reference's counter survives leaving the
    platform) the point is teleported to the centre with zero velocity; that step's observation
    shows (0, 0) with the inside flag 1 and `info["final_pos"]` holds the pre-teleport position.
  * Observation: [x, y, inside flag, platform x, platform y]; the POMDP keeps [x, y, inside flag].
    Never terminates; 200 steps by the registered time limit.

`WaterMazeEnv` (`water-maze-*` and `water-maze-dense-*`, older variants the reference registers):
no velocity; the action (declared in [-0.2, 0.2]) is multiplied by 0.2 again before it moves the
point (a reference quirk kept here, so a full action moves 0.04). Point and platform start at
(r cos t, r sin t) with r, t ~ U(0, 1), U(0, 2 pi), redrawn until the platform (radius 0.3) lies
inside the disc and the point outside the platform; a teleport moves the point to a fresh random
spot outside the platform. The dense variant has platform radius 0.2, reward -|p - c|, and (quirk)
its inside flag is always 0.
"""

from __future__ import annotations

from typing import Any, Optional

import gymnasium
import numpy as np
from gymnasium import spaces

from jaxpcc.envs.wrappers import ConcatObs, FilterObsByIndex

WORLD_RADIUS = 1.0
TELEPORT_EVERY = 5
POMDP_INDICES = (0, 1, 2)
RENDER_SIZE = 256


def _check_render_mode(render_mode: Optional[str]) -> Optional[str]:
    if render_mode not in (None, "rgb_array"):
        raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
    return render_mode


def draw_maze(position: np.ndarray, platform_center: np.ndarray, platform_radius: float) -> np.ndarray:
    """A top view [RENDER_SIZE, RENDER_SIZE, 3] uint8: pool blue, platform green, the point red."""
    coords = (np.arange(RENDER_SIZE) + 0.5) / RENDER_SIZE * 2.2 - 1.1
    x, y = np.meshgrid(coords, -coords)  # image rows go down, y goes up
    image = np.full((RENDER_SIZE, RENDER_SIZE, 3), 255, np.uint8)
    image[x**2 + y**2 < WORLD_RADIUS**2] = (150, 200, 255)
    image[(x - platform_center[0]) ** 2 + (y - platform_center[1]) ** 2 < platform_radius**2] = (90, 200, 90)
    image[(x - position[0]) ** 2 + (y - position[1]) ** 2 < 0.04**2] = (220, 30, 30)
    return image


def _inside(point: np.ndarray, centre: np.ndarray, radius: float) -> bool:
    return bool(np.linalg.norm(point - centre) < radius)


class WaterMazeSimpleEnv(gymnasium.Env):
    """The paper's water maze (see the module docstring).

    `reset(options={"platform_angle": theta})` fixes the platform angle (for plots and tests).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}
    max_acceleration = 0.03
    max_speed = 0.1
    platform_radius = 0.3
    platform_distance = 0.7

    def __init__(self, render_mode: Optional[str] = None):
        self.render_mode = _check_render_mode(render_mode)
        self.action_space = spaces.Box(-self.max_acceleration, self.max_acceleration, (2,), np.float32)
        self.observation_space = spaces.Box(-1.0, 1.0, (5,), np.float32)
        self.position = np.zeros(2)
        self.velocity = np.zeros(2)
        self.platform_center = np.array([self.platform_distance, 0.0])
        self.inside_platform = 0.0
        self.steps_in_platform = 0

    def _obs(self) -> np.ndarray:
        return np.array([*self.position, self.inside_platform, *self.platform_center], np.float32)

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict[str, Any]] = None):
        super().reset(seed=seed)
        angle = 2 * np.pi * self.np_random.random()
        if options and options.get("platform_angle") is not None:
            angle = float(options["platform_angle"])
        self.platform_center = self.platform_distance * np.array([np.cos(angle), np.sin(angle)])
        self.position = np.zeros(2)
        self.velocity = np.zeros(2)
        self.inside_platform = 0.0
        self.steps_in_platform = 0
        return self._obs(), {}

    def step(self, action):
        acceleration = np.asarray(action, np.float64).reshape(2)
        previous = self.position.copy()
        self.velocity = np.clip(self.velocity + acceleration, -self.max_speed, self.max_speed)
        self.position = self.position + self.velocity
        if not _inside(self.position, np.zeros(2), WORLD_RADIUS):
            self.position = previous
            self.velocity = np.zeros(2)

        reward, self.inside_platform = 0.0, 0.0
        if _inside(self.position, self.platform_center, self.platform_radius):
            reward, self.inside_platform = 1.0, 1.0
            self.steps_in_platform += 1

        info: dict[str, Any] = {}
        if reward == 1.0 and self.steps_in_platform % TELEPORT_EVERY == 0:
            info["final_pos"] = self.position.copy()
            self.position = np.zeros(2)
            self.velocity = np.zeros(2)
            self.steps_in_platform = 0
        return self._obs(), reward, False, False, info

    def render(self):
        if self.render_mode == "rgb_array":
            return draw_maze(self.position, self.platform_center, self.platform_radius)
        return None


class WaterMazeEnv(gymnasium.Env):
    """The older water mazes, sparse (`dense=False`) or dense (see the module docstring)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}
    max_action = 0.2

    def __init__(self, dense: bool = False, render_mode: Optional[str] = None):
        self.render_mode = _check_render_mode(render_mode)
        self.dense = bool(dense)
        self.platform_radius = 0.2 if self.dense else 0.3
        self.action_space = spaces.Box(-self.max_action, self.max_action, (2,), np.float32)
        self.observation_space = spaces.Box(-1.0, 1.0, (5,), np.float32)
        self.position = np.zeros(2)
        self.platform_center = np.zeros(2)
        self.inside_platform = 0.0
        self.steps_in_platform = 0

    def _random_point(self) -> np.ndarray:
        angle, radius = 2 * np.pi * self.np_random.random(), self.np_random.random()
        return radius * np.array([np.cos(angle), np.sin(angle)])

    def _random_start(self) -> np.ndarray:
        while True:
            point = self._random_point()
            if not _inside(point, self.platform_center, self.platform_radius):
                return point

    def _obs(self) -> np.ndarray:
        return np.array([*self.position, self.inside_platform, *self.platform_center], np.float32)

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict[str, Any]] = None):
        super().reset(seed=seed)
        self.inside_platform = 0.0
        self.steps_in_platform = 0
        while True:
            position, centre = self._random_point(), self._random_point()
            platform_in_world = WORLD_RADIUS > np.linalg.norm(centre) + self.platform_radius
            if platform_in_world and not _inside(position, centre, self.platform_radius):
                break
        self.position, self.platform_center = position, centre
        return self._obs(), {}

    def step(self, action):
        move = np.asarray(action, np.float64).reshape(2) * self.max_action
        previous = self.position.copy()
        self.position = self.position + move
        if not _inside(self.position, np.zeros(2), WORLD_RADIUS):
            self.position = previous

        inside = _inside(self.position, self.platform_center, self.platform_radius)
        if self.dense:
            reward = -float(np.linalg.norm(self.position - self.platform_center))
        else:
            reward = 1.0 if inside else 0.0
            self.inside_platform = 1.0 if inside else 0.0
        if inside:
            self.steps_in_platform += 1

        info: dict[str, Any] = {}
        if inside and self.steps_in_platform % TELEPORT_EVERY == 0:
            info["final_pos"] = self.position.copy()
            self.position = self._random_start()
            self.steps_in_platform = 0
        return self._obs(), reward, False, False, info

    def render(self):
        if self.render_mode == "rgb_array":
            return draw_maze(self.position, self.platform_center, self.platform_radius)
        return None


def simple_mdp(render_mode: Optional[str] = None) -> gymnasium.Env:
    return WaterMazeSimpleEnv(render_mode=render_mode)


def simple_pomdp(render_mode: Optional[str] = None) -> gymnasium.Env:
    return FilterObsByIndex(simple_mdp(render_mode), POMDP_INDICES)


def simple_pomdp_concat10(render_mode: Optional[str] = None) -> gymnasium.Env:
    """The reference's `water-maze-simple-mdp-concat10-v0`: despite its name, ConcatObs(10) of the POMDP."""
    return ConcatObs(simple_pomdp(render_mode), 10)


def mdp(render_mode: Optional[str] = None) -> gymnasium.Env:
    return WaterMazeEnv(dense=False, render_mode=render_mode)


def pomdp(render_mode: Optional[str] = None) -> gymnasium.Env:
    return FilterObsByIndex(mdp(render_mode), POMDP_INDICES)


def dense_mdp(render_mode: Optional[str] = None) -> gymnasium.Env:
    return WaterMazeEnv(dense=True, render_mode=render_mode)


def dense_pomdp(render_mode: Optional[str] = None) -> gymnasium.Env:
    return FilterObsByIndex(dense_mdp(render_mode), POMDP_INDICES)
