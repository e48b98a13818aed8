"""Generate the Gazebo world (SDF) and the ros_gz_bridge configuration from the MuJoCo model.

The embedded simulator's MJCF (assets/apartment.xml + robot.xml) and `SimConfig` are the one
source of truth for the apartment, its furniture and objects, and the robot with its sensors.
Writing the SDF by hand would let the two worlds drift apart, so this module compiles the MJCF
with MuJoCo and writes what the compiled model says: every geom with its world pose, size and
colour, every free body with its mass and inertia, the robot's links and wheel joints, and the
lidar and RGB-D camera with the parameters the embedded simulator uses (beams, range, noise,
image size, field of view, rates). The bridge table below maps each gz topic of that world onto
the topic contract (synth_agent/core/contract.py).

    python -m synth_agent.sim.sdf            # rewrite worlds/apartment.sdf, config/gz_bridge.yaml
    python -m synth_agent.sim.sdf --check    # exit 1 if either file differs from the model

test/core/test_gazebo_sdf.py fails when the committed files differ from what this writes.

What does not carry over (said in the README, too): the person stands still (a static model at
the first point of `person_path`), the gripper is visual only (MuJoCo holds objects with a weld
the simulator switches on; Gazebo has no counterpart here), and `sim/ground_truth`,
`sim/reset` and `sim/obstacle` exist only in the embedded simulator. The droppable obstacles
are exported where the MJCF parks them, outside the apartment; in Gazebo, UserCommands'
`/world/apartment/set_pose` service can move them into the robot's way. The result is checked
here for structure; it is exercised in Gazebo only on a machine that has Gazebo.
"""

from __future__ import annotations

import argparse
import math
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synth_agent.core import contract
from synth_agent.sim.config import SimConfig

SOURCE_ROOT = Path(__file__).resolve().parents[2]
SDF_PATH = SOURCE_ROOT / "worlds" / "apartment.sdf"
BRIDGE_PATH = SOURCE_ROOT / "config" / "gz_bridge.yaml"
SDF_VERSION = "1.9"
WORLD_NAME = "apartment"
ROBOT = "synth_robot"
ROBOT_BODIES = ("base_link", "left_wheel", "right_wheel", "gripper")
GZ = f"/model/{ROBOT}"
CLOCK = contract.Topic("/clock", "rosgraph_msgs/msg/Clock", "default")


@dataclass(frozen=True)
class Bridged:
    """One ros_gz_bridge entry: a contract topic, its gz topic and type, and the direction."""

    topic: contract.Topic
    gz_topic: str
    gz_type: str
    direction: str  # GZ_TO_ROS or ROS_TO_GZ


BRIDGE: tuple[Bridged, ...] = (
    Bridged(CLOCK, "/clock", "gz.msgs.Clock", "GZ_TO_ROS"),
    Bridged(contract.CMD_VEL, f"{GZ}/cmd_vel", "gz.msgs.Twist", "ROS_TO_GZ"),
    Bridged(contract.ODOM, f"{GZ}/odometry", "gz.msgs.Odometry", "GZ_TO_ROS"),
    Bridged(contract.SCAN, f"{GZ}/scan", "gz.msgs.LaserScan", "GZ_TO_ROS"),
    Bridged(contract.IMAGE, f"{GZ}/camera/image", "gz.msgs.Image", "GZ_TO_ROS"),
    Bridged(contract.DEPTH, f"{GZ}/camera/depth_image", "gz.msgs.Image", "GZ_TO_ROS"),
    Bridged(contract.CAMERA_INFO, f"{GZ}/camera/camera_info", "gz.msgs.CameraInfo", "GZ_TO_ROS"),
    Bridged(contract.JOINT_STATES, f"{GZ}/joint_states", "gz.msgs.Model", "GZ_TO_ROS"),
)


# --- small numeric helpers -----------------------------------------------------------------


def num(x: float) -> str:
    """A float as short, stable text (6 decimals at most, no '-0')."""
    text = f"{round(float(x), 6):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def nums(values) -> str:
    return " ".join(num(v) for v in values)


