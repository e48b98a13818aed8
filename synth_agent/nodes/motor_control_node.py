"""motor_control: runs plans from `agent/plan` as closed-loop skills (a thin shell).

All behaviour is in `synth_agent.core.plan_executor` and `core.skills`; this node caches the
latest odometry, scan, scene, safety state and the gripper joint's position (from
`joint_states`), and on each control tick hands them to the executor and publishes what it
returns: unfiltered requests on `agent/cmd_vel` / `agent/gripper` for the safety gate (never
the robot's own topics), progress on `agent/status`, sentences on `agent/feedback`.

Grasps are confirmed from what a real robot has: the gripper joint (`gripper_joint` in
`joint_states`: fingers that stop part-way closed hold something) and the scene; see `Pick` and
`PlaceSkill` in core/skills.py for the order. The simulator's `sim/ground_truth` is subscribed
to only with `confirm_with_ground_truth` true, and then its "held" decides.

With `use_nav2` true and nav2_msgs importable, navigate_to is delegated to Nav2's
NavigateToPose action (`Nav2Navigator` below; Nav2's controller output should then be remapped
to agent/cmd_vel so the gate still filters it, and motor_control stays quiet while Nav2 drives).
nav2_msgs is imported only then, so the package runs without Nav2; when it is missing the node
says so at startup, as an error, and uses its built-in planner.

Sensor callbacks only store under a lock. A plan or a cancel is handed to the executor at once,
in its own callback and under the same lock as the tick, so the zero that stops the robot goes
out without waiting up to a control period for the timer (issue 7: preemption and cancel stop
the robot within 0.2 s, and the safety gate's deceleration ramp already takes most of that);
a plan, a cancel and a tick still never interleave.

With `localization` on (the default), each scan is matched against the map
(`core/localization.py`, the map_server map in config/map.yaml) at the odometry pose of the
scan's stamp, and the resulting map←odom correction is applied to the odometry pose and to the
scene before the executor sees them: the skills work in the map frame, the frame of the places
file, and odometry drift no longer moves the goals. A scan that does not fit is ignored with the
reason (debug log); without a usable map the node says so and steers on odometry.
"""

from __future__ import annotations

import json
import math
import threading
import time

import numpy as np
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import JointState, LaserScan
from std_msgs.msg import Float64, String
from std_srvs.srv import Trigger

from synth_agent.core import contract
from synth_agent.core.geometry import yaw_from_quaternion
from synth_agent.core.local_planner import scan_points
from synth_agent.core.localization import (
    Localizer,
    MapError,
    OccupancyMap,
    OdomHistory,
    scene_in_map,
)
from synth_agent.core.motor import Command, MotorControlConfig, Observation
from synth_agent.core.places import PlacesError, load_places
from synth_agent.core.plan_executor import PlanExecutor, Tick
from synth_agent.core.schemas import SchemaError, parse_plan, parse_scene
from synth_agent.core.skills import Navigator, NavState
from synth_agent.nodes.params import declare_config
from synth_agent.nodes.qos import profile
from synth_agent.nodes.spin import spin_node

JOINT_STATES_BEFORE_WARNING = 50  # joint_states messages without the gripper before a warning
ODOM_JUMP_M = 0.5  # odometry moving further than this between two messages has restarted
SERVER_WAIT_S = 5.0  # wall seconds a goal waits for Nav2's action server to be discovered


class Nav2Navigator:
    """`core.skills.Navigator` over Nav2's NavigateToPose action. Raises ImportError when
    nav2_msgs is not installed. Action callbacks run on the node's executor; the skill polls
    `state()` from the control tick."""

    def __init__(self, node: Node, action: str, frame: str) -> None:
        from action_msgs.msg import GoalStatus
        from nav2_msgs.action import NavigateToPose  # ImportError without Nav2
        from rclpy.action import ActionClient

        self._node, self._frame, self._action = node, frame, action
        self._goal_type = NavigateToPose.Goal
        self._succeeded, self._canceled = GoalStatus.STATUS_SUCCEEDED, GoalStatus.STATUS_CANCELED
        self._client = ActionClient(node, NavigateToPose, action)
        self._state: tuple[NavState, str] = ("idle", "")
        self._handle = None
        self._pending: tuple[object, float] | None = None  # (goal, give up at) until sent
        self._seq = 0  # goal generation: callbacks of a replaced goal are ignored

    def go(self, x: float, y: float, yaw: float) -> None:
        self.cancel()
        goal = self._goal_type()
        goal.pose.header.frame_id = self._frame
        goal.pose.header.stamp = self._node.get_clock().now().to_msg()
        goal.pose.pose.position.x, goal.pose.pose.position.y = float(x), float(y)
        goal.pose.pose.orientation.z = math.sin(yaw / 2)
        goal.pose.pose.orientation.w = math.cos(yaw / 2)
        # Sent from `state()` once the server is discovered (right after startup it may not be).
        self._pending = (goal, time.monotonic() + SERVER_WAIT_S)
        self._state = ("active", "")

    def _send(self) -> None:
        if self._pending is None:
            return
        goal, deadline = self._pending
        if not self._client.server_is_ready():
            if time.monotonic() > deadline:
                self._pending = None
                self._state = (
                    "failed",
                    f"no NavigateToPose server on {self._action} after {SERVER_WAIT_S:g} s",
                )
            return
        self._pending = None
        seq = self._seq
        self._client.send_goal_async(goal).add_done_callback(lambda f: self._accepted(f, seq))

    def _accepted(self, future, seq: int) -> None:
        handle = future.result()
        if seq != self._seq:
            if handle is not None and handle.accepted:
                handle.cancel_goal_async()  # replaced or canceled while being sent
            return
        if handle is None or not handle.accepted:
            self._state = ("failed", "Nav2 rejected the goal")
            return
        self._handle = handle
        handle.get_result_async().add_done_callback(lambda f: self._done(f, seq))

    def _done(self, future, seq: int) -> None:
        if seq != self._seq:
            return
        status = future.result().status
        self._handle = None
        if status == self._succeeded:
            self._state = ("succeeded", "")
        elif status == self._canceled:
            self._state = ("failed", "the goal was canceled")
        else:
            self._state = ("failed", f"NavigateToPose ended with status {status}")

    def state(self) -> tuple[NavState, str]:
        self._send()
        return self._state

    def cancel(self) -> None:
        self._seq += 1
        self._pending = None
        if self._handle is not None:
            self._handle.cancel_goal_async()
        self._handle = None
        self._state = ("idle", "")


