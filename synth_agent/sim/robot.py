"""The simulated robot's drive, odometry and sensors, on top of a `World`.

Each piece behaves like its real counterpart rather than reading the simulator's truth:
- `DiffDrive` turns (v, omega) into wheel speed set-points for the motor actuators, clamped to
  the base's limits, so motion comes from wheel torque and friction (and can slip or stall
  against a wall), never from teleporting the body.
- `WheelOdometry` integrates wheel encoder angles, as a base's firmware does; it drifts from
  the truth only as much as the wheels slip.
- `Lidar` casts rays from the lidar site with `mj_multiRay` (one call for the whole scan)
  against walls, furniture, objects and the person, never the robot itself.
- `Camera` renders RGB and depth from the `front` camera; `intrinsics()` is derived from the
  same field of view and image size, so a point's projection matches the image.
- `Gripper` holds one object by activating the object's weld when it closes next to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from synth_agent.sim.gl import mujoco
from synth_agent.sim.world import World, quat_to_yaw


def wrap_angle(a: float) -> float:
    """Angle in [-pi, pi)."""
    return (a + math.pi) % (2 * math.pi) - math.pi


@dataclass(frozen=True)
class Twist2D:
    """Planar velocity in the robot frame: forward m/s, counter-clockwise rad/s."""

    v: float = 0.0
    w: float = 0.0


class DiffDrive:
    """Differential-drive command mapping with the base's own limits."""

    def __init__(self, world: World, max_linear_mps: float, max_angular_radps: float) -> None:
        self.world = world
        self.max_linear = max_linear_mps
        self.max_angular = max_angular_radps
        m = world.model
        self.max_wheel_radps = float(
            min(
                m.actuator_ctrlrange[world.left_motor][1],
                m.actuator_ctrlrange[world.right_motor][1],
            )
        )

    def limit(self, cmd: Twist2D) -> Twist2D:
        """Clamp to the base's limits; a non-finite command means stop (firmware rejects it).
        When the wheels cannot reach the requested speeds, both are scaled together so the
        path's curvature is kept."""
        if not (math.isfinite(cmd.v) and math.isfinite(cmd.w)):
            return Twist2D()
        v = max(-self.max_linear, min(self.max_linear, cmd.v))
        w = max(-self.max_angular, min(self.max_angular, cmd.w))
        left, right = self.wheel_speeds(Twist2D(v, w))
        peak = max(abs(left), abs(right))
        if peak > self.max_wheel_radps:
            scale = self.max_wheel_radps / peak
            v, w = v * scale, w * scale
        return Twist2D(v, w)

    def wheel_speeds(self, cmd: Twist2D) -> tuple[float, float]:
        """(left, right) wheel angular velocities in rad/s for a body twist."""
        r, half = self.world.wheel_radius_m, self.world.track_m / 2
        return (cmd.v - cmd.w * half) / r, (cmd.v + cmd.w * half) / r

    def apply(self, cmd: Twist2D) -> Twist2D:
        """Set the motor set-points for `cmd` (after limits); return what was applied."""
        cmd = self.limit(cmd)
        left, right = self.wheel_speeds(cmd)
        self.world.data.ctrl[self.world.left_motor] = left
        self.world.data.ctrl[self.world.right_motor] = right
        return cmd


@dataclass
class OdomState:
    """Pose in the odom frame and body-frame twist, as a nav_msgs/Odometry would carry."""

    x: float
    y: float
    yaw: float
    v: float = 0.0
    w: float = 0.0