def quat_to_mat(q) -> np.ndarray:
    """Rotation matrix of a MuJoCo quaternion (w, x, y, z)."""
    w, x, y, z = np.asarray(q, dtype=np.float64) / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def mat_to_rpy(r: np.ndarray) -> tuple[float, float, float]:
    """SDF roll, pitch, yaw (R = Rz(yaw) Ry(pitch) Rx(roll)) of a rotation matrix."""
    pitch = math.asin(max(-1.0, min(1.0, -r[2, 0])))
    if abs(r[2, 0]) < 1 - 1e-9:
        roll = math.atan2(r[2, 1], r[2, 2])
        yaw = math.atan2(r[1, 0], r[0, 0])
    else:  # gimbal lock: put it all in yaw
        roll, yaw = 0.0, math.atan2(-r[0, 1], r[1, 1])
    return roll, pitch, yaw


def pose_text(pos, rot: np.ndarray | None = None) -> str:
    rpy = (0.0, 0.0, 0.0) if rot is None else mat_to_rpy(rot)
    return nums(list(pos) + list(rpy))


def sub(parent: ET.Element, tag: str, text: object = None, **attrib: str) -> ET.Element:
    e = ET.SubElement(parent, tag, attrib)
    if text is not None:
        e.text = text if isinstance(text, str) else num(text)
    return e


def plugin(parent: ET.Element, filename: str, name: str, **params: object) -> ET.Element:
    p = sub(parent, "plugin", filename=filename, name=name)
    for key, value in params.items():
        for v in value if isinstance(value, list | tuple) else [value]:
            sub(p, key, v)
    return p


# --- the model ------------------------------------------------------------------------------


class _Model:
    """The compiled MJCF at its initial state, with lookups by name."""

    def __init__(self, config: SimConfig) -> None:
        from synth_agent.sim.gl import mujoco
        from synth_agent.sim.world import resolve_world

        self.mj = mujoco
        self.m = mujoco.MjModel.from_xml_path(str(resolve_world(config.world)))
        self.d = mujoco.MjData(self.m)
        mujoco.mj_forward(self.m, self.d)

    def name(self, kind, i: int) -> str:
        return self.mj.mj_id2name(self.m, kind, i) or ""

    def body(self, name: str) -> int:
        i = self.mj.mj_name2id(self.m, self.mj.mjtObj.mjOBJ_BODY, name)
        if i < 0:
            raise ValueError(f"the MJCF has no body {name!r}")
        return i

    def geoms(self, body: int) -> list[int]:
        return [g for g in range(self.m.ngeom) if self.m.geom_bodyid[g] == body]

    def rgba(self, g: int) -> np.ndarray:
        """A geom's colour: its material's (a textured material: the texture's mean colour)."""
        m = self.m
        mat = int(m.geom_matid[g])
        if mat < 0:
            return np.asarray(m.geom_rgba[g])
        rgba = np.asarray(m.mat_rgba[mat], dtype=np.float64).copy()
        tex = int(np.max(m.mat_texid[mat]))
        if tex >= 0:
            rgba[:3] *= self.texture_colour(tex)
        return rgba

    def texture_colour(self, tex: int) -> np.ndarray:
        """The mean RGB (0..1) of a texture."""
        m = self.m
        adr, n = int(m.tex_adr[tex]), int(m.tex_width[tex] * m.tex_height[tex])
        channels = int(m.tex_nchannel[tex])
        data = np.asarray(m.tex_data[adr : adr + n * channels]).reshape(n, channels)
        return data[:, :3].mean(axis=0) / 255.0

    def sky(self) -> list[float]:
        """The skybox's mean colour as RGBA (grey when the MJCF has no skybox)."""
        m = self.m
        for tex in range(m.ntex):
            if int(m.tex_type[tex]) == int(self.mj.mjtTexture.mjTEXTURE_SKYBOX):
                return list(self.texture_colour(tex)) + [1.0]
        return [0.7, 0.7, 0.7, 1.0]


