"""The topic and service contract of ARCHITECTURE.md, in one place.

Names are relative so that a namespace or a remap moves all of them. QoS is described with plain
values here (core never imports rclpy); `synth_agent.nodes.qos` turns each description into an
rclpy QoSProfile. Anything that publishes or subscribes takes its name and QoS from this module,
so the contract cannot drift between nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Reliability = Literal["reliable", "best_effort"]
Durability = Literal["volatile", "transient_local"]
QosKind = Literal["reliable", "latched", "sensor", "best_effort", "default", "scene"]


@dataclass(frozen=True)
class Qos:
    """A QoS description independent of rclpy."""

    reliability: Reliability = "reliable"
    durability: Durability = "volatile"
    depth: int = 10


QOS: dict[QosKind, Qos] = {
    "reliable": Qos("reliable", "volatile", 10),
    "latched": Qos("reliable", "transient_local", 1),
    "sensor": Qos("best_effort", "volatile", 5),
    "best_effort": Qos("best_effort", "volatile", 1),
    "default": Qos("reliable", "volatile", 10),
    "scene": Qos("reliable", "volatile", 1),
}


@dataclass(frozen=True)
class Topic:
    """One row of the topic table: relative name, message type (package/msg/Type) and QoS kind."""

    name: str
    msg_type: str
    qos: QosKind


# Language and plans.
COMMAND = Topic("agent/command", "std_msgs/msg/String", "reliable")
SCENE = Topic("agent/scene", "std_msgs/msg/String", "scene")
MARKERS = Topic("agent/markers", "visualization_msgs/msg/MarkerArray", "best_effort")
IMAGE_ANNOTATED = Topic("agent/image_annotated", "sensor_msgs/msg/Image", "best_effort")
PLAN = Topic("agent/plan", "std_msgs/msg/String", "reliable")
STATUS = Topic("agent/status", "std_msgs/msg/String", "reliable")
FEEDBACK = Topic("agent/feedback", "std_msgs/msg/String", "reliable")

# Actuator requests (into the gate) and actuator outputs (out of the gate, the only ones).
AGENT_CMD_VEL = Topic("agent/cmd_vel", "geometry_msgs/msg/Twist", "reliable")
TELEOP_CMD_VEL = Topic("teleop/cmd_vel", "geometry_msgs/msg/Twist", "reliable")
AGENT_GRIPPER = Topic("agent/gripper", "std_msgs/msg/Float64", "reliable")
AGENT_ARM_TRAJECTORY = Topic(
    "agent/arm/joint_trajectory", "trajectory_msgs/msg/JointTrajectory", "reliable"
)
CMD_VEL = Topic("cmd_vel", "geometry_msgs/msg/Twist", "reliable")
GRIPPER = Topic("gripper", "std_msgs/msg/Float64", "reliable")
ARM_TRAJECTORY = Topic("arm/joint_trajectory", "trajectory_msgs/msg/JointTrajectory", "reliable")

# Safety.
ESTOP = Topic("safety/estop", "std_msgs/msg/Bool", "latched")
SAFETY_STATE = Topic("safety/state", "std_msgs/msg/String", "latched")
DIAGNOSTICS = Topic("/diagnostics", "diagnostic_msgs/msg/DiagnosticArray", "default")

# Sensors (robot or simulator).
IMAGE = Topic("camera/image_raw", "sensor_msgs/msg/Image", "sensor")
CAMERA_INFO = Topic("camera/camera_info", "sensor_msgs/msg/CameraInfo", "sensor")
DEPTH = Topic("camera/depth/image_raw", "sensor_msgs/msg/Image", "sensor")
SCAN = Topic("scan", "sensor_msgs/msg/LaserScan", "sensor")
ODOM = Topic("odom", "nav_msgs/msg/Odometry", "sensor")
JOINT_STATES = Topic("joint_states", "sensor_msgs/msg/JointState", "sensor")
GROUND_TRUTH = Topic("sim/ground_truth", "std_msgs/msg/String", "reliable")
# Scenario control of the embedded simulator: drop or park an obstacle (JSON).
SIM_OBSTACLE = Topic("sim/obstacle", "std_msgs/msg/String", "reliable")

TOPICS: tuple[Topic, ...] = tuple(v for v in globals().values() if isinstance(v, Topic))

# Services (relative names, std_srvs types).
SAFETY_RESET = ("safety/reset", "std_srvs/srv/Trigger")
SAFETY_ESTOP_SRV = ("safety/estop", "std_srvs/srv/SetBool")
CANCEL = ("agent/cancel", "std_srvs/srv/Trigger")
SIM_RESET = ("sim/reset", "std_srvs/srv/Trigger")

# JSON schema identifiers carried in the "schema" field of scene and plan messages.
SCENE_SCHEMA = "synth_agent/scene/v1"
PLAN_SCHEMA = "synth_agent/plan/v1"