class WheelOdometry:
    """Dead reckoning from wheel encoder angles (exact arc integration per update)."""

    def __init__(self, world: World, radius_error: float = 0.0, track_error: float = 0.0) -> None:
        """`radius_error` and `track_error`: how far (as fractions) the wheel radius and track
        this odometry assumes are off from the model's, to simulate a miscalibrated base."""
        self.world = world
        self.radius_m = world.wheel_radius_m * (1.0 + radius_error)
        self.track_m = world.track_m * (1.0 + track_error)
        self.state = OdomState(0.0, 0.0, 0.0)
        self._last = self._angles()

    def _angles(self) -> tuple[float, float]:
        q = self.world.data.qpos
        return float(q[self.world.wheel_qpos[0]]), float(q[self.world.wheel_qpos[1]])

    def reset(self, x: float, y: float, yaw: float) -> None:
        self.state = OdomState(x, y, yaw)
        self._last = self._angles()

    def update(self) -> OdomState:
        """Integrate the wheel rotation since the last call."""
        r, track = self.radius_m, self.track_m
        left, right = self._angles()
        dl, dr = (left - self._last[0]) * r, (right - self._last[1]) * r
        self._last = (left, right)
        ds, dyaw = (dl + dr) / 2, (dr - dl) / track
        s = self.state
        mid = s.yaw + dyaw / 2
        # Arc integration: exact for constant wheel speeds over the interval.
        chord = ds if abs(dyaw) < 1e-9 else ds * math.sin(dyaw / 2) / (dyaw / 2)
        s.x += chord * math.cos(mid)
        s.y += chord * math.sin(mid)
        s.yaw = wrap_angle(s.yaw + dyaw)
        qv = self.world.data.qvel
        wl, wr = qv[self.world.wheel_qvel[0]] * r, qv[self.world.wheel_qvel[1]] * r
        s.v, s.w = float((wl + wr) / 2), float((wr - wl) / track)
        return s


@dataclass(frozen=True)
class ScanGeometry:
    """What a sensor_msgs/LaserScan needs besides the ranges."""

    angle_min: float
    angle_max: float
    angle_increment: float
    range_min: float
    range_max: float


class Lidar:
    """A 360-degree planar lidar: `beams` rays from the `lidar` site, counter-clockwise from
    straight back (-pi), in the site's plane (it tilts with the base)."""

    def __init__(
        self,
        world: World,
        beams: int,
        range_min: float,
        range_max: float,
        noise_m: float,
        rng: np.random.Generator,
    ) -> None:
        self.world = world
        self.beams = beams
        self.range_min, self.range_max = range_min, range_max
        self.noise_m = noise_m
        self.rng = rng
        inc = 2 * math.pi / beams
        self.angles = -math.pi + inc * np.arange(beams)
        self._local = np.stack([np.cos(self.angles), np.sin(self.angles), np.zeros(beams)], axis=1)
        self._geomid = np.zeros(beams, dtype=np.int32)
        self._dist = np.zeros(beams, dtype=np.float64)
        self.geometry = ScanGeometry(
            float(self.angles[0]), float(self.angles[-1]), inc, range_min, range_max
        )

    def scan(self) -> np.ndarray:
        """Ranges in metres (float32); inf where nothing is within range_max, as REP 117 asks.
        Needs the kinematics of the current state (mj_forward or a step) to be computed."""
        m, d = self.world.model, self.world.data
        site = self.world.lidar_site
        origin = d.site_xpos[site].copy()
        rot = d.site_xmat[site].reshape(3, 3)
        dirs = np.ascontiguousarray((self._local @ rot.T).ravel())
        mujoco.mj_multiRay(
            m,
            d,
            origin,
            dirs,
            self.world.lidar_geomgroup,
            1,
            self.world.robot.body_id,
            self._geomid,
            self._dist,
            None,
            self.beams,
            self.range_max,
        )
        ranges = self._dist.copy()
        hit = (self._geomid >= 0) & (ranges >= 0)
        if self.noise_m > 0:
            ranges[hit] += self.rng.normal(0.0, self.noise_m, int(hit.sum()))
        ranges[~hit | (ranges > self.range_max)] = np.inf
        # Closer than range_min: a real lidar reports nothing usable there either.
        ranges[hit & (ranges < self.range_min)] = -np.inf
        return ranges.astype(np.float32)


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics in ROS convention (pixel centres at integer coordinates)."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float

    @property
    def k(self) -> list[float]:
        return [self.fx, 0.0, self.cx, 0.0, self.fy, self.cy, 0.0, 0.0, 1.0]

    @property
    def p(self) -> list[float]:
        return [self.fx, 0.0, self.cx, 0.0, 0.0, self.fy, self.cy, 0.0, 0.0, 0.0, 1.0, 0.0]