def _geometry(parent: ET.Element, model: _Model, g: int) -> None:
    m, t = model.m, model.mj.mjtGeom
    kind, size = int(m.geom_type[g]), m.geom_size[g]
    geometry = sub(parent, "geometry")
    if kind == t.mjGEOM_PLANE:
        plane = sub(geometry, "plane")
        sub(plane, "normal", "0 0 1")
        sub(plane, "size", nums(2 * size[:2]))
    elif kind == t.mjGEOM_BOX:
        sub(sub(geometry, "box"), "size", nums(2 * size[:3]))
    elif kind == t.mjGEOM_SPHERE:
        sub(sub(geometry, "sphere"), "radius", size[0])
    elif kind in (t.mjGEOM_CYLINDER, t.mjGEOM_CAPSULE):
        shape = sub(geometry, "cylinder" if kind == t.mjGEOM_CYLINDER else "capsule")
        sub(shape, "radius", size[0])
        sub(shape, "length", 2 * size[1])
    else:
        raise ValueError(f"geom {g} has a type SDF export does not handle: {kind}")


def _add_geom(link: ET.Element, model: _Model, g: int, pose: str, index: int) -> None:
    """A geom as a visual (unless hidden collision group 3) and a collision (if it collides)."""
    m = model.m
    name = model.name(model.mj.mjtObj.mjOBJ_GEOM, g) or f"geom{index}"
    collides = bool(m.geom_contype[g] or m.geom_conaffinity[g])
    if int(m.geom_group[g]) != 3:
        visual = sub(link, "visual", name=f"{name}_visual")
        sub(visual, "pose", pose)
        _geometry(visual, model, g)
        rgba = nums(model.rgba(g))
        material = sub(visual, "material")
        sub(material, "ambient", rgba)
        sub(material, "diffuse", rgba)
    if collides:
        collision = sub(link, "collision", name=f"{name}_collision")
        sub(collision, "pose", pose)
        _geometry(collision, model, g)
        mu = float(m.geom_friction[g][0])
        ode = sub(sub(sub(collision, "surface"), "friction"), "ode")
        sub(ode, "mu", mu)
        sub(ode, "mu2", mu)


def _geom_pose(model: _Model, g: int, origin: np.ndarray | None = None) -> str:
    """A geom's pose in its body frame, or in the world relative to `origin` (None: body)."""
    m = model.m
    if origin is None:
        return pose_text(m.geom_pos[g], quat_to_mat(m.geom_quat[g]))
    return pose_text(model.d.geom_xpos[g] - origin, model.d.geom_xmat[g].reshape(3, 3))


def _inertial(link: ET.Element, model: _Model, body: int) -> None:
    m = model.m
    inertial = sub(link, "inertial")
    sub(inertial, "pose", pose_text(m.body_ipos[body], quat_to_mat(m.body_iquat[body])))
    sub(inertial, "mass", float(m.body_mass[body]))
    inertia = sub(inertial, "inertia")
    for tag, value in zip(("ixx", "iyy", "izz"), m.body_inertia[body], strict=True):
        sub(inertia, tag, float(value))
    for tag in ("ixy", "ixz", "iyz"):
        sub(inertia, tag, 0.0)


def _building(world: ET.Element, model: _Model) -> None:
    """Walls, floor and fixed furniture: every geom of the MuJoCo world body, one static link."""
    building = sub(world, "model", name=WORLD_NAME)
    sub(building, "static", "true")
    link = sub(building, "link", name="building")
    for i, g in enumerate(model.geoms(0)):
        _add_geom(link, model, g, _geom_pose(model, g), i)


