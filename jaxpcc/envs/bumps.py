"""The reference's "bumps" POMDPs: a compliant finger feels two hidden bumps along a rail (PyBullet).

The reference drives a UR5 arm (URDF meshes, inverse kinematics) carrying a passive "shovel" blade.
jaxpcc rebuilds only what the task needs, from primitive shapes made with `createMultiBody`:
  * a carriage on a prismatic rail along y at x = 0.6 (the arm's end effector, moving rectilinearly,
    position-controlled, 0.5 mm per physics step at 240 Hz);
  * a blade hanging from the carriage on a revolute joint about x (0.15 m to the tip, 5 mm above the
    floor, 0.02 kg, limits +-1.0472 rad), held at angle 0 by a position motor whose maximum force
    is the stiffness: a compliant finger;
  * two bumps (bump 1 red on the left, bump 2 blue on the right): a 40 mm cylinder-plus-dome
    (diameter 0.04, height 0.04), 0.1 kg, lateral friction 0.2 on a floor of friction 1.
Observation [y_g, theta]: the world y of the blade tip and minus the blade angle (positive when the
tip trails a rightward move). Action [-1, 1]^2: step-length ratio a0 (moves the carriage toward
y = +-0.4 until it has moved a0 * 0.05 or leaves +-0.38) and stiffness ratio a1 (stiffness =
0.007 + (a1 + 1) / 2 * 0.04; about 0.027 pushes a bump, less slides over it).

Deviations (documented): no arm and no IK; the 10-second wall-clock motion timeout becomes a
deterministic budget of physics steps; the start pose is set directly instead of moving there;
the bumps' reference positions are measured after a short settle. Every env owns its own PyBullet
client (`BulletClient(DIRECT)`), so several instances (train and test envs) coexist in a process;
the reference's shared default client allowed only one.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import gymnasium
import numpy as np
from gymnasium import spaces

from jaxpcc.envs.quiet import quiet_c_output

with quiet_c_output(1, 2):  # the import prints a build banner to stderr
    import pybullet
    from pybullet_utils.bullet_client import BulletClient

# Geometry and task constants (metres, radians, newton-metres), as in the reference.
WORKING_X = 0.6
Y_HALF_LENGTH = 0.4
Y_G_LIMIT = Y_HALF_LENGTH - 0.02  # the finger's usable rail: [-0.38, 0.38]
STEP_LENGTH = 0.05
LOW_STIFFNESS, HIGH_STIFFNESS = 0.007, 0.047
BUMP_DIAMETER = 0.04
BUMP_MASS = 0.1
BUMP_FRICTION = 0.2
REWARD_THRESHOLD = 0.01
DONE_THRESHOLD = 0.001
BLADE_LENGTH = 0.15
BLADE_MASS = 0.02
BLADE_LIMIT = 1.0472
TIP_CLEARANCE = 0.005
PIVOT_Z = TIP_CLEARANCE + BLADE_LENGTH
PHYSICS_HZ = 240
CARRIAGE_SPEED = 0.0005  # metres per physics step
MAX_MOVE_STEPS = 3 * int(math.ceil(STEP_LENGTH / CARRIAGE_SPEED))
SETTLE_STEPS = 10

# Link indices of the finger body.
CARRIAGE, BLADE, TIP = 0, 1, 2


class BumpsScene:
    """A PyBullet world with the floor, the finger on its rail and two bumps, in its own client."""

    def __init__(self):
        with quiet_c_output(1):
            self.client = BulletClient(connection_mode=pybullet.DIRECT)
        c = self.client
        c.setTimeStep(1.0 / PHYSICS_HZ)
        c.setGravity(0, 0, -9.8)
        floor = c.createCollisionShape(pybullet.GEOM_PLANE)
        self.floor = c.createMultiBody(baseMass=0, baseCollisionShapeIndex=floor)
        c.changeDynamics(self.floor, -1, lateralFriction=1.0)
        self.finger = self._make_finger()
        self.bumps = (self._make_bump((1, 0, 0, 1)), self._make_bump((0, 0, 1, 1)))

    def _make_finger(self) -> int:
        c = self.client
        carriage_visual = c.createVisualShape(pybullet.GEOM_BOX, halfExtents=[0.02, 0.02, 0.01], rgbaColor=[0.2, 0.2, 0.2, 1])
        half_blade = [0.0125, 0.0025, BLADE_LENGTH / 2]
        blade_centre = [0, 0, -BLADE_LENGTH / 2]
        blade_shape = c.createCollisionShape(pybullet.GEOM_BOX, halfExtents=half_blade, collisionFramePosition=blade_centre)
        blade_visual = c.createVisualShape(
            pybullet.GEOM_BOX, halfExtents=half_blade, visualFramePosition=blade_centre, rgbaColor=[0.8, 0.8, 0.8, 1]
        )
        body = c.createMultiBody(
            baseMass=0,
            basePosition=[WORKING_X, 0, PIVOT_Z],
            linkMasses=[1.0, BLADE_MASS, 0.0],
            linkCollisionShapeIndices=[-1, blade_shape, -1],
            linkVisualShapeIndices=[carriage_visual, blade_visual, -1],
            linkPositions=[[0, 0, 0], [0, 0, 0], [0, 0, -BLADE_LENGTH]],
            linkOrientations=[[0, 0, 0, 1]] * 3,
            linkInertialFramePositions=[[0, 0, 0], blade_centre, [0, 0, 0]],
            linkInertialFrameOrientations=[[0, 0, 0, 1]] * 3,
            linkParentIndices=[0, CARRIAGE + 1, BLADE + 1],
            linkJointTypes=[pybullet.JOINT_PRISMATIC, pybullet.JOINT_REVOLUTE, pybullet.JOINT_FIXED],
            linkJointAxis=[[0, 1, 0], [1, 0, 0], [0, 0, 1]],
        )
        c.changeDynamics(body, CARRIAGE, jointLowerLimit=-Y_HALF_LENGTH, jointUpperLimit=Y_HALF_LENGTH)
        c.changeDynamics(body, BLADE, lateralFriction=1.0, jointLowerLimit=-BLADE_LIMIT, jointUpperLimit=BLADE_LIMIT)
        return body

    def _make_bump(self, rgba) -> int:
        c = self.client
        radius = BUMP_DIAMETER / 2
        kinds = [pybullet.GEOM_CYLINDER, pybullet.GEOM_SPHERE]
        frames = [[0, 0, radius / 2], [0, 0, radius]]
        shape = c.createCollisionShapeArray(
            shapeTypes=kinds, radii=[radius, radius], lengths=[radius, 0.0], collisionFramePositions=frames
        )
        visual = c.createVisualShapeArray(
            shapeTypes=kinds, radii=[radius, radius], lengths=[radius, 0.0], visualFramePositions=frames,
            rgbaColors=[rgba, rgba],
        )
        body = c.createMultiBody(baseMass=BUMP_MASS, baseCollisionShapeIndex=shape, baseVisualShapeIndex=visual)
        c.changeDynamics(body, -1, lateralFriction=BUMP_FRICTION, rollingFriction=1e-4)
        return body

    # --- state -------------------------------------------------------------------------------
    def carriage_y(self) -> float:
        return float(self.client.getJointState(self.finger, CARRIAGE)[0])

    def tip_y(self) -> float:
        return float(self.client.getLinkState(self.finger, TIP, computeForwardKinematics=True)[4][1])

    def blade_angle(self) -> float:
        return float(self.client.getJointState(self.finger, BLADE)[0])

    def bump_y(self, index: int) -> float:
        return float(self.client.getBasePositionAndOrientation(self.bumps[index])[0][1])

    # --- control -----------------------------------------------------------------------------
    def set_stiffness(self, stiffness: float, max_velocity: float) -> None:
        self.client.setJointMotorControl2(
            self.finger, BLADE, pybullet.POSITION_CONTROL, targetPosition=0.0, maxVelocity=max_velocity, force=stiffness
        )

    def hold_carriage(self, y: float) -> None:
        self.client.setJointMotorControl2(self.finger, CARRIAGE, pybullet.POSITION_CONTROL, targetPosition=y, force=100.0)

    def place(self, finger_y: float, bump1_y: float, bump2_y: float) -> None:
        """Puts the finger (blade straight down, at rest) and the bumps at the given y positions."""
        c = self.client
        c.resetJointState(self.finger, CARRIAGE, finger_y, 0.0)
        c.resetJointState(self.finger, BLADE, 0.0, 0.0)
        for body, y in zip(self.bumps, (bump1_y, bump2_y)):
            c.resetBasePositionAndOrientation(body, [WORKING_X, y, 0.0], [0, 0, 0, 1])
            c.resetBaseVelocity(body, [0, 0, 0], [0, 0, 0])
        self.hold_carriage(finger_y)
        self.set_stiffness(LOW_STIFFNESS, max_velocity=0.1)
        for _ in range(SETTLE_STEPS):
            c.stepSimulation()

    def move(self, step_length_ratio: float) -> None:
        """Moves the carriage by `step_length_ratio * 0.05` along y, stopping at the rail ends."""
        if step_length_ratio == 0:
            return
        direction = 1.0 if step_length_ratio > 0 else -1.0
        target = self.carriage_y() + step_length_ratio * STEP_LENGTH
        command = self.carriage_y()
        for _ in range(MAX_MOVE_STEPS):
            y = self.carriage_y()
            if direction > 0 and (y > Y_G_LIMIT or y > target):
                break
            if direction < 0 and (y < -Y_G_LIMIT or y < target):
                break
            command = float(np.clip(command + direction * CARRIAGE_SPEED, -Y_HALF_LENGTH, Y_HALF_LENGTH))
            self.hold_carriage(command)
            self.client.stepSimulation()
        self.hold_carriage(self.carriage_y())

    def render(self, width: int = 320, height: int = 240) -> np.ndarray:
        c = self.client
        view = c.computeViewMatrix(cameraEyePosition=[1.05, 0.0, 0.3], cameraTargetPosition=[WORKING_X, 0, 0.05], cameraUpVector=[0, 0, 1])
        projection = c.computeProjectionMatrixFOV(fov=55, aspect=width / height, nearVal=0.01, farVal=5.0)
        _, _, rgba, _, _ = c.getCameraImage(width, height, view, projection, renderer=pybullet.ER_TINY_RENDERER)
        return np.asarray(rgba, np.uint8).reshape(height, width, 4)[..., :3]

    def close(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client = None


class BumpsEnv(gymnasium.Env):
    """`pbc-bumps-normal-pomdp-v0` (`test=False`) and `pbc-bumps-normal-test-v0` (`test=True`).

    Reward and termination (after each move, with y_1, y_2 the bumps and y_1^0, y_2^0 their start):
      * +1 when y_2 - y_2^0 > 0.01 and y_g < y_2 (bump 2 pushed right from its left);
      * test variant: -1 instead when |y_1 - y_1^0| > 0.001 or y_2 - y_2^0 < -0.001; the episode
        ends on a nonzero reward or when y_g reaches +-0.38;
      * pomdp variant: no -1; the episode ends on +1, when bump 1 moved by more than 0.001, when
        bump 2 moved left by more than 0.001, or when y_g reaches +-0.38.
    Starts: test: option k ~ {1, 2, 3}, bumps at -0.4 + 0.16 k and -0.4 + 0.16 (k + 1) (each
    +- U(0.03)), finger at U(-0.03, 0.03). pomdp: bumps 0.12..0.32 apart inside [-0.28, 0.28]
    (which bump is drawn first is a coin flip) and the finger uniform over the rail minus 0.04
    around each bump. All draws come from `np_random`, so `reset(seed=...)` fixes the episode.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, test: bool = False, render_mode: Optional[str] = None):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.test = bool(test)
        self.render_mode = render_mode
        self.action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.observation_space = spaces.Box(-np.inf, np.inf, (2,), np.float32)
        self.scene = BumpsScene()
        self.start_bump_y = (0.0, 0.0)

    # --- starts ------------------------------------------------------------------------------
    def _uniform_over_ranges(self, ranges) -> float:
        lengths = np.array([high - low for low, high in ranges])
        index = self.np_random.choice(len(ranges), p=lengths / lengths.sum())
        return float(self.np_random.uniform(*ranges[index]))

    def _draw_start(self) -> tuple[float, float, float]:
        rng = self.np_random
        if self.test:
            interval = 2 * Y_HALF_LENGTH / 5
            option = int(rng.integers(1, 4))
            bump1 = -Y_HALF_LENGTH + option * interval + rng.uniform(-0.03, 0.03)
            bump2 = -Y_HALF_LENGTH + (option + 1) * interval + rng.uniform(-0.03, 0.03)
            return float(rng.uniform(-0.03, 0.03)), float(bump1), float(bump2)
        min_gap, max_gap = 0.3 * Y_HALF_LENGTH, 0.8 * Y_HALF_LENGTH
        bump1_min, bump2_max = -0.7 * Y_HALF_LENGTH, 0.7 * Y_HALF_LENGTH
        if rng.random() < 0.5:
            bump1 = rng.uniform(bump1_min, bump2_max - min_gap)
            bump2 = rng.uniform(bump1 + min_gap, min(bump1 + max_gap, bump2_max))
        else:
            bump2 = rng.uniform(bump1_min + min_gap, bump2_max)
            bump1 = rng.uniform(max(bump2 - max_gap, bump1_min), bump2 - min_gap)
        gap = BUMP_DIAMETER
        finger = self._uniform_over_ranges(
            [(-Y_G_LIMIT, bump1 - gap), (bump1 + gap, bump2 - gap), (bump2 + gap, Y_G_LIMIT)]
        )
        return finger, float(bump1), float(bump2)

    # --- gymnasium API -----------------------------------------------------------------------
    def _obs(self) -> np.ndarray:
        return np.array([self.scene.tip_y(), -self.scene.blade_angle()], np.float32)

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict[str, Any]] = None):
        super().reset(seed=seed)
        finger, bump1, bump2 = self._draw_start()
        self.scene.place(finger, bump1, bump2)
        self.start_bump_y = (self.scene.bump_y(0), self.scene.bump_y(1))
        return self._obs(), {}

    def step(self, action):
        ratios = np.clip(np.asarray(action, np.float64).reshape(2), -1.0, 1.0)
        step_ratio, stiffness_ratio = float(ratios[0]), float(ratios[1])
        stiffness = LOW_STIFFNESS + (stiffness_ratio + 1) / 2 * (HIGH_STIFFNESS - LOW_STIFFNESS)
        self.scene.set_stiffness(stiffness, max_velocity=1.0)
        self.scene.move(step_ratio)

        y_g = self.scene.tip_y()
        moved1 = self.scene.bump_y(0) - self.start_bump_y[0]
        moved2 = self.scene.bump_y(1) - self.start_bump_y[1]
        reward = 1.0 if (moved2 > REWARD_THRESHOLD and y_g < self.scene.bump_y(1)) else 0.0
        wrong_push = abs(moved1) > DONE_THRESHOLD or moved2 < -DONE_THRESHOLD
        at_end = y_g <= -Y_G_LIMIT or y_g >= Y_G_LIMIT
        if self.test:
            if wrong_push:
                reward = -1.0
            terminated = reward != 0.0 or at_end
        else:
            terminated = wrong_push or reward == 1.0 or at_end
        info = {"is_success": reward > 0}
        return self._obs(), reward, bool(terminated), False, info

    def render(self):
        if self.render_mode == "rgb_array":
            return self.scene.render()
        return None

    def close(self):
        scene = getattr(self, "scene", None)
        if scene is not None:
            scene.close()


def normal_pomdp(render_mode: Optional[str] = None) -> gymnasium.Env:
    return BumpsEnv(test=False, render_mode=render_mode)


def normal_test(render_mode: Optional[str] = None) -> gymnasium.Env:
    return BumpsEnv(test=True, render_mode=render_mode)
