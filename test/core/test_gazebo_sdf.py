"""The Gazebo world and bridge configuration, checked without Gazebo.

Gazebo cannot run here, so this checks what can be checked: the committed worlds/apartment.sdf
and config/gz_bridge.yaml are exactly what synth_agent/sim/sdf.py generates from the MJCF (no
drift); the SDF parses and names the robot model, its sensors and the gz systems the bridge
relies on; sensor parameters equal the embedded simulator's (taken from its own World, Lidar and
SimConfig, not from sdf.py); and every bridged topic has the contract's name and message type,
a gz type ros_gz_bridge can convert it to, and the right direction. Whether Gazebo loads the
world and the robot drives is exercised only on a machine with Gazebo.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import yaml

from synth_agent.core import contract
from synth_agent.launch_description import share_file
from synth_agent.paths import SOURCE_ROOT
from synth_agent.sim import sdf
from synth_agent.sim.config import SimConfig

# ros_gz_bridge's conversions for the types we bridge (ros_gz_bridge README, "Message types").
BRIDGEABLE = {
    ("rosgraph_msgs/msg/Clock", "gz.msgs.Clock"),
    ("geometry_msgs/msg/Twist", "gz.msgs.Twist"),
    ("nav_msgs/msg/Odometry", "gz.msgs.Odometry"),
    ("sensor_msgs/msg/LaserScan", "gz.msgs.LaserScan"),
    ("sensor_msgs/msg/Image", "gz.msgs.Image"),
    ("sensor_msgs/msg/CameraInfo", "gz.msgs.CameraInfo"),
    ("sensor_msgs/msg/JointState", "gz.msgs.Model"),
}
# What the embedded simulator gives the agent and takes from it (sim/ground_truth is test-only,
# gripper has no Gazebo counterpart).
SIM_OUT = {
    "/clock",
    contract.ODOM.name,
    contract.SCAN.name,
    contract.IMAGE.name,
    contract.DEPTH.name,
    contract.CAMERA_INFO.name,
    contract.JOINT_STATES.name,
}
SIM_IN = {contract.CMD_VEL.name}


@pytest.fixture(scope="module")
def world_xml() -> ET.Element:
    return ET.parse(sdf.SDF_PATH).getroot()


@pytest.fixture(scope="module")
def robot(world_xml) -> ET.Element:
    return world_xml.find(f"world/model[@name='{sdf.ROBOT}']")


@pytest.fixture(scope="module")
def embedded():
    """The embedded simulator's own view of the world (mujoco)."""
    from synth_agent.sim.world import World

    return World(SimConfig().world)


@pytest.fixture(scope="module")
def bridge() -> list[dict]:
    return yaml.safe_load(sdf.BRIDGE_PATH.read_text())


def sensor(robot: ET.Element, name: str) -> ET.Element:
    found = robot.findall(f"link/sensor[@name='{name}']")
    assert len(found) == 1, f"one sensor {name!r} expected"
    return found[0]


def value(e: ET.Element, path: str) -> float:
    node = e.find(path)
    assert node is not None, path
    return float(node.text)


def rpy_matrix(roll: float, pitch: float, yaw: float) -> np.ndarray:
    cr, sr, cp, sp, cy, sy = (f(a) for a in (roll, pitch, yaw) for f in (math.cos, math.sin))
    rx = np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
    ry = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
    rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
    return rz @ ry @ rx


# --- no drift -------------------------------------------------------------------------------


def test_committed_files_are_what_the_generator_writes():
    for path, text in sdf.outputs().items():
        assert path.read_text() == text, (
            f"{path.relative_to(SOURCE_ROOT)} is out of date: run python -m synth_agent.sim.sdf"
        )
    assert sdf.main(["--check"]) == 0


def test_generation_is_deterministic():
    assert sdf.build_sdf() == sdf.build_sdf()


# --- the world ------------------------------------------------------------------------------


def test_sdf_parses_and_has_world_systems(world_xml):
    assert world_xml.tag == "sdf" and world_xml.get("version") == sdf.SDF_VERSION
    (world,) = world_xml.findall("world")
    assert world.get("name") == sdf.WORLD_NAME
    systems = {p.get("name") for p in world.findall("plugin")}
    assert {
        "gz::sim::systems::Physics",
        "gz::sim::systems::UserCommands",
        "gz::sim::systems::SceneBroadcaster",
        "gz::sim::systems::Sensors",
    } <= systems
    for p in world.iter("plugin"):
        short = p.get("name").rsplit("::", 1)[-1]
        assert p.get("filename", "").startswith("gz-sim-"), short