def _free_bodies(world: ET.Element, model: _Model, config: SimConfig) -> None:
    """Movable furniture and objects (free bodies) with their masses, and the person."""
    m, obj = model.m, model.mj.mjtObj
    for b in range(1, m.nbody):
        name = model.name(obj.mjOBJ_BODY, b)
        if name in ROBOT_BODIES or int(m.body_rootid[b]) != b:
            continue
        mocap = int(m.body_mocapid[b]) >= 0
        if not mocap and int(m.body_jntnum[b]) == 0:
            continue
        x = sub(world, "model", name=name)
        if mocap:  # the person: walks in MuJoCo, stands where the simulator first puts it
            (px, py), yaw = config.person_points[0], config.person_yaw
            sub(x, "pose", nums([px, py, model.d.xpos[b][2], 0, 0, yaw]))
            sub(x, "static", "true")
        else:
            sub(x, "pose", pose_text(model.d.xpos[b], model.d.xmat[b].reshape(3, 3)))
        link = sub(x, "link", name="link")
        if not mocap:
            _inertial(link, model, b)
        for i, g in enumerate(model.geoms(b)):
            _add_geom(link, model, g, _geom_pose(model, g), i)


def _lidar(link: ET.Element, model: _Model, config: SimConfig) -> None:
    m = model.m
    site = model.mj.mj_name2id(m, model.mj.mjtObj.mjOBJ_SITE, "lidar")
    inc = 2 * math.pi / config.lidar_beams
    sensor = sub(link, "sensor", name="lidar", type="gpu_lidar")
    sub(sensor, "pose", pose_text(m.site_pos[site]))
    sub(sensor, "topic", f"{GZ}/scan")
    sub(sensor, "gz_frame_id", config.laser_frame)
    sub(sensor, "update_rate", config.lidar_rate_hz)
    sub(sensor, "always_on", "true")
    lidar = sub(sensor, "lidar")
    horizontal = sub(sub(lidar, "scan"), "horizontal")
    sub(horizontal, "samples", str(config.lidar_beams))
    sub(horizontal, "resolution", "1")
    sub(horizontal, "min_angle", -math.pi)
    sub(horizontal, "max_angle", -math.pi + inc * (config.lidar_beams - 1))
    rng = sub(lidar, "range")
    sub(rng, "min", config.lidar_range_min_m)
    sub(rng, "max", config.lidar_range_max_m)
    sub(rng, "resolution", "0.001")
    noise = sub(lidar, "noise")
    sub(noise, "type", "gaussian")
    sub(noise, "mean", "0")
    sub(noise, "stddev", config.lidar_noise_m)


def horizontal_fov(config: SimConfig) -> float:
    """Gazebo's horizontal field of view (rad) for the sim's vertical one and image size."""
    half = math.radians(config.camera_fovy_deg) / 2
    return 2 * math.atan(math.tan(half) * config.image_width / config.image_height)


def _camera(link: ET.Element, model: _Model, config: SimConfig) -> None:
    m = model.m
    cam = model.mj.mj_name2id(m, model.mj.mjtObj.mjOBJ_CAMERA, "front")
    # MuJoCo cameras look along -z with y up; Gazebo's along +x with z up.
    gz_axes_in_mj = np.array([[0, -1, 0], [0, 0, 1], [-1, 0, 0]], dtype=np.float64)
    rot = quat_to_mat(m.cam_quat[cam]) @ gz_axes_in_mj
    sensor = sub(link, "sensor", name="camera", type="rgbd_camera")
    sub(sensor, "pose", pose_text(m.cam_pos[cam], rot))
    sub(sensor, "topic", f"{GZ}/camera")
    sub(sensor, "gz_frame_id", config.camera_frame)
    sub(sensor, "update_rate", config.camera_rate_hz)
    sub(sensor, "always_on", "true")
    camera = sub(sensor, "camera")
    sub(camera, "horizontal_fov", horizontal_fov(config))
    image = sub(camera, "image")
    sub(image, "width", str(config.image_width))
    sub(image, "height", str(config.image_height))
    sub(image, "format", "R8G8B8")
    clip = sub(camera, "clip")
    sub(clip, "near", float(m.vis.map.znear * m.stat.extent))
    sub(clip, "far", config.depth_max_m)
    depth_clip = sub(sub(camera, "depth_camera"), "clip")
    sub(depth_clip, "near", float(m.vis.map.znear * m.stat.extent))
    sub(depth_clip, "far", config.depth_max_m)


