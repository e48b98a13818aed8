"""The embedded simulator as a camera for perception tests and the benchmark.

Why it exists: acceptance of perception must use what the simulator really renders and the
camera it really has, not numbers copied from the world file. So the intrinsics come from
`Simulation.camera.intrinsics()` and the mounting (position on the base, yaw, pitch) is derived
from the rendered camera's pose relative to the robot's true pose; change robot.xml or the image
size and perception is fed the new geometry automatically.

"In view" is decided from ground truth alone: each object's centre is projected through the
camera, and the depth image says whether something nearer hides it. Objects that are clearly
visible (centre inside the image with room for the whole object, unoccluded, at least a few
pixels across, within depth range) are *required*; objects that merely project into the image
(cut by the border, partly hidden, tiny) are *allowed*: reporting them is right, missing them is
not a failure. Anything reported that matches no true object is a false positive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from synth_agent.core.perception_lidar import LidarMount, Scan
from synth_agent.core.vision import CameraMount, Intrinsics
from synth_agent.sim.config import SimConfig
from synth_agent.sim.gl import mujoco
from synth_agent.sim.simulation import Simulation

TICK = 0.01
PERSON = "person"
# The person's torso is what the colour table sees of it (its shirt); its centre is the point
# whose visibility decides whether the person is in view.
PERSON_GEOM = "person_torso"


@dataclass(frozen=True)
class Truth:
    """One true object in the odom frame, with whether the camera must see it."""

    label: str
    position: tuple[float, float, float]
    radius: float
    required: bool
    in_image: bool


def make_sim(**overrides) -> Simulation:
    """A simulation whose objects have settled on their furniture."""
    overrides.setdefault("lidar_noise_m", 0.0)
    sim = Simulation(SimConfig(**overrides))
    advance(sim, 0.5)
    return sim


def advance(sim: Simulation, seconds: float, cmd: tuple[float, float] | None = None) -> None:
    """Step `seconds` of simulated time at the node's 100 Hz tick, commanding `cmd` if given."""
    for _ in range(max(1, round(seconds / TICK))):
        if cmd is not None:
            sim.set_cmd_vel(*cmd)
        sim.advance(TICK)


def teleport(sim: Simulation, x: float, y: float, yaw: float) -> None:
    """Put the robot at (x, y, yaw) with its odometry there too, and let it settle."""
    sim.world.set_robot_pose(x, y, yaw)
    mujoco.mj_forward(sim.world.model, sim.world.data)
    sim.odometry.reset(x, y, yaw)
    sim.set_cmd_vel(0.0, 0.0)
    advance(sim, 0.05)


def robot_odom(sim: Simulation) -> tuple[float, float, float]:
    """The robot pose perception is given: wheel odometry, as the node gets it on `odom`."""
    o = sim.odom()
    return (o.x, o.y, o.yaw)


def camera_model(sim: Simulation) -> tuple[Intrinsics, CameraMount]:
    """The sim camera's intrinsics and its mounting on the base, measured from the model."""
    k = sim.camera.intrinsics()
    intr = Intrinsics(k.fx, k.fy, k.cx, k.cy, k.width, k.height)
    pos, rot = sim.camera.pose()
    rx, ry, _, ryaw = sim.world.body_pose(sim.world.robot)
    c, s = math.cos(ryaw), math.sin(ryaw)
    to_base = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
    offset = to_base @ (pos - np.array([rx, ry, 0.0]))  # z: height above the floor
    forward = to_base @ rot[:, 2]  # optical axis in the base frame
    mount = CameraMount(
        x=float(offset[0]),
        y=float(offset[1]),
        z=float(offset[2]),
        yaw=math.atan2(forward[1], forward[0]),
        pitch=math.asin(-float(forward[2])),
    )
    return intr, mount


def render(sim: Simulation) -> tuple[np.ndarray, np.ndarray]:
    """BGR image (as a bgr8 subscriber holds it) and depth in metres of the current state."""
    sim.camera.prepare()
    rgb, depth = sim.camera.render()
    assert depth is not None
    return np.ascontiguousarray(rgb[:, :, ::-1]), depth


def _radius(sim: Simulation, body_id: int, geom: str | None = None) -> float:
    """Horizontal bounding radius of a body (or of one named geom of it) from the model."""
    m = sim.world.model
    r = 0.0
    for g in range(m.ngeom):
        if m.geom_bodyid[g] != body_id:
            continue
        if geom is not None and mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_GEOM, g) != geom:
            continue
        size = m.geom_size[g]
        half = (
            math.hypot(size[0], size[1])
            if int(m.geom_type[g]) == int(mujoco.mjtGeom.mjGEOM_BOX)
            else float(size[0])
        )
        r = max(r, half + float(np.linalg.norm(m.geom_pos[g][:2])))
    return r