def make_navigator(node: Node, cfg: MotorControlConfig) -> Navigator | None:
    """A Nav2 navigator when asked for and available; None (built-in planner) otherwise, with
    an error in the log when Nav2 was asked for but nav2_msgs is missing."""
    if not cfg.use_nav2:
        return None
    try:
        navigator = Nav2Navigator(node, cfg.nav2_action, cfg.nav2_frame)
    except ImportError as e:
        node.get_logger().error(
            f"use_nav2 is true but Nav2 is not installed ({e}): navigate_to falls back to the "
            "built-in planner"
        )
        return None
    node.get_logger().info(f"navigate_to delegates to Nav2's NavigateToPose on {cfg.nav2_action}")
    return navigator


class MotorControlNode(Node):
    def __init__(self) -> None:
        super().__init__("motor_control")
        self.cfg = declare_config(self, MotorControlConfig)
        try:
            places = load_places(self.cfg.places_file or None)
        except PlacesError as e:
            self.get_logger().fatal(f"cannot load places: {e}")
            raise
        self.navigator = make_navigator(self, self.cfg)
        self.executor_core = PlanExecutor(self.cfg, places, self.navigator)
        self._lock = threading.Lock()
        self._obs = Observation()
        self._odom_seen = False
        self._without_gripper = 0  # joint_states messages that lacked the gripper joint
        self._odom = (0.0, 0.0, 0.0)
        self._odom_history = OdomHistory()
        self._scene_odom = None
        self.localizer = self._make_localizer()

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
            (JointState, contract.JOINT_STATES, self.on_joint_states),
        ]
        for msg_type, topic, callback in inputs:
            self.create_subscription(msg_type, topic.name, callback, profile(topic))
        if self.cfg.confirm_with_ground_truth:  # simulator only: the robot has no ground truth
            self.create_subscription(
                String, contract.GROUND_TRUTH.name, self.on_truth, profile(contract.GROUND_TRUTH)
            )
        self.create_service(Trigger, contract.CANCEL[0], self.on_cancel)
        self.create_timer(self.cfg.period_s, self.on_tick)
        planner = "Nav2" if self.navigator is not None else "built-in planner"
        self.get_logger().info(
            f"motor_control ready: {len(places.places)} places, {self.cfg.control_rate_hz:.0f} Hz, "
            f"navigate_to by the {planner}"
        )
        self.get_logger().info(f"grasps confirmed by {self._grasp_evidence()}")

    def _grasp_evidence(self) -> str:
        c = self.cfg
        if c.confirm_with_ground_truth:
            return "the simulator's ground truth (confirm_with_ground_truth)"
        if c.gripper_joint:
            return f"the gripper joint {c.gripper_joint!r} in {contract.JOINT_STATES.name}"
        return "the scene alone (no gripper_joint: picks and places are unconfirmed)"

    def now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _make_localizer(self) -> Localizer | None:
        if not self.cfg.localization:
            self.get_logger().info("localisation off: steering on odometry alone")
            return None
        from synth_agent.paths import config_path

        path = self.cfg.map_file or config_path("map.yaml")
        try:
            grid = OccupancyMap.load(path)
        except MapError as e:
            self.get_logger().error(f"localisation off, steering on odometry alone: {e}")
            return None
        h, w = grid.shape
        self.get_logger().info(
            f"localisation on: {path} ({w * grid.resolution:.1f} x {h * grid.resolution:.1f} m)"
        )
        return Localizer(grid)

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
            tick = self.executor_core.submit(plan, self.now())
        self.publish(tick)

    def on_cancel(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        with self._lock:
            busy = self.executor_core.busy
            tick = self.executor_core.cancel(self.now())
        self.publish(tick)
        response.success = True
        response.message = "canceling the running plan" if busy else "no plan was running"
        return response

    def on_odom(self, msg: Odometry) -> None:
        p, t = msg.pose.pose, msg.twist.twist
        values = (p.position.x, p.position.y, t.linear.x, t.angular.z)
        if not all(math.isfinite(v) for v in values):
            self.get_logger().warning("ignored odometry with non-finite values")
            return
        q = p.orientation
        pose = (p.position.x, p.position.y, yaw_from_quaternion(q.x, q.y, q.z, q.w))
        stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        with self._lock:
            o = self._obs
            jump = math.hypot(pose[0] - self._odom[0], pose[1] - self._odom[1])
            if self.localizer is not None and self._odom_seen and jump > ODOM_JUMP_M:
                # No base moves half a metre between two odometry messages: odometry restarted
                # (a simulator reset, a base reboot). The old correction no longer applies.
                self.localizer.reset()
                self._odom_history = OdomHistory()
                self.get_logger().warning(
                    f"odometry jumped {jump:.2f} m: localisation starts again from odometry"
                )
            self._odom = pose
            self._odom_history.add(stamp, pose)
            o.x, o.y, o.yaw = self.localizer.map_pose(pose) if self.localizer else pose
            o.v, o.w = t.linear.x, t.angular.z
            self._odom_seen = True

    def on_scan(self, msg: LaserScan) -> None:
        ranges = np.asarray(msg.ranges, dtype=float)
        angles = msg.angle_min + msg.angle_increment * np.arange(ranges.size)
        bad = ~np.isfinite(ranges) | (ranges < msg.range_min) | (ranges > msg.range_max)
        ranges[bad] = np.inf
        with self._lock:
            self._obs.ranges, self._obs.angles = ranges, angles
            if self.localizer is None or abs(self._obs.w) > self.cfg.localization_max_turn_radps:
                return
            stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
            odom = self._odom_history.at(stamp)
            # The same base-frame points the local planner steers by.
            points = scan_points(self._obs, self.cfg.scan_max_range_m, self.cfg.lidar_x_m)
        if odom is None:
            return  # no odometry around the scan's stamp (yet)
        with self._lock:
            match = self.localizer.update(odom, points)
            o = self._obs
            o.x, o.y, o.yaw = self.localizer.map_pose(self._odom)
            if o.scene is not None:
                o.scene = scene_in_map(self._scene_odom, self.localizer.correction)
        if not match.accepted:
            self.get_logger().debug(f"scan not matched: {match.reason}")

    def on_scene(self, msg: String) -> None:
        try:
            scene = parse_scene(msg.data)
        except SchemaError as e:
            self.get_logger().warning(f"rejected scene message: {e}")
            return
        with self._lock:
            self._scene_odom = scene
            self._obs.scene = (
                scene_in_map(scene, self.localizer.correction) if self.localizer else scene
            )

    def on_safety(self, msg: String) -> None:
        try:
            mode = json.loads(msg.data).get("mode")
        except (json.JSONDecodeError, AttributeError):
            return
        with self._lock:
            # Only a latched e-stop ends a plan; a gate ramping to zero between plans is not a hold.
            self._obs.safety = "estop" if mode == "estop" else None

    def on_joint_states(self, msg: JointState) -> None:
        if not self.cfg.gripper_joint:
            return  # no gripper feedback configured
        try:
            i = list(msg.name).index(self.cfg.gripper_joint)
        except ValueError:
            # Another publisher's joints (wheels, an arm) - or a gripper named otherwise: say so
            # once, or every grasp would quietly fall back to the scene alone.
            self._without_gripper += 1
            if self._without_gripper == JOINT_STATES_BEFORE_WARNING and self._obs.gripper is None:
                self.get_logger().warning(
                    f"{contract.JOINT_STATES.name} has no joint {self.cfg.gripper_joint!r} (it "
                    f"has {', '.join(msg.name) or 'none'}): picks and places are judged on the "
                    "scene alone until it comes; set gripper_joint to the gripper's joint name"
                )
            return
        if i >= len(msg.position) or not math.isfinite(msg.position[i]):
            self.get_logger().warning(
                f"{self.cfg.gripper_joint} in {contract.JOINT_STATES.name} has no usable position",
                throttle_duration_sec=10.0,
            )
            return
        closure = self.cfg.gripper_closure(msg.position[i])
        now = self.now()  # when it arrived: the skills judge freshness and stillness on our clock
        with self._lock:
            self._obs.gripper, self._obs.gripper_t = closure, now

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
        tick: Tick | None = None
        with self._lock:
            if self._odom_seen:
                tick = self.executor_core.tick(self._obs, now)
            elif self.executor_core.busy:
                self.get_logger().warning("waiting for odometry before moving", once=True)
        if tick is not None:
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