def _robot(world: ET.Element, model: _Model, config: SimConfig) -> None:
    """The robot: base_link (chassis, mast, casters, gripper, sensors) and two wheel links on
    revolute joints, driven by DiffDrive; odometry, joint states from their gz systems."""
    m = model.m
    base = model.body("base_link")
    x, y, yaw = config.initial_pose
    left, right = model.body("left_wheel"), model.body("right_wheel")
    wheel_radius = next(
        float(m.geom_size[g][0]) for g in model.geoms(left) if m.geom_contype[g]
    )  # the rolling sphere, as World._wheel_radius finds it
    track = float(np.linalg.norm(m.body_pos[left] - m.body_pos[right]))
    robot = sub(world, "model", name=ROBOT)
    sub(robot, "pose", nums([x, y, wheel_radius, 0, 0, yaw]))
    link = sub(robot, "link", name="base_link")
    _inertial(link, model, base)
    for i, g in enumerate(model.geoms(base)):
        _add_geom(link, model, g, _geom_pose(model, g), i)
    _lidar(link, model, config)
    _camera(link, model, config)
    for body in (left, right, model.body("gripper")):
        name = model.name(model.mj.mjtObj.mjOBJ_BODY, body)
        child = sub(robot, "link", name=name)
        sub(child, "pose", pose_text(m.body_pos[body], quat_to_mat(m.body_quat[body])))
        _inertial(child, model, body)
        for i, g in enumerate(model.geoms(body)):
            _add_geom(child, model, g, _geom_pose(model, g), i)
        if int(m.body_jntnum[body]) == 0:  # the gripper: fingers are visual, fixed to the base
            joint = sub(robot, "joint", name=f"{name}_joint", type="fixed")
            sub(joint, "parent", "base_link")
            sub(joint, "child", name)
            continue
        jnt = int(m.body_jntadr[body])
        jname = model.name(model.mj.mjtObj.mjOBJ_JOINT, jnt)
        joint = sub(robot, "joint", name=jname, type="revolute")
        sub(joint, "parent", "base_link")
        sub(joint, "child", name)
        axis = sub(joint, "axis")
        sub(axis, "xyz", nums(m.jnt_axis[jnt]))
        sub(sub(axis, "dynamics"), "damping", float(m.dof_damping[int(m.jnt_dofadr[jnt])]))
    plugin(
        robot,
        "gz-sim-diff-drive-system",
        "gz::sim::systems::DiffDrive",
        left_joint="left_wheel_joint",
        right_joint="right_wheel_joint",
        wheel_separation=track,
        wheel_radius=wheel_radius,
        max_linear_velocity=config.max_linear_mps,
        max_angular_velocity=config.max_angular_radps,
        topic=f"{GZ}/cmd_vel",
        # Wheel odometry starts at zero where the robot spawns; `odom` comes from the
        # OdometryPublisher below instead, in the apartment frame like the embedded sim's.
        odom_topic=f"{GZ}/wheel_odometry",
        tf_topic=f"{GZ}/wheel_odometry_tf",
        frame_id=config.odom_frame,
        child_frame_id=config.base_frame,
        odom_publish_frequency=config.odom_rate_hz,
    )
    plugin(
        robot,
        "gz-sim-odometry-publisher-system",
        "gz::sim::systems::OdometryPublisher",
        odom_frame=config.odom_frame,
        robot_base_frame=config.base_frame,
        odom_topic=f"{GZ}/odometry",
        odom_publish_frequency=config.odom_rate_hz,
        dimensions="2",
    )
    plugin(
        robot,
        "gz-sim-joint-state-publisher-system",
        "gz::sim::systems::JointStatePublisher",
        topic=f"{GZ}/joint_states",
        joint_name=["left_wheel_joint", "right_wheel_joint"],
    )