class Camera:
    """The robot's forward RGB-D camera, rendered offscreen by MuJoCo.

    Rendering is split so a node can hold its state lock only briefly: `prepare()` copies the
    current scene (fast, needs the lock), `render()` rasterises it (slow, runs unlocked, reads
    only the copied scene). Depth is metric z-depth (distance along the optical axis), NaN
    beyond `depth_max_m` or where nothing was hit, as REP 118 describes for 32FC1.

    The OpenGL context is created on the first `prepare()`, in the calling thread: a context is
    current in one thread only, so the thread that renders must be the one that creates it (and
    calls `close()`). Pose, intrinsics and projection need no context.
    """

    def __init__(
        self,
        world: World,
        width: int,
        height: int,
        fovy_deg: float,
        depth_max_m: float,
        camera: int | str | None = None,
    ) -> None:
        self.world = world
        m = world.model
        self.camera_id = (
            world.camera
            if camera is None
            else (
                camera
                if isinstance(camera, int)
                else mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_CAMERA, camera)
            )
        )
        if camera is None:
            m.cam_fovy[self.camera_id] = fovy_deg
        m.vis.global_.offwidth = max(int(m.vis.global_.offwidth), width)
        m.vis.global_.offheight = max(int(m.vis.global_.offheight), height)
        self.width, self.height = width, height
        self.depth_max_m = depth_max_m
        self.renderer: mujoco.Renderer | None = None
        self._far = float(m.vis.map.zfar * m.stat.extent)

    def intrinsics(self) -> Intrinsics:
        """fx = fy from the vertical field of view; principal point at the image centre."""
        fovy = math.radians(float(self.world.model.cam_fovy[self.camera_id]))
        f = (self.height / 2) / math.tan(fovy / 2)
        return Intrinsics(
            self.width, self.height, f, f, (self.width - 1) / 2, (self.height - 1) / 2
        )

    def pose(self) -> tuple[np.ndarray, np.ndarray]:
        """Camera position (world) and rotation matrix whose columns are the optical frame's
        axes (x right, y down, z forward) in world coordinates."""
        d = self.world.data
        rot = d.cam_xmat[self.camera_id].reshape(3, 3)
        # MuJoCo camera frame: x right, y up, looking along -z.
        optical = rot @ np.diag([1.0, -1.0, -1.0])
        return d.cam_xpos[self.camera_id].copy(), optical

    def project(self, point: np.ndarray) -> tuple[float, float, float]:
        """(u, v, z-depth) of a world point in this camera's image."""
        pos, rot = self.pose()
        p = rot.T @ (np.asarray(point, dtype=float) - pos)
        k = self.intrinsics()
        return k.fx * p[0] / p[2] + k.cx, k.fy * p[1] / p[2] + k.cy, float(p[2])

    def prepare(self) -> None:
        """Copy the current scene for rendering (call with the state lock held)."""
        if self.renderer is None:
            self.renderer = mujoco.Renderer(self.world.model, self.height, self.width)
        self.renderer.update_scene(self.world.data, camera=self.camera_id)

    def render(self, depth: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """RGB (HxWx3 uint8) and depth (HxW float32 metres, or None) of the prepared scene."""
        if self.renderer is None:
            raise RuntimeError("Camera.render() needs a prepare() first")
        self.renderer.disable_depth_rendering()
        rgb = self.renderer.render()
        if not depth:
            return rgb, None
        self.renderer.enable_depth_rendering()
        try:
            z = self.renderer.render()
        finally:
            self.renderer.disable_depth_rendering()
        z = z.astype(np.float32, copy=False)
        z[(z >= min(self.depth_max_m, 0.999 * self._far)) | (z <= 0)] = np.nan
        return rgb, z

    def close(self) -> None:
        if self.renderer is not None:
            self.renderer.close()
            self.renderer = None


FINGER_GAP_M = 0.114  # robot.xml: inner faces of the open fingers, 2 x (0.065 - 0.008) m


class Gripper:
    """Holds at most one object. Closing (command >= 0.5) next to an object welds it to the
    gripper, centred between the fingers; opening releases it where it is."""

    def __init__(self, world: World, reach_m: float) -> None:
        self.world = world
        self.reach_m = reach_m
        self.command = 0.0
        self.held: str | None = None
        m = world.model
        self._hold_offset: dict[str, float] = {}
        for name, body in world.objects.items():
            # Horizontal half-extent of the object, so it sits just ahead of the fingers' base.
            r = 0.0
            for g in range(m.ngeom):
                if m.geom_bodyid[g] == body.body_id:
                    r = max(r, float(m.geom_size[g][0]) + float(np.linalg.norm(m.geom_pos[g][:2])))
            self._hold_offset[name] = 0.02 + r

    @property
    def closed(self) -> bool:
        return self.command >= 0.5

    @property
    def closure(self) -> float:
        """Where the fingers are, as a gripper joint would report it: 0 open .. 1 closed on
        nothing. Closed on an object they stop at its width: 1 - width / FINGER_GAP_M, kept in
        0.25..0.9 (an object wider than the gap is held by the weld all the same)."""
        if self.held is None:
            return self.command
        width = 2.0 * (self._hold_offset[self.held] - 0.02)
        return min(0.9, max(0.25, 1.0 - width / FINGER_GAP_M))

    def release_all(self) -> None:
        for eq in self.world.grasp_welds.values():
            self.world.data.eq_active[eq] = 0
        self.held = None
        self.command = 0.0

    def candidate(self) -> str | None:
        """The object nearest the grasp point within reach (horizontally), if any."""
        d = self.world.data
        grasp = d.site_xpos[self.world.grasp_site]
        best, best_dist = None, self.reach_m
        for name, body in self.world.objects.items():
            pos = d.xpos[body.body_id]
            dist = float(np.hypot(*(pos[:2] - grasp[:2])))
            if dist <= best_dist and 0.0 <= pos[2] <= 1.2:
                best, best_dist = name, dist
        return best

    def set_command(self, value: float) -> str | None:
        """Apply a gripper command (0 open .. 1 closed); return the object now held."""
        if not math.isfinite(value):
            return self.held
        was_closed = self.closed
        self.command = min(1.0, max(0.0, value))
        if self.closed and not was_closed and self.held is None:
            name = self.candidate()
            if name is not None:
                self._attach(name)
        elif not self.closed and self.held is not None:
            self.world.data.eq_active[self.world.grasp_welds[self.held]] = 0
            self.held = None
        return self.held

    def _attach(self, name: str) -> None:
        w, d = self.world, self.world.data
        body = w.objects[name]
        # Bring the object into the hand, upright, then weld it there.
        gpos = d.xpos[w.gripper_body]
        gmat = d.xmat[w.gripper_body].reshape(3, 3)
        offset = np.array([self._hold_offset[name], 0.0, 0.0])
        target = gpos + gmat @ offset
        yaw = quat_to_yaw(d.xquat[w.gripper_body])
        w.set_body_pose(body, float(target[0]), float(target[1]), float(target[2]), yaw)
        qvel = d.qvel[w.robot.qvel_adr : w.robot.qvel_adr + 3]
        d.qvel[body.qvel_adr : body.qvel_adr + 3] = qvel
        eq = w.grasp_welds[name]
        # Weld data: anchor (3), relative pose of body2 in body1 (pos 3, quat 4), torquescale.
        w.model.eq_data[eq][0:3] = 0.0
        w.model.eq_data[eq][3:6] = offset
        w.model.eq_data[eq][6:10] = (1.0, 0.0, 0.0, 0.0)
        w.model.eq_data[eq][10] = 1.0
        d.eq_active[eq] = 1
        self.held = name