def test_every_wall_furniture_object_and_the_person_are_in_the_world(world_xml, embedded):
    from synth_agent.sim.gl import mujoco

    m = embedded.model
    building = world_xml.find("world/model[@name='apartment']")
    assert building.findtext("static") == "true"
    visuals = {v.get("name") for v in building.iter("visual")}
    for g in range(m.ngeom):
        name = mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_GEOM, g)
        if m.geom_bodyid[g] == 0 and name:
            assert f"{name}_visual" in visuals, name
    models = {e.get("name") for e in world_xml.findall("world/model")}
    movable = {"kitchen_table", "chair_north", "chair_south", "coffee_table", "nightstand"}
    assert set(embedded.objects) | movable | {"person", sdf.ROBOT} <= models
    cup = world_xml.find("world/model[@name='red_cup']")
    assert value(cup, "link/inertial/mass") == pytest.approx(0.2)


def test_robot_pose_joints_and_drive_match_the_embedded_robot(robot, embedded):
    config = SimConfig()
    x, y, z, roll, pitch, yaw = (float(v) for v in robot.findtext("pose").split())
    assert (x, y, yaw) == pytest.approx(config.initial_pose, abs=1e-6)
    assert z == pytest.approx(embedded.wheel_radius_m)
    assert {link.get("name") for link in robot.findall("link")} >= {
        "base_link",
        "left_wheel",
        "right_wheel",
    }
    joints = {j.get("name"): j.get("type") for j in robot.findall("joint")}
    assert joints["left_wheel_joint"] == joints["right_wheel_joint"] == "revolute"
    drive = robot.find("plugin[@name='gz::sim::systems::DiffDrive']")
    assert drive.get("filename") == "gz-sim-diff-drive-system"
    assert value(drive, "wheel_separation") == pytest.approx(embedded.track_m, abs=1e-6)
    assert value(drive, "wheel_radius") == pytest.approx(embedded.wheel_radius_m, abs=1e-6)
    assert value(drive, "max_linear_velocity") == config.max_linear_mps
    assert value(drive, "max_angular_velocity") == config.max_angular_radps
    odom = robot.find("plugin[@name='gz::sim::systems::OdometryPublisher']")
    assert odom.get("filename") == "gz-sim-odometry-publisher-system"
    assert odom.findtext("odom_frame") == config.odom_frame
    assert odom.findtext("robot_base_frame") == config.base_frame
    assert value(odom, "odom_publish_frequency") == config.odom_rate_hz
    joints_pub = robot.find("plugin[@name='gz::sim::systems::JointStatePublisher']")
    assert joints_pub.get("filename") == "gz-sim-joint-state-publisher-system"


def test_lidar_matches_the_embedded_lidar(robot, embedded):
    from synth_agent.sim.gl import mujoco
    from synth_agent.sim.robot import Lidar

    config = SimConfig()
    lidar = sensor(robot, "lidar")
    assert lidar.get("type") == "gpu_lidar"
    geometry = Lidar(
        embedded,
        config.lidar_beams,
        config.lidar_range_min_m,
        config.lidar_range_max_m,
        config.lidar_noise_m,
        np.random.default_rng(0),
    ).geometry
    horizontal = lidar.find("lidar/scan/horizontal")
    assert int(horizontal.findtext("samples")) == config.lidar_beams
    assert value(horizontal, "min_angle") == pytest.approx(geometry.angle_min, abs=1e-6)
    assert value(horizontal, "max_angle") == pytest.approx(geometry.angle_max, abs=1e-6)
    assert value(lidar, "lidar/range/min") == geometry.range_min
    assert value(lidar, "lidar/range/max") == geometry.range_max
    assert value(lidar, "lidar/noise/stddev") == config.lidar_noise_m
    assert value(lidar, "update_rate") == config.lidar_rate_hz
    assert lidar.findtext("gz_frame_id") == config.laser_frame
    site = mujoco.mj_name2id(embedded.model, mujoco.mjtObj.mjOBJ_SITE, "lidar")
    pose = [float(v) for v in lidar.findtext("pose").split()]
    assert pose[:3] == pytest.approx(embedded.model.site_pos[site], abs=1e-6)