def build_sdf(config: SimConfig | None = None) -> str:
    """The SDF text of the apartment world with the robot, from the MJCF and `config`."""
    config = config or SimConfig()
    model = _Model(config)
    m = model.m
    root = ET.Element("sdf", version=SDF_VERSION)
    world = sub(root, "world", name=WORLD_NAME)
    physics = sub(world, "physics", name="default", type="ode")
    sub(physics, "max_step_size", float(m.opt.timestep))
    sub(physics, "real_time_factor", config.real_time_factor)
    sub(world, "gravity", nums(m.opt.gravity))
    plugin(world, "gz-sim-physics-system", "gz::sim::systems::Physics")
    plugin(world, "gz-sim-user-commands-system", "gz::sim::systems::UserCommands")
    plugin(world, "gz-sim-scene-broadcaster-system", "gz::sim::systems::SceneBroadcaster")
    plugin(world, "gz-sim-sensors-system", "gz::sim::systems::Sensors", render_engine="ogre2")
    scene = sub(world, "scene")
    sub(scene, "ambient", nums(list(m.vis.headlight.ambient) + [1]))
    sub(scene, "background", nums(model.sky()))
    for i in range(m.nlight):
        light = sub(world, "light", name=model.name(model.mj.mjtObj.mjOBJ_LIGHT, i) or f"light{i}",
                    type="directional" if _light_directional(m, i) else "point")  # fmt: skip
        sub(light, "pose", nums(list(m.light_pos[i]) + [0, 0, 0]))
        sub(light, "diffuse", nums(list(m.light_diffuse[i]) + [1]))
        sub(light, "specular", nums(list(m.light_specular[i]) + [1]))
        sub(light, "direction", nums(m.light_dir[i]))
        sub(light, "cast_shadows", "true" if m.light_castshadow[i] else "false")
    _building(world, model)
    _free_bodies(world, model, config)
    _robot(world, model, config)
    ET.indent(root, space="  ")
    header = (
        '<?xml version="1.0"?>\n'
        "<!-- Generated by `python -m synth_agent.sim.sdf` from the embedded simulator's MJCF\n"
        f"     ({config.world} + robot.xml) and SimConfig. Do not edit: change the MJCF or\n"
        "     SimConfig and regenerate; test/core/test_gazebo_sdf.py checks they agree. -->\n"
    )
    return header + ET.tostring(root, encoding="unicode") + "\n"


def _light_directional(m, i: int) -> bool:
    if hasattr(m, "light_type"):
        return int(m.light_type[i]) == 1  # mjLIGHT_DIRECTIONAL
    return bool(m.light_directional[i])


def build_bridge_yaml() -> str:
    """ros_gz_bridge's config_file: one entry per BRIDGE row, ROS names relative to the
    bridge's namespace (except /clock)."""
    lines = [
        "# ros_gz_bridge configuration for launch/gazebo.launch.py. Generated by",
        "# `python -m synth_agent.sim.sdf` from its BRIDGE table; do not edit. ROS names are the",
        "# topic contract's (synth_agent/core/contract.py), relative so a namespace moves them;",
        "# gz names are those of worlds/apartment.sdf.",
    ]
    for b in BRIDGE:
        lines += [
            f'- ros_topic_name: "{b.topic.name}"',
            f'  gz_topic_name: "{b.gz_topic}"',
            f'  ros_type_name: "{b.topic.msg_type}"',
            f'  gz_type_name: "{b.gz_type}"',
            f"  direction: {b.direction}",
        ]
    return "\n".join(lines) + "\n"


def outputs() -> dict[Path, str]:
    """Every generated file and its text."""
    return {SDF_PATH: build_sdf(), BRIDGE_PATH: build_bridge_yaml()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m synth_agent.sim.sdf", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only check, exit 1 on drift")
    args = parser.parse_args(argv)
    stale = []
    for path, text in outputs().items():
        if path.is_file() and path.read_text() == text:
            continue
        stale.append(path)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path.relative_to(SOURCE_ROOT)}")
    if args.check and stale:
        names = ", ".join(str(p.relative_to(SOURCE_ROOT)) for p in stale)
        print(f"out of date: {names}; run python -m synth_agent.sim.sdf", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
