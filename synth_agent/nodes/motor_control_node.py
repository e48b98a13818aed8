"""motor_control: runs plans from `agent/plan` as closed-loop skills (a thin shell).

All behaviour is in `synth_agent.core.plan_executor` and `core.skills`; this node caches the
latest odometry, scan, scene, safety state and (in the simulator) ground truth of what the
gripper holds, and on each control tick hands them to the executor and publishes what it
returns: unfiltered requests on `agent/cmd_vel` / `agent/gripper` for the safety gate (never
the robot's own topics), progress on `agent/status`, sentences on `agent/feedback`.

Callbacks only store under a lock; the timer is the only place that calls the executor, so a
plan, a cancel and a tick never interleave.
"""

from __future__ import annotations

import json
import math
import threading

import numpy as np
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import LaserScan
from std_msgs.msg import Float64, String
from std_srvs.srv import Trigger

from synth_agent.core import contract
from synth_agent.core.motor import Command, MotorControlConfig, Observation
from synth_agent.core.places import PlacesError, load_places
from synth_agent.core.plan_executor import PlanExecutor, Tick
from synth_agent.core.schemas import SchemaError, parse_plan, parse_scene
from synth_agent.nodes.params import declare_config
from synth_agent.nodes.qos import profile
from synth_agent.nodes.spin import spin_node


def yaw_of(q) -> float:
    return math.atan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.y * q.y + q.z * q.z))


class MotorControlNode(Node):
    def __init__(self) -> None:
        super().__init__("motor_control")
        self.cfg = declare_config(self, MotorControlConfig)
        try:
            places = load_places(self.cfg.places_file or None)
        except PlacesError as e:
            self.get_logger().fatal(f"cannot load places: {e}")
            raise
        self.executor_core = PlanExecutor(self.cfg, places)
        self._lock = threading.Lock()
        self._obs = Observation()
        self._odom_seen = False
        self._inbox: list[tuple[str, object]] = []

        self.pub_cmd = self.create_publisher(
            Twist, contract.AGENT_CMD_VEL.name, profile(contract.AGENT_CMD_VEL)
        )
        self.pub_gripper = self.create_publisher(
            Float64, contract.AGENT_GRIPPER.name, profile(contract.AGENT_GRIPPER)
        )
        self.pub_status = self.create_publisher(
            String, contract.STATUS.name, profile(contract.STATUS)
        )
        self.pub_feedback = self.create_publisher(
            String, contract.FEEDBACK.name, profile(contract.FEEDBACK)
        )
        inputs = [
            (String, contract.PLAN, self.on_plan),
            (Odometry, contract.ODOM, self.on_odom),
            (LaserScan, contract.SCAN, self.on_scan),
            (String, contract.SCENE, self.on_scene),
            (String, contract.SAFETY_STATE, self.on_safety),
            (String, contract.GROUND_TRUTH, self.on_truth),
        ]
        for msg_type, topic, callback in inputs:
            self.create_subscription(msg_type, topic.name, callback, profile(topic))
        self.create_service(Trigger, contract.CANCEL[0], self.on_cancel)
        self.create_timer(self.cfg.period_s, self.on_tick)
        self.get_logger().info(
            f"motor_control ready: {len(places.places)} places, {self.cfg.control_rate_hz:.0f} Hz"
        )

    def now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    # --- inputs: cache only ------------------------------------------------------------------
    def on_plan(self, msg: String) -> None:
        try:
            plan = parse_plan(msg.data)
        except SchemaError as e:
            self.get_logger().warning(f"rejected plan message: {e}")
            self.pub_feedback.publish(String(data=f"I received a broken plan and ignored it: {e}"))
            return
        if plan.type != "plan":
            return  # answers, questions and refusals are for the operator, not the motors
        with self._lock:
            self._inbox.append(("plan", plan))

    def on_cancel(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        with self._lock:
            busy = self.executor_core.busy
            self._inbox.append(("cancel", None))
        response.success = True
        response.message = "canceling the running plan" if busy else "no plan was running"
        return response

    def on_odom(self, msg: Odometry) -> None:
        p, t = msg.pose.pose, msg.twist.twist
        values = (p.position.x, p.position.y, t.linear.x, t.angular.z)
        if not all(math.isfinite(v) for v in values):
            self.get_logger().warning("ignored odometry with non-finite values")
            return
        with self._lock:
            o = self._obs
            o.x, o.y, o.yaw = p.position.x, p.position.y, yaw_of(p.orientation)
            o.v, o.w = t.linear.x, t.angular.z
            self._odom_seen = True

    def on_scan(self, msg: LaserScan) -> None:
        ranges = np.asarray(msg.ranges, dtype=float)
        angles = msg.angle_min + msg.angle_increment * np.arange(ranges.size)
        bad = ~np.isfinite(ranges) | (ranges < msg.range_min) | (ranges > msg.range_max)
        ranges[bad] = np.inf
        with self._lock:
            self._obs.ranges, self._obs.angles = ranges, angles

    def on_scene(self, msg: String) -> None:
        try:
            scene = parse_scene(msg.data)
        except SchemaError as e:
            self.get_logger().warning(f"rejected scene message: {e}")
            return
        with self._lock:
            self._obs.scene = scene

    def on_safety(self, msg: String) -> None:
        try:
            mode = json.loads(msg.data).get("mode")
        except (json.JSONDecodeError, AttributeError):
            return
        with self._lock:
            # Only a latched e-stop ends a plan; a gate ramping to zero between plans is not a hold.
            self._obs.safety = "estop" if mode == "estop" else None

    def on_truth(self, msg: String) -> None:
        try:
            held = json.loads(msg.data).get("held")
        except (json.JSONDecodeError, AttributeError):
            return
        with self._lock:
            self._obs.held = held or ""

    # --- the control period ------------------------------------------------------------------
    def on_tick(self) -> None:
        now = self.now()
        with self._lock:
            inbox, self._inbox = self._inbox, []
            ticks: list[Tick] = []
            for kind, item in inbox:
                if kind == "plan":
                    ticks.append(self.executor_core.submit(item, now))
                else:
                    ticks.append(self.executor_core.cancel(now))
            if self._odom_seen:
                ticks.append(self.executor_core.tick(self._obs, now))
            elif self.executor_core.busy:
                self.get_logger().warning("waiting for odometry before moving", once=True)
        for tick in ticks:
            self.publish(tick)

    def publish(self, tick: Tick) -> None:
        for status in tick.statuses:
            self.pub_status.publish(String(data=status.model_dump_json()))
        for sentence in tick.feedback:
            self.pub_feedback.publish(String(data=sentence))
        if tick.command is not None:
            self.send(tick.command)

    def send(self, cmd: Command) -> None:
        twist = Twist()
        twist.linear.x, twist.angular.z = float(cmd.linear), float(cmd.angular)
        self.pub_cmd.publish(twist)
        if cmd.gripper is not None:
            self.pub_gripper.publish(Float64(data=float(cmd.gripper)))

    def close(self) -> None:
        """On shutdown: one last zero so the gate does not wait for its watchdog."""
        self.send(Command())


def main(argv: list[str] | None = None) -> int:
    return spin_node(MotorControlNode, args=argv)