def label_of(body: str) -> str:
    """Scene label of a sim body: `red_cup` -> `red cup`."""
    return body.replace("_", " ")


def world_to_odom(sim: Simulation, p: tuple[float, float, float]) -> tuple[float, float, float]:
    """A world point in the odom frame (they differ by however far odometry has drifted)."""
    tx, ty, _, tyaw = sim.world.body_pose(sim.world.robot)
    ox, oy, oyaw = robot_odom(sim)
    dx, dy = p[0] - tx, p[1] - ty
    c, s = math.cos(tyaw), math.sin(tyaw)
    bx, by = c * dx + s * dy, -s * dx + c * dy  # in the robot frame
    c, s = math.cos(oyaw), math.sin(oyaw)
    return (ox + c * bx - s * by, oy + s * bx + c * by, p[2])


def truths(
    sim: Simulation,
    depth: np.ndarray,
    min_radius_px: float = 5.0,
    max_range_m: float = 8.0,
) -> list[Truth]:
    """Every object and the person, in odom, with `required` / `in_image` from projection and
    the depth image (see the module docstring)."""
    gt = sim.ground_truth()
    k = sim.camera.intrinsics()
    items: list[tuple[str, tuple[float, float, float], float]] = []
    for name, pose in gt["objects"].items():
        body = sim.world.objects[name].body_id
        items.append((label_of(name), (pose["x"], pose["y"], pose["z"]), _radius(sim, body)))
    if "person" in gt:
        m = sim.world.model
        torso = m.geom(PERSON_GEOM)
        p = gt["person"]
        # Torso centre: the geom's current world position.
        centre = sim.world.data.geom_xpos[torso.id]
        items.append(
            (
                PERSON,
                (p["x"], p["y"], float(centre[2])),
                _radius(sim, sim.world.person_body, PERSON_GEOM),
            )
        )
    out = []
    for label, pos, radius in items:
        if label == PERSON:
            centre = sim.world.data.geom_xpos[sim.world.model.geom(PERSON_GEOM).id]
        else:
            centre = np.array(pos)
        u, v, z = sim.camera.project(centre)
        in_image = z > 0.1 and 0 <= u < k.width and 0 <= v < k.height
        required = False
        if in_image:
            r_px = k.fx * radius / z
            margin = 1.5 * r_px + 4  # the whole object, with room for perspective
            inside = margin <= u < k.width - margin and margin <= v < k.height - margin
            iu, iv = int(round(u)), int(round(v))
            patch = depth[max(iv - 1, 0) : iv + 2, max(iu - 1, 0) : iu + 2]
            seen = float(np.nanmax(patch)) if np.isfinite(patch).any() else math.inf
            unoccluded = seen >= z - radius - 0.05
            required = inside and unoccluded and r_px >= min_radius_px and z <= max_range_m
        out.append(Truth(label, world_to_odom(sim, pos), radius, required, in_image))
    return out


def lidar_model(sim: Simulation) -> LidarMount:
    """The sim lidar's mounting on the base (z: scan-plane height above the floor)."""
    origin = sim.world.data.site_xpos[sim.world.lidar_site]
    rx, ry, _, ryaw = sim.world.body_pose(sim.world.robot)
    c, s = math.cos(ryaw), math.sin(ryaw)
    dx, dy = origin[0] - rx, origin[1] - ry
    return LidarMount(x=c * dx + s * dy, y=-s * dx + c * dy, z=float(origin[2]), yaw=0.0)


def scan(sim: Simulation, stamp: float) -> Scan:
    """The current lidar scan, as the node would get it on `scan`."""
    g = sim.lidar.geometry
    return Scan(sim.scan(), g.angle_min, g.angle_increment, g.range_min, g.range_max, stamp)


def lidar_sees(sim: Simulation, label: str) -> bool:
    """Whether the lidar's beam towards the object's (or the person's) vertical axis hits that
    object first: in the scan plane, not hidden by furniture nearer to the lidar."""
    m, d = sim.world.model, sim.world.data
    origin = d.site_xpos[sim.world.lidar_site].copy()
    if label == PERSON:
        body = sim.world.person_body
        target = d.xpos[body]
    else:
        body = sim.world.objects[label.replace(" ", "_")].body_id
        target = d.xpos[body]
    direction = np.array([target[0] - origin[0], target[1] - origin[1], 0.0])
    geom = np.zeros(1, np.int32)
    dist = mujoco.mj_ray(
        m, d, origin, direction, sim.world.lidar_geomgroup, 1, sim.world.robot.body_id, geom
    )
    return dist >= 0 and int(m.geom_bodyid[geom[0]]) == body
