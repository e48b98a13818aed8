"""The `safety_gate` node: a thin ROS shell around `synth_agent.core.safety.SafetyGate`.

Why it is built this way:
- Every decision is in core; this file converts messages, passes ROS time (`get_clock()`, so
  `use_sim_time` works) and publishes what the core returns.
- A command is answered in its own callback (the core steps and the result is published at
  once), so the gate adds one callback's latency, not up to a timer period as velocity_smoother
  does. The output timer only runs the watchdog and ramps when no command is streaming.
- The node runs on a single-threaded executor, so callbacks never overlap and the core object
  needs no lock.
- E-stop (topic or service) publishes the zero from inside its callback, skipping the queue
  behind the timer, and cancels any arm motion with an empty trajectory (which
  joint_trajectory_controller treats as "stop").

Beyond the contract in ARCHITECTURE.md (names owned by this node, not by `contract`):
- Service `safety/zones_enable` (std_srvs/SetBool): data true/false switches the scan zones on
  or off, like collision_monitor's toggle service; the `zones_enabled` parameter sets the state
  at start and switches it too when changed at run time. Only the scan rules (stop, slowdown,
  limit, approach, stale-scan fail-safe) can be switched off: the e-stop, limits, watchdog,
  locks, geofence, arm/gripper checks and input hygiene always stay active. Every call is
  logged and written to the audit log; the state is in `safety/state` (`zones_enabled`).
- Lock topics (std_msgs/Bool, reliable volatile QoS so any publisher matches), one per entry
  of the `locks.*` parameters, as twist_mux locks: see `synth_agent.core.safety_limits`.
"""

from __future__ import annotations

import dataclasses
import json
import sys

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Twist, TwistStamped
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import LaserScan
from std_msgs.msg import Bool, Float64, String
from std_srvs.srv import SetBool, Trigger
from trajectory_msgs.msg import JointTrajectory

from synth_agent.core import contract
from synth_agent.core.safety import SafetyGate, SafetyGateConfig, Verdict, yaw_from_quaternion
from synth_agent.core.safety_arm import Trajectory, TrajectoryPoint
from synth_agent.core.safety_audit import AuditLog, default_audit_path
from synth_agent.nodes.diagnostics import diagnostic_array
from synth_agent.nodes.params import declare_config
from synth_agent.nodes.qos import profile
from synth_agent.nodes.spin import spin_node

NODE_NAME = "safety_gate"
ZONES_ENABLE_SRV = "safety/zones_enable"  # std_srvs/SetBool


def _audit_log(config: SafetyGateConfig) -> AuditLog:
    return AuditLog(config.audit_log or default_audit_path())


def _trajectory(msg: JointTrajectory) -> Trajectory:
    return Trajectory(
        tuple(msg.joint_names),
        tuple(
            TrajectoryPoint(
                tuple(p.positions),
                tuple(p.velocities),
                tuple(p.accelerations),
                p.time_from_start.sec + p.time_from_start.nanosec * 1e-9,
            )
            for p in msg.points
        ),
    )


