"""`Simulation`: the whole simulated robot in its apartment, advanced explicitly in time.

This is the object the `sim` node wraps and the tests and benchmarks drive directly. Time is an
argument: `advance(dt)` steps the physics by dt simulated seconds, so a test can run two
simulated seconds in a fraction of that and get the same answer every time (given the seed).
The command watchdog also runs on simulated time, like a base's firmware on its own clock.

Obstacles (`obstacle_*` bodies of the world file) are parked out of sight until
`drop_obstacle` stands one on the floor: something put in the robot's way while it drives,
seen by the lidar and the camera like any furniture. Ground truth reports where each is and
whether the robot has touched it since it was dropped (from MuJoCo's contacts after every
advance, so a brush between two ground-truth messages is not missed); `reset` parks them all.

Not thread-safe: the node serialises calls with its own lock (see `sim_node.py`), except
`Camera.render()`, which is designed to run outside the lock after `Camera.prepare()`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from synth_agent.sim.config import SimConfig
from synth_agent.sim.gl import mujoco
from synth_agent.sim.person import PersonPath
from synth_agent.sim.robot import (
    Camera,
    DiffDrive,
    Gripper,
    Lidar,
    OdomState,
    Twist2D,
    WheelOdometry,
)
from synth_agent.sim.world import Obstacle, World, quat_to_yaw, yaw_to_quat

GROUND_TRUTH_SCHEMA = "synth_agent/sim_ground_truth/v1"
# A dropped obstacle may sink this far into something (contact softness) and still be "on the
# floor next to it"; deeper means it was dropped inside a wall or a piece of furniture.
DROP_PENETRATION_M = 0.005

# Fields a running simulation can change on the spot; any other change needs a rebuild.
LIVE_FIELDS = frozenset(
    {
        "real_time_factor",
        "tick_rate_hz",
        "odom_rate_hz",
        "joint_states_rate_hz",
        "lidar_rate_hz",
        "camera_rate_hz",
        "ground_truth_rate_hz",
        "lidar_noise_m",
        "cmd_timeout_s",
        "max_linear_mps",
        "max_angular_radps",
        "grasp_reach_m",
        "odom_frame",
        "base_frame",
        "camera_frame",
        "laser_frame",
        "places_file",
    }
)


class Simulation:
    """World + robot + person, with command watchdog and ground truth."""

    def __init__(self, config: SimConfig | None = None, start_time: float = 0.0) -> None:
        """`start_time` sets the clock's starting value, so a simulation rebuilt to replace
        another (new world or image size) continues its time instead of restarting at 0."""
        self.config = config or SimConfig()
        c = self.config
        self.world = World(c.world)
        self.rng = np.random.default_rng(c.seed)
        self.drive = DiffDrive(self.world, c.max_linear_mps, c.max_angular_radps)
        self.odometry = WheelOdometry(self.world, c.odom_wheel_radius_error, c.odom_track_error)
        self.lidar = Lidar(
            self.world,
            c.lidar_beams,
            c.lidar_range_min_m,
            c.lidar_range_max_m,
            c.lidar_noise_m,
            self.rng,
        )
        self.gripper = Gripper(self.world, c.grasp_reach_m)
        self.person = PersonPath(c.person_points, c.person_speed_mps, c.person_yaw)
        # Pose and intrinsics are always available; OpenGL starts on the first render only.
        self.camera = Camera(
            self.world, c.image_width, c.image_height, c.camera_fovy_deg, c.depth_max_m
        )
        self._cmd = Twist2D()
        self._cmd_time = -math.inf
        self.applied = Twist2D()
        self.watchdog_stopped = False
        self._clock_base = float(start_time)
        self._step_debt = 0.0
        self.placed: set[str] = set()  # obstacles standing in the apartment
        self.touched: set[str] = set()  # ... that the robot has touched since they were dropped
        self._obstacle_of_geom = {
            g: name for name, o in self.world.obstacles.items() for g in o.geoms
        }
        self.resets = 0
        self.reset()
        self.resets = 0

    # --- time ---------------------------------------------------------------------------------

    @property
    def time(self) -> float:
        """Simulated seconds since the simulation was created; never goes back, even on reset,
        so ROS nodes on /clock never see time jump backwards."""
        return self._clock_base + float(self.world.data.time)

    @property
    def timestep(self) -> float:
        return float(self.world.model.opt.timestep)

    def reconfigure(self, config: SimConfig) -> set[str]:
        """Apply the fields of `config` that can change while running; return the names of
        changed fields that only a new Simulation can apply (world, image size, poses...)."""
        old = self.config
        changed = {f for f in vars(config) if getattr(config, f) != getattr(old, f)}
        self.config = config
        self.drive.max_linear = config.max_linear_mps
        self.drive.max_angular = config.max_angular_radps
        self.lidar.noise_m = config.lidar_noise_m
        self.gripper.reach_m = config.grasp_reach_m
        return changed - LIVE_FIELDS

    # --- control ------------------------------------------------------------------------------

    def reset(self) -> None:
        """Restore the initial state: objects, furniture, robot at `initial_pose`, gripper open,
        odometry at the initial pose. Simulated time keeps counting."""
        c = self.config
        w = self.world
        self._clock_base = self.time
        mujoco.mj_resetData(w.model, w.data)
        self.gripper.release_all()
        x, y, yaw = c.initial_pose
        w.set_robot_pose(x, y, yaw)
        self._place_person(0.0)
        mujoco.mj_forward(w.model, w.data)
        self.odometry.reset(x, y, yaw)
        self._cmd, self._cmd_time = Twist2D(), -math.inf
        self.applied = self.drive.apply(Twist2D())
        self._step_debt = 0.0
        self.placed.clear()
        self.touched.clear()
        self.resets += 1

    def set_cmd_vel(self, v: float, w: float) -> None:
        """A velocity command (robot frame, m/s and rad/s), effective until the next one or
        until `cmd_timeout_s` of silence."""
        self._cmd = Twist2D(float(v), float(w))
        self._cmd_time = self.time

    def set_gripper(self, value: float) -> str | None:
        """Gripper command, 0 open .. 1 closed; returns the held object's name, if any.
        Needs current kinematics, which `advance` and `reset` leave computed."""
        return self.gripper.set_command(value)

    def advance(self, dt: float) -> int:
        """Step the physics by dt simulated seconds (rounded to whole steps; the remainder is
        carried to the next call). Returns the number of physics steps taken."""
        if dt <= 0:
            return 0
        w = self.world
        self._step_debt += dt
        n = int(self._step_debt / self.timestep + 1e-9)
        if n == 0:
            return 0
        self._step_debt -= n * self.timestep
        stale = self.time - self._cmd_time > self.config.cmd_timeout_s
        self.watchdog_stopped = stale and self._cmd != Twist2D()
        self.applied = self.drive.apply(Twist2D() if stale else self._cmd)
        # The person moves with the tick; at a 100 Hz tick the steps in between are 1 cm apart.
        self._place_person(self.time + n * self.timestep - self._clock_base)
        mujoco.mj_step(w.model, w.data, nstep=n)
        # mj_step leaves positions one step ahead of the kinematics; sensors need them current.
        mujoco.mj_kinematics(w.model, w.data)
        mujoco.mj_comPos(w.model, w.data)
        mujoco.mj_camlight(w.model, w.data)
        self.odometry.update()
        if self.placed:
            self._note_touches()
        return n

    # --- obstacles ----------------------------------------------------------------------------

    def _obstacle(self, name: str) -> Obstacle:
        try:
            return self.world.obstacles[name]
        except KeyError:
            known = ", ".join(sorted(self.world.obstacles)) or "none"
            raise ValueError(f"no obstacle named {name!r} (the world has: {known})") from None

    def drop_obstacle(self, name: str, x: float, y: float, yaw: float = 0.0) -> None:
        """Stand obstacle `name` on the floor at (x, y), turned by `yaw`, at rest. Raises
        ValueError (and leaves it where it was) for an unknown name, a spot on the robot or a
        spot inside a wall or furniture."""
        o = self._obstacle(name)
        if not all(math.isfinite(v) for v in (x, y, yaw)):
            raise ValueError(f"drop position must be finite, got ({x}, {y}, {yaw})")
        w = self.world
        before = w.body_pose(o.body)
        w.set_body_pose(o.body, x, y, 0.0, yaw)
        mujoco.mj_forward(w.model, w.data)
        hit = ""
        for other, dist in self._contacts(o.geoms):
            if dist > -DROP_PENETRATION_M:
                continue
            if int(w.model.geom_type[other]) == int(mujoco.mjtGeom.mjGEOM_PLANE):
                continue
            hit = "the robot" if other in w.robot_geoms else self._geom_label(other)
            break
        if hit:
            w.set_body_pose(o.body, *before)
            mujoco.mj_forward(w.model, w.data)
            raise ValueError(f"{name} would land inside {hit} at ({x:.2f}, {y:.2f})")
        self.placed.add(name)
        self.touched.discard(name)

    def obstacle_command(self, text: str) -> str:
        """Carry out one `sim/obstacle` message and say what was done: JSON
        `{"drop": NAME, "x": X, "y": Y, "yaw": YAW}` (yaw optional, radians) or
        `{"park": NAME}`. Raises ValueError, with the reason, for anything else."""
        try:
            msg = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"not JSON: {e}") from None
        if isinstance(msg, dict) and set(msg) == {"park"}:
            self.park_obstacle(str(msg["park"]))
            return f"parked {msg['park']}"
        if not isinstance(msg, dict) or "drop" not in msg or not {"x", "y"} <= set(msg):
            raise ValueError('expected {"drop": NAME, "x": X, "y": Y} or {"park": NAME}')
        extra = set(msg) - {"drop", "x", "y", "yaw"}
        if extra:
            raise ValueError(f"unknown field(s): {', '.join(sorted(extra))}")
        try:
            x, y, yaw = float(msg["x"]), float(msg["y"]), float(msg.get("yaw", 0.0))
        except (TypeError, ValueError):
            raise ValueError("x, y and yaw must be numbers") from None
        self.drop_obstacle(str(msg["drop"]), x, y, yaw)
        return f"dropped {msg['drop']} at ({x:.2f}, {y:.2f}), yaw {math.degrees(yaw):.0f} deg"

    def park_obstacle(self, name: str) -> None:
        """Put obstacle `name` back where the world file parks it, out of the robot's sight."""
        o = self._obstacle(name)
        self.world.set_body_pose(o.body, *o.parked)
        mujoco.mj_forward(self.world.model, self.world.data)
        self.placed.discard(name)
        self.touched.discard(name)

    def _geom_label(self, g: int) -> str:
        m = self.world.model
        body = mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_BODY, int(m.geom_bodyid[g]))
        return mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_GEOM, g) or body or f"geom {g}"

    def _contacts(self, geoms: frozenset[int]) -> Iterator[tuple[int, float]]:
        """(the other geom, signed distance: negative = penetration) of each current contact
        between one of `geoms` and a geom not among them."""
        d = self.world.data
        for i in range(d.ncon):
            g1, g2 = (int(g) for g in d.contact.geom[i])
            if (g1 in geoms) != (g2 in geoms):
                yield (g2 if g1 in geoms else g1), float(d.contact.dist[i])

    def _note_touches(self) -> None:
        for other, _ in self._contacts(self.world.robot_geoms):
            name = self._obstacle_of_geom.get(other)
            if name is not None:
                self.touched.add(name)

    def _place_person(self, t: float) -> None:
        mocap = self.world.person_mocap
        if mocap is None:
            return
        x, y, yaw = self.person.pose(t)
        self.world.data.mocap_pos[mocap] = (x, y, 0.0)
        self.world.data.mocap_quat[mocap] = yaw_to_quat(yaw)

    # --- sensors ------------------------------------------------------------------------------

    def odom(self) -> OdomState:
        return self.odometry.state

    def scan(self) -> np.ndarray:
        return self.lidar.scan()

    def wheel_states(self) -> tuple[list[str], list[float], list[float]]:
        """Joint names, positions and velocities for sensor_msgs/JointState; the gripper is
        reported as one joint whose position is where its fingers are (0 open .. 1 closed on
        nothing; stopped part-way on a held object), as a real gripper's joint reports."""
        w = self.world
        q, qd = w.data.qpos, w.data.qvel
        names = ["left_wheel_joint", "right_wheel_joint", "gripper_joint"]
        pos = [float(q[w.wheel_qpos[0]]), float(q[w.wheel_qpos[1]]), self.gripper.closure]
        vel = [float(qd[w.wheel_qvel[0]]), float(qd[w.wheel_qvel[1]]), 0.0]
        return names, pos, vel

    def ground_truth(self) -> dict[str, Any]:
        """True poses of everything, for tests and the top-down view (JSON-ready)."""
        w = self.world
        x, y, z, yaw = w.body_pose(w.robot)
        objects = {}
        for name, body in w.objects.items():
            ox, oy, oz, oyaw = w.body_pose(body)
            objects[name] = {"x": ox, "y": oy, "z": oz, "yaw": oyaw}
        truth: dict[str, Any] = {
            "schema": GROUND_TRUTH_SCHEMA,
            "time": self.time,
            "robot": {"x": x, "y": y, "z": z, "yaw": yaw},
            "odom": {"x": self.odom().x, "y": self.odom().y, "yaw": self.odom().yaw},
            "objects": objects,
            "held": self.gripper.held,
            "watchdog_stopped": self.watchdog_stopped,
        }
        obstacles = {}
        for name, o in w.obstacles.items():
            ox, oy, oz, oyaw = w.body_pose(o.body)
            obstacles[name] = {
                "x": ox,
                "y": oy,
                "z": oz,
                "yaw": oyaw,
                "size": [2 * h for h in o.half_size],
                "placed": name in self.placed,
                "touched": name in self.touched,
            }
        truth["obstacles"] = obstacles
        if w.person_mocap is not None:
            px, py, pz = (float(v) for v in w.data.mocap_pos[w.person_mocap])
            truth["person"] = {
                "x": px,
                "y": py,
                "yaw": quat_to_yaw(w.data.mocap_quat[w.person_mocap]),
            }
        pos, rot = self.camera.pose()
        # Optical frame (x right, y down, z forward) in the world: columns of `rotation`.
        truth["camera"] = {"position": pos.tolist(), "rotation": rot.tolist()}
        return truth

    def close(self) -> None:
        """Release the renderer, if this thread started one."""
        self.camera.close()
