"""Load the MJCF world and find, once, everything the simulator addresses by name.

MuJoCo addresses bodies, joints and sensors by integer ids and offsets into flat state arrays.
Looking them up by name on every step would be slow and scatter string constants across the
code, so `World` resolves them at load time and fails with a clear message if the world file
lacks something the robot needs (a renamed wheel joint should not turn into a silent zero).

Conventions a world file must follow (see assets/apartment.xml and assets/robot.xml):
- robot: body `base_link` with a free joint, hinge joints `left_wheel_joint` and
  `right_wheel_joint`, velocity actuators `left_wheel_motor` and `right_wheel_motor`, site
  `lidar`, camera `front`, body `gripper` with site `grasp`;
- objects the robot can hold: free bodies named by welds `grasp_<object>` (body1 `gripper`);
- person (optional): mocap body `person`;
- obstacles (optional): free bodies named `obstacle_<name>`, parked where the world file puts
  them (out of the robot's sight); the simulator drops them in the robot's way on request.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synth_agent.sim.gl import mujoco

ASSETS = Path(__file__).resolve().parent / "assets"
GRASP_PREFIX = "grasp_"
OBSTACLE_PREFIX = "obstacle_"


class WorldError(ValueError):
    """A world file that does not provide what the simulator needs."""


def resolve_world(name: str) -> Path:
    """An MJCF path: `name` itself if it exists, else a file in the packaged assets."""
    path = Path(name).expanduser()
    if path.is_file():
        return path
    packaged = ASSETS / name
    if packaged.is_file():
        return packaged
    raise WorldError(f"world file {name!r} not found (nor in {ASSETS})")


def yaw_to_quat(yaw: float) -> np.ndarray:
    """MuJoCo quaternion (w, x, y, z) for a rotation about z."""
    return np.array([math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)])


def quat_to_yaw(q: np.ndarray) -> float:
    """Yaw (rotation about z) of a MuJoCo quaternion (w, x, y, z)."""
    w, x, y, z = q
    return math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


@dataclass(frozen=True)
class FreeBody:
    """A body with a free joint: where its pose and velocity live in qpos/qvel."""

    name: str
    body_id: int
    qpos_adr: int
    qvel_adr: int


@dataclass(frozen=True)
class Obstacle:
    """A droppable obstacle: its free body, its parked pose (the world file's) and its size.
    `half_size` is the half extent (x, y, z) of its geoms in its own frame, whose origin is on
    the floor below its centre, so dropping it at (x, y) stands it on the floor there."""

    body: FreeBody
    parked: tuple[float, float, float, float]  # x, y, z, yaw
    half_size: tuple[float, float, float]
    geoms: frozenset[int]


def _id(model: mujoco.MjModel, kind: mujoco.mjtObj, name: str, what: str) -> int:
    i = mujoco.mj_name2id(model, kind, name)
    if i < 0:
        raise WorldError(f"world has no {what} named {name!r}")
    return i


class World:
    """A compiled MuJoCo model and its data, with the names the simulator needs resolved."""

    def __init__(self, path: str | Path) -> None:
        self.path = resolve_world(str(path))
        try:
            self.model = mujoco.MjModel.from_xml_path(str(self.path))
        except ValueError as e:  # MuJoCo reports XML and compile errors as ValueError
            raise WorldError(f"{self.path}: {e}") from e
        self.data = mujoco.MjData(self.model)
        m = self.model
        obj = mujoco.mjtObj
        self.robot = self._free_body("base_link")
        self.left_wheel_joint = _id(m, obj.mjOBJ_JOINT, "left_wheel_joint", "joint")
        self.right_wheel_joint = _id(m, obj.mjOBJ_JOINT, "right_wheel_joint", "joint")
        self.left_motor = _id(m, obj.mjOBJ_ACTUATOR, "left_wheel_motor", "actuator")
        self.right_motor = _id(m, obj.mjOBJ_ACTUATOR, "right_wheel_motor", "actuator")
        self.lidar_site = _id(m, obj.mjOBJ_SITE, "lidar", "site")
        self.camera = _id(m, obj.mjOBJ_CAMERA, "front", "camera")
        self.gripper_body = _id(m, obj.mjOBJ_BODY, "gripper", "body")
        self.grasp_site = _id(m, obj.mjOBJ_SITE, "grasp", "site")
        self.wheel_qpos = (
            int(m.jnt_qposadr[self.left_wheel_joint]),
            int(m.jnt_qposadr[self.right_wheel_joint]),
        )
        self.wheel_qvel = (
            int(m.jnt_dofadr[self.left_wheel_joint]),
            int(m.jnt_dofadr[self.right_wheel_joint]),
        )
        # Wheel geometry from the model itself, so odometry matches whatever the file says.
        left_body = int(m.jnt_bodyid[self.left_wheel_joint])
        right_body = int(m.jnt_bodyid[self.right_wheel_joint])
        self.track_m = float(np.linalg.norm(m.body_pos[left_body] - m.body_pos[right_body]))
        self.wheel_radius_m = self._wheel_radius(left_body)

        self.objects: dict[str, FreeBody] = {}
        self.grasp_welds: dict[str, int] = {}
        for eq in range(m.neq):
            name = mujoco.mj_id2name(m, obj.mjOBJ_EQUALITY, eq) or ""
            if not name.startswith(GRASP_PREFIX):
                continue
            if (
                int(m.eq_type[eq]) != int(mujoco.mjtEq.mjEQ_WELD)
                or m.eq_obj1id[eq] != self.gripper_body
            ):
                raise WorldError(f"equality {name!r} must be a weld with body1='gripper'")
            body = mujoco.mj_id2name(m, obj.mjOBJ_BODY, int(m.eq_obj2id[eq]))
            if body != name[len(GRASP_PREFIX) :]:
                raise WorldError(f"weld {name!r} must have body2={name[len(GRASP_PREFIX) :]!r}")
            self.objects[body] = self._free_body(body)
            self.grasp_welds[body] = eq
        self.person_mocap: int | None = None
        person = mujoco.mj_name2id(m, obj.mjOBJ_BODY, "person")
        if person >= 0:
            if m.body_mocapid[person] < 0:
                raise WorldError("body 'person' must be a mocap body")
            self.person_mocap = int(m.body_mocapid[person])
            self.person_body = person
        self.lidar_geomgroup = np.array([1, 0, 1, 0, 0, 0], dtype=np.uint8)
        self.obstacles: dict[str, Obstacle] = {}
        for b in range(1, m.nbody):
            name = mujoco.mj_id2name(m, obj.mjOBJ_BODY, b) or ""
            if name.startswith(OBSTACLE_PREFIX):
                self.obstacles[name] = self._obstacle(name)
        # Every geom of the robot (wheels and gripper included), to tell its contacts apart.
        self.robot_geoms = frozenset(
            g for g in range(m.ngeom) if m.body_rootid[m.geom_bodyid[g]] == self.robot.body_id
        )

    def _free_body(self, name: str) -> FreeBody:
        m = self.model
        body = _id(m, mujoco.mjtObj.mjOBJ_BODY, name, "body")
        jnt = int(m.body_jntadr[body])
        if jnt < 0 or int(m.jnt_type[jnt]) != int(mujoco.mjtJoint.mjJNT_FREE):
            raise WorldError(f"body {name!r} needs a free joint")
        return FreeBody(name, body, int(m.jnt_qposadr[jnt]), int(m.jnt_dofadr[jnt]))

    def _obstacle(self, name: str) -> Obstacle:
        m = self.model
        body = self._free_body(name)
        q = m.qpos0[body.qpos_adr : body.qpos_adr + 7]
        geoms = [g for g in range(m.ngeom) if m.geom_bodyid[g] == body.body_id]
        if not geoms or any(
            int(m.geom_type[g]) != int(mujoco.mjtGeom.mjGEOM_BOX)
            or not np.allclose(m.geom_quat[g], (1, 0, 0, 0))
            for g in geoms
        ):
            raise WorldError(f"obstacle {name!r} must be made of boxes aligned with its frame")
        lo = np.min([m.geom_pos[g] - m.geom_size[g] for g in geoms], axis=0)
        hi = np.max([m.geom_pos[g] + m.geom_size[g] for g in geoms], axis=0)
        if abs(lo[0] + hi[0]) > 1e-6 or abs(lo[1] + hi[1]) > 1e-6 or abs(lo[2]) > 1e-6:
            raise WorldError(f"obstacle {name!r} must be centred on its origin, on the floor")
        return Obstacle(
            body,
            (float(q[0]), float(q[1]), float(q[2]), quat_to_yaw(q[3:7])),
            (float(hi[0]), float(hi[1]), float(hi[2] / 2)),
            frozenset(geoms),
        )

    def _wheel_radius(self, wheel_body: int) -> float:
        m = self.model
        for g in range(m.ngeom):
            if (
                m.geom_bodyid[g] == wheel_body
                and m.geom_contype[g]
                and int(m.geom_type[g])
                in (
                    int(mujoco.mjtGeom.mjGEOM_SPHERE),
                    int(mujoco.mjtGeom.mjGEOM_CYLINDER),
                )
            ):
                return float(m.geom_size[g][0])
        raise WorldError("left wheel has no colliding sphere or cylinder to roll on")

    # --- poses -------------------------------------------------------------------------------

    def body_pose(self, body: FreeBody) -> tuple[float, float, float, float]:
        """(x, y, z, yaw) of a free body from the state vector (valid without mj_forward)."""
        q = self.data.qpos[body.qpos_adr : body.qpos_adr + 7]
        return float(q[0]), float(q[1]), float(q[2]), quat_to_yaw(q[3:7])

    def set_body_pose(self, body: FreeBody, x: float, y: float, z: float, yaw: float) -> None:
        """Place a free body and stop it."""
        q = self.data.qpos
        q[body.qpos_adr : body.qpos_adr + 3] = (x, y, z)
        q[body.qpos_adr + 3 : body.qpos_adr + 7] = yaw_to_quat(yaw)
        self.data.qvel[body.qvel_adr : body.qvel_adr + 6] = 0.0

    def robot_pose(self) -> tuple[float, float, float]:
        """True (x, y, yaw) of base_link."""
        x, y, _, yaw = self.body_pose(self.robot)
        return x, y, yaw

    def set_robot_pose(self, x: float, y: float, yaw: float) -> None:
        """Put the robot on the floor at (x, y, yaw), wheels resting on the ground."""
        self.set_body_pose(self.robot, x, y, self.wheel_radius_m, yaw)

    def geom_names(self, body_id: int) -> list[str]:
        m = self.model
        return [
            mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_GEOM, g) or f"geom{g}"
            for g in range(m.ngeom)
            if m.geom_bodyid[g] == body_id
        ]