class SafetyGateNode(Node):
    """Subscribes to every actuator request and the stop inputs, publishes the only actuator
    outputs, `safety/state` and `/diagnostics`."""

    def __init__(self) -> None:
        super().__init__(NODE_NAME)
        self.config = declare_config(self, SafetyGateConfig, on_change=self._on_config)
        self.audit = _audit_log(self.config)
        self.gate = SafetyGate(self.config, self.audit)
        self._status_key: tuple | None = None
        self._level = -1

        self.cmd_pub = self._make_cmd_pub()
        self.gripper_pub = self.create_publisher(
            Float64, contract.GRIPPER.name, profile(contract.GRIPPER)
        )
        self.arm_pub = self.create_publisher(
            JointTrajectory, contract.ARM_TRAJECTORY.name, profile(contract.ARM_TRAJECTORY)
        )
        self.state_pub = self.create_publisher(
            String, contract.SAFETY_STATE.name, profile(contract.SAFETY_STATE)
        )
        self.diag_pub = self.create_publisher(
            DiagnosticArray, contract.DIAGNOSTICS.name, profile(contract.DIAGNOSTICS)
        )

        self._cmd_subs: list = []
        self._subscribe_sources()
        self._lock_subs: list = []
        self._subscribe_locks()
        self.create_subscription(Bool, contract.ESTOP.name, self._on_estop, profile(contract.ESTOP))
        self.create_subscription(
            LaserScan, contract.SCAN.name, self._on_scan, profile(contract.SCAN)
        )
        self.create_subscription(
            Odometry, contract.ODOM.name, self._on_odom, profile(contract.ODOM)
        )
        self.create_subscription(
            Float64, contract.AGENT_GRIPPER.name, self._on_gripper, profile(contract.AGENT_GRIPPER)
        )
        self.create_subscription(
            JointTrajectory,
            contract.AGENT_ARM_TRAJECTORY.name,
            self._on_trajectory,
            profile(contract.AGENT_ARM_TRAJECTORY),
        )
        self.create_service(Trigger, contract.SAFETY_RESET[0], self._on_reset)
        self.create_service(SetBool, contract.SAFETY_ESTOP_SRV[0], self._on_estop_service)
        self.create_service(SetBool, ZONES_ENABLE_SRV, self._on_zones_enable)

        self._timer = self.create_timer(self.config.period, self._on_timer)
        self._diag_timer = self.create_timer(self.config.diagnostics_period, self._report)
        self._report()
        self.get_logger().info(
            f"safety_gate ready: sources {list(self.config.sources.names)}, "
            f"audit log {self.audit.path}"
        )

    # -- helpers -------------------------------------------------------------------------------

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _make_cmd_pub(self):
        msg_type = TwistStamped if self.config.use_stamped else Twist
        return self.create_publisher(msg_type, contract.CMD_VEL.name, profile(contract.CMD_VEL))

    def _subscribe_sources(self) -> None:
        for sub in self._cmd_subs:
            self.destroy_subscription(sub)
        stamped = self.config.use_stamped
        msg_type = TwistStamped if stamped else Twist
        qos = profile(contract.AGENT_CMD_VEL)
        self._cmd_subs = [
            self.create_subscription(
                msg_type, topic, lambda msg, name=name: self._on_command(name, msg), qos
            )
            for name, topic in zip(
                self.config.sources.names, self.config.sources.topics, strict=True
            )
        ]

    def _subscribe_locks(self) -> None:
        for sub in self._lock_subs:
            self.destroy_subscription(sub)
        qos = profile(contract.AGENT_CMD_VEL)  # reliable, volatile
        self._lock_subs = [
            self.create_subscription(
                Bool, topic, lambda msg, name=name: self._on_lock(name, msg), qos
            )
            for name, topic in zip(self.config.locks.names, self.config.locks.topics, strict=True)
        ]

    def _on_config(self, new: SafetyGateConfig) -> None:
        old, self.config = self.config, new
        now = self._now()
        if new.audit_log != old.audit_log:
            self.audit.close()
            self.audit = _audit_log(new)
            self.gate.audit = self.audit
        self.gate.reconfigure(new, now)
        if new.use_stamped != old.use_stamped:
            self.destroy_publisher(self.cmd_pub)
            self.cmd_pub = self._make_cmd_pub()
        if new.sources != old.sources or new.use_stamped != old.use_stamped:
            self._subscribe_sources()
        if new.locks != old.locks:
            self._subscribe_locks()
        if new.zones_enabled != old.zones_enabled:
            self.get_logger().warning(
                f"scan zones {'enabled' if new.zones_enabled else 'DISABLED'} via parameter"
            )
        if new.output_rate != old.output_rate:
            self.destroy_timer(self._timer)
            self._timer = self.create_timer(new.period, self._on_timer)
        if new.diagnostics_period != old.diagnostics_period:
            self.destroy_timer(self._diag_timer)
            self._diag_timer = self.create_timer(new.diagnostics_period, self._report)
        changed = [
            f.name for f in dataclasses.fields(new) if getattr(new, f.name) != getattr(old, f.name)
        ]
        self.get_logger().info(f"parameters changed: {changed}")

    def _publish(self, verdict: Verdict | None) -> None:
        if verdict is not None and verdict.publish:
            v = verdict.velocity
            if self.config.use_stamped:
                msg = TwistStamped()
                msg.header.stamp = self.get_clock().now().to_msg()
                msg.header.frame_id = self.config.base_frame
                twist = msg.twist
            else:
                msg = twist = Twist()
            twist.linear.x, twist.linear.y, twist.angular.z = v.vx, v.vy, v.wz
            self.cmd_pub.publish(msg)
        if self.gate.status_key() != self._status_key:
            self._publish_state()

    def _rejected(self, reason: str) -> None:
        self.get_logger().warning(f"rejected: {reason}", throttle_duration_sec=1.0)

    # -- callbacks -----------------------------------------------------------------------------

    def _on_command(self, source: str, msg: Twist | TwistStamped) -> None:
        now = self._now()
        if isinstance(msg, TwistStamped):
            frame: str | None = msg.header.frame_id
            twist = msg.twist
        else:
            frame, twist = None, msg
        lin, ang = twist.linear, twist.angular
        decision = self.gate.on_command(
            source, (lin.x, lin.y, lin.z), (ang.x, ang.y, ang.z), now, frame
        )
        if not decision.accepted:
            self._rejected(decision.reason)
        self._publish(self.gate.step(now))

    def _on_lock(self, name: str, msg: Bool) -> None:
        now = self._now()
        before = self.gate.mux.is_locked(name, now)
        self.gate.on_lock(name, bool(msg.data), now)
        if self.gate.mux.is_locked(name, now) != before:
            self.get_logger().info(f"lock {name} {'engaged' if msg.data else 'released'}")
            self._publish(self.gate.step(now))  # act on the change now, not at the next tick

    def _on_zones_enable(self, request: SetBool.Request, response: SetBool.Response):
        decision = self.gate.set_zones_enabled(bool(request.data), self._now(), via="service")
        if request.data:
            self.get_logger().info(decision.reason)
        else:
            self.get_logger().warning(decision.reason)
        response.success, response.message = True, decision.reason
        self._publish_state()
        return response

    def _on_timer(self) -> None:
        self._publish(self.gate.tick(self._now()))

    def _on_scan(self, msg: LaserScan) -> None:
        d = self.gate.on_scan(
            msg.ranges,
            msg.angle_min,
            msg.angle_increment,
            msg.range_min,
            msg.range_max,
            self._now(),
            msg.header.frame_id,
        )
        if not d.accepted:
            self._rejected(d.reason)

    def _on_odom(self, msg: Odometry) -> None:
        p, q = msg.pose.pose.position, msg.pose.pose.orientation
        d = self.gate.on_odom(
            p.x, p.y, yaw_from_quaternion(q.x, q.y, q.z, q.w), self._now(), msg.header.frame_id
        )
        if not d.accepted:
            self._rejected(d.reason)

    def _stop(self, stop: bool, via: str) -> None:
        now = self._now()
        was = self.gate.latched
        self.gate.set_estop(stop, now, via)
        if self.gate.latched and not was:
            # The zero goes out first: logging (console + /rosout) costs more than the publish.
            self._publish(self.gate.step(now))
            if self.config.arm.joint_names:
                self.arm_pub.publish(JointTrajectory(joint_names=list(self.config.arm.joint_names)))
            self.get_logger().error(f"E-STOP latched via {via}")
        self._publish_state()

    def _on_estop(self, msg: Bool) -> None:
        self._stop(bool(msg.data), "topic")

    def _on_estop_service(self, request: SetBool.Request, response: SetBool.Response):
        self._stop(bool(request.data), "service")
        response.success = True
        response.message = (
            "e-stop latched"
            if request.data
            else "stop input released; call safety/reset to clear the latch"
            if self.gate.latched
            else "stop input released"
        )
        return response

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response):
        decision = self.gate.reset(self._now())
        response.success, response.message = decision.accepted, decision.reason
        if decision.accepted:
            self.get_logger().info(f"reset: {decision.reason}")
        else:
            self.get_logger().warning(f"reset refused: {decision.reason}")
        self._publish_state()
        return response

    def _on_gripper(self, msg: Float64) -> None:
        d = self.gate.on_gripper(msg.data, self._now())
        if d.accepted:
            self.gripper_pub.publish(msg)
        else:
            self._rejected(d.reason)
            self._publish_state()

    def _on_trajectory(self, msg: JointTrajectory) -> None:
        d = self.gate.on_trajectory(_trajectory(msg), self._now())
        if d.accepted:
            self.arm_pub.publish(msg)  # unchanged
        else:
            self._rejected(d.reason)
            self._publish_state()

    # -- reporting -----------------------------------------------------------------------------

    def _publish_state(self) -> None:
        now = self._now()
        self._status_key = self.gate.status_key()
        self.state_pub.publish(String(data=json.dumps(self.gate.state(now), separators=(",", ":"))))
        level, message, _ = self.gate.diagnostics(now)
        if level != self._level:
            self._publish_diagnostics(now)

    def _publish_diagnostics(self, now: float) -> None:
        level, message, values = self.gate.diagnostics(now)
        self._level = level
        self.diag_pub.publish(diagnostic_array(self, "safety gate", level, message, values))

    def _report(self) -> None:
        self._publish_state()
        self._publish_diagnostics(self._now())

    def close(self) -> None:
        """On shutdown: if the base may be moving, send a last zero, then close the audit log."""
        if not self.gate.output.is_zero() or self.gate.latched:
            self.cmd_pub.publish(TwistStamped() if self.config.use_stamped else Twist())
        self.audit.record(self._now(), "lifecycle", "shutdown", "safety_gate shutting down")
        self.audit.close()


def main(argv: list[str] | None = None) -> int:
    return spin_node(SafetyGateNode, args=sys.argv if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