def test_camera_matches_the_embedded_camera(robot, embedded):
    config = SimConfig()
    camera = sensor(robot, "camera")
    assert camera.get("type") == "rgbd_camera"
    assert int(camera.findtext("camera/image/width")) == config.image_width
    assert int(camera.findtext("camera/image/height")) == config.image_height
    hfov = value(camera, "camera/horizontal_fov")
    vfov = 2 * math.atan(math.tan(hfov / 2) * config.image_height / config.image_width)
    assert math.degrees(vfov) == pytest.approx(config.camera_fovy_deg, abs=1e-4)
    assert value(camera, "camera/depth_camera/clip/far") == config.depth_max_m
    assert value(camera, "update_rate") == config.camera_rate_hz
    assert camera.findtext("gz_frame_id") == config.camera_frame
    # Same place and viewing direction: MuJoCo cameras look along their -z, Gazebo's along +x.
    m, cam = embedded.model, embedded.camera
    x, y, z, roll, pitch, yaw = (float(v) for v in camera.findtext("pose").split())
    assert [x, y, z] == pytest.approx(m.cam_pos[cam], abs=1e-6)
    w, qx, qy, qz = m.cam_quat[cam]
    mj_view = -np.array(
        [2 * (qx * qz + w * qy), 2 * (qy * qz - w * qx), 1 - 2 * (qx * qx + qy * qy)]
    )
    gz_view = rpy_matrix(roll, pitch, yaw) @ np.array([1.0, 0.0, 0.0])
    assert gz_view == pytest.approx(mj_view, abs=1e-5)
    assert math.degrees(pitch) == pytest.approx(8.0, abs=0.01), "pitched 8 degrees down"


# --- the bridge -----------------------------------------------------------------------------


def gz_topics_in_sdf(robot: ET.Element) -> set[str]:
    """Every gz topic the SDF's robot publishes or subscribes to (plus the server's /clock)."""
    topics = {"/clock"}
    for p in robot.findall("plugin"):
        for tag in ("topic", "odom_topic"):
            if p.findtext(tag):
                topics.add(p.findtext(tag))
    topics.add(sensor(robot, "lidar").findtext("topic"))
    base = sensor(robot, "camera").findtext("topic")  # rgbd_camera publishes under its topic
    topics |= {f"{base}/image", f"{base}/depth_image", f"{base}/camera_info"}
    return topics


def test_bridge_entries_match_the_contract(bridge):
    by_name = {t.name: t for t in contract.TOPICS}
    assert len({e["ros_topic_name"] for e in bridge}) == len(bridge), "one entry per topic"
    for entry in bridge:
        name, ros_type = entry["ros_topic_name"], entry["ros_type_name"]
        assert set(entry) == {
            "ros_topic_name",
            "gz_topic_name",
            "ros_type_name",
            "gz_type_name",
            "direction",
        }
        if name == "/clock":
            assert ros_type == "rosgraph_msgs/msg/Clock"
        else:
            assert not name.startswith("/"), f"{name} must be relative to move with a namespace"
            assert name in by_name, f"{name} is not in the topic contract"
            assert ros_type == by_name[name].msg_type, name
        assert (ros_type, entry["gz_type_name"]) in BRIDGEABLE, name


def test_bridge_covers_what_the_embedded_sim_publishes_in_the_right_direction(bridge):
    out = {e["ros_topic_name"] for e in bridge if e["direction"] == "GZ_TO_ROS"}
    into = {e["ros_topic_name"] for e in bridge if e["direction"] == "ROS_TO_GZ"}
    assert out == SIM_OUT
    assert into == SIM_IN
    assert {e["direction"] for e in bridge} == {"GZ_TO_ROS", "ROS_TO_GZ"}


def test_every_bridged_gz_topic_exists_in_the_world(bridge, robot):
    in_sdf = gz_topics_in_sdf(robot)
    for entry in bridge:
        assert entry["gz_topic_name"] in in_sdf, entry


def test_launch_defaults_and_install_include_the_gazebo_files(monkeypatch):
    from distutils.core import run_setup  # setuptools' copy; setup.py globs from its folder

    monkeypatch.chdir(SOURCE_ROOT)
    assert share_file("worlds", "apartment.sdf") == sdf.SDF_PATH
    assert share_file("config", "gz_bridge.yaml") == sdf.BRIDGE_PATH
    dist = run_setup(str(SOURCE_ROOT / "setup.py"), stop_after="init")
    installed = {f"{d}/{f.rsplit('/', 1)[-1]}" for d, files in dist.data_files for f in files}
    for rel in ("launch/gazebo.launch.py", "worlds/apartment.sdf", "config/gz_bridge.yaml"):
        assert f"share/synth_agent/{rel}" in installed, rel
