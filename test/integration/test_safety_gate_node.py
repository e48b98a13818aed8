"""The safety_gate node through real processes and the real middleware.

Each test starts `safety_gate` as its own process on a private domain and talks to it through
the probe (publishers, subscriptions, service clients in the test process). Assertions are on
behaviour (which source drives, that the output becomes and stays zero, what the state says),
never on exact timing, and every wait is generous: the machine may be a loaded 2-core box.
"""

from __future__ import annotations

import json
import math
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import Twist
from rcl_interfaces.msg import Parameter as ParameterMsg
from rcl_interfaces.msg import ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from sensor_msgs.msg import LaserScan
from std_msgs.msg import Bool, Float64, String
from std_srvs.srv import SetBool, Trigger

from synth_agent.core import contract
from synth_agent.nodes.qos import profile
from synth_agent.testing import call_service, wait_until

pytestmark = pytest.mark.integration

TALKER = str(Path(__file__).with_name("talker.py"))
WAIT = 20.0


class Stream:
    """Publish a message at a fixed rate from a background thread until stopped."""

    def __init__(self, pub, msg, rate: float = 20.0) -> None:
        self.pub, self.msg, self.period = pub, msg, 1.0 / rate
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.pub.publish(self.msg)
            self._stop.wait(self.period)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2.0)


def twist(vx: float = 0.0, wz: float = 0.0) -> Twist:
    msg = Twist()
    msg.linear.x, msg.angular.z = vx, wz
    return msg


def scan(distance_ahead: float | None = None) -> LaserScan:
    """A 360-ray scan, all clear, or with an obstacle in the 20 degrees straight ahead."""
    msg = LaserScan()
    msg.header.frame_id = "laser"
    msg.angle_min, msg.angle_increment = -math.pi, 2 * math.pi / 360
    msg.angle_max = msg.angle_min + 359 * msg.angle_increment
    msg.range_min, msg.range_max = 0.05, 10.0
    ranges = [math.inf] * 360
    if distance_ahead is not None:
        for i in range(170, 191):
            ranges[i] = distance_ahead
    msg.ranges = ranges
    return msg


class Gate:
    """A safety_gate process plus the probe's view of it."""

    def __init__(self, launch, probe, tmp_path: Path, *params: str) -> None:
        self.audit_path = tmp_path / "audit.jsonl"
        args = ["safety_gate", "--ros-args", "-p", f"audit_log:={self.audit_path}"]
        for p in params:
            args += ["-p", p]
        self.proc = launch(args)
        self.proc.wait_for_output("safety_gate ready", timeout=WAIT)
        self.probe = probe
        self.out = probe.subscribe(Twist, contract.CMD_VEL.name, profile(contract.CMD_VEL))
        self.states = probe.subscribe(
            String, contract.SAFETY_STATE.name, profile(contract.SAFETY_STATE)
        )
        self.agent = probe.publisher(Twist, "agent/cmd_vel", profile(contract.AGENT_CMD_VEL))
        self.teleop = probe.publisher(Twist, "teleop/cmd_vel", profile(contract.TELEOP_CMD_VEL))
        self.estop = probe.publisher(Bool, contract.ESTOP.name, profile(contract.ESTOP))
        for pub in (self.agent, self.teleop, self.estop):
            probe.wait_for_subscribers(pub, timeout=WAIT)
        wait_until(lambda: self.states, WAIT, "the first safety/state")

    def state(self) -> dict:
        return json.loads(self.states[-1].data)

    def wait_output(self, pred, what: str, timeout: float = WAIT) -> Twist:
        """Wait until a message arriving from now on satisfies `pred`."""
        start = len(self.out)

        def check():
            return next((m for m in self.out[start:] if pred(m)), None)

        return wait_until(check, timeout, what)

    def wait_state(self, pred, what: str, timeout: float = WAIT) -> dict:
        return wait_until(
            lambda: self.states and pred(self.state()) and self.state(), timeout, what
        )

    def call(self, srv_type, name: str, request, timeout: float = WAIT):
        return call_service(self.probe.node, srv_type, name, request, timeout)

    def scans(self, message: LaserScan) -> Stream:
        """`message` streamed at 10 Hz on the scan topic, once the gate subscribes to it."""
        pub = self.probe.publisher(LaserScan, contract.SCAN.name, profile(contract.SCAN))
        self.probe.wait_for_subscribers(pub, timeout=WAIT)
        return Stream(pub, message, rate=10.0)

    def audit(self) -> list[dict]:
        if not self.audit_path.exists():
            return []
        return [json.loads(x) for x in self.audit_path.read_text().splitlines() if x.strip()]


def near(value: float, target: float, tol: float = 1e-6) -> bool:
    return abs(value - target) <= tol


NO_SCAN = "use_scan:=false"


def test_priority_override_and_fall_back(launch, probe, tmp_path):
    g = Gate(
        launch,
        probe,
        tmp_path,
        NO_SCAN,
        "sources.timeouts:=[0.3, 0.5]",
        "command_timeout:=1.0",
        "max_linear_acceleration:=50.0",
        "max_linear_deceleration:=50.0",
    )
    agent = Stream(g.agent, twist(0.1))
    try:
        g.wait_output(lambda m: near(m.linear.x, 0.1), "the agent's 0.1 m/s relayed")
        g.wait_state(lambda s: s["source"] == "agent", "agent as the active source")
        teleop = Stream(g.teleop, twist(-0.2))
        g.wait_output(lambda m: near(m.linear.x, -0.2), "teleop overriding the agent")
        g.wait_state(lambda s: s["source"] == "teleop", "teleop as the active source")
        time.sleep(0.5)
        recent = g.out[-5:]
        assert all(near(m.linear.x, -0.2) for m in recent), "the agent must not break through"
        teleop.stop()
        # teleop's timeout is 0.3 s: the agent drives again.
        g.wait_output(lambda m: near(m.linear.x, 0.1), "fall-back to the agent")
        g.wait_state(lambda s: s["source"] == "agent", "agent active again")
    finally:
        agent.stop()
    switches = [e["reason"] for e in g.audit() if e["kind"] == "source"]
    assert "active source: agent -> teleop" in switches
    assert "active source: teleop -> agent" in switches


def test_watchdog_ramps_to_zero_and_goes_quiet(launch, probe, tmp_path):
    g = Gate(launch, probe, tmp_path, NO_SCAN, "stop_publish_timeout:=0.3")
    agent = Stream(g.agent, twist(0.4))
    g.wait_output(lambda m: near(m.linear.x, 0.4), "cruising at 0.4 m/s")
    agent.stop()
    g.wait_output(lambda m: m.linear.x == 0.0, "the watchdog's zero")
    g.wait_state(lambda s: s["mode"] == "idle", "the gate idle again")
    # The ramp down was gradual (the deceleration limit), not a cut.
    tail = [m.linear.x for m in g.out]
    last_moving = max(i for i, v in enumerate(tail) if v > 0.0)
    assert tail[last_moving] < 0.4
    # Quiet: no more messages once the zero has been repeated for stop_publish_timeout.
    time.sleep(0.5)
    count = len(g.out)
    time.sleep(1.5)
    assert len(g.out) == count
    assert g.out[-1].linear.x == 0.0
    assert any(e["kind"] == "timeout" for e in g.audit())


def test_estop_latches_and_resets_via_topic_and_service(launch, probe, tmp_path):
    g = Gate(launch, probe, tmp_path, NO_SCAN, "stop_publish_timeout:=5.0")
    diags = probe.subscribe(
        DiagnosticArray, contract.DIAGNOSTICS.name, profile(contract.DIAGNOSTICS)
    )
    agent = Stream(g.agent, twist(0.3))
    try:
        g.wait_output(lambda m: near(m.linear.x, 0.3), "cruising")
        g.estop.publish(Bool(data=True))
        g.wait_output(lambda m: m.linear.x == 0.0, "zero after the e-stop")
        g.wait_state(lambda s: s["mode"] == "estop" and s["estop"]["latched"], "estop state")
        wait_until(
            lambda: any(
                st.level == DiagnosticStatus.ERROR and "e-stop latched" in st.message
                for d in diags
                for st in d.status
            ),
            WAIT,
            "an ERROR diagnostic naming the e-stop",
        )
        start = len(g.out)
        time.sleep(1.0)  # the agent keeps sending 0.3 m/s; nothing moves
        assert all(m.linear.x == 0.0 for m in g.out[start:])
        reply = g.call(Trigger, "safety/reset", Trigger.Request())
        assert not reply.success and "stop input still true" in reply.message
        g.estop.publish(Bool(data=False))
        g.wait_state(lambda s: not s["estop"]["topic_input"], "stop input released")
        assert g.state()["estop"]["latched"]
        reply = g.call(Trigger, "safety/reset", Trigger.Request())
        assert reply.success, reply.message
        g.wait_output(lambda m: near(m.linear.x, 0.3), "moving again after the reset")

        # The same through the SetBool service.
        reply = g.call(SetBool, "safety/estop", SetBool.Request(data=True))
        assert reply.success
        g.wait_output(lambda m: m.linear.x == 0.0, "zero after the service e-stop")
        assert not g.call(Trigger, "safety/reset", Trigger.Request()).success
        g.call(SetBool, "safety/estop", SetBool.Request(data=False))
        assert g.state()["estop"]["latched"]
        assert g.call(Trigger, "safety/reset", Trigger.Request()).success
        g.wait_output(lambda m: near(m.linear.x, 0.3), "moving after the second reset")
    finally:
        agent.stop()
    events = [(e["kind"], e["event"]) for e in g.audit()]
    assert events.count(("estop", "start")) == 2 and events.count(("estop", "end")) == 2


def test_obstacle_stop_from_a_real_laserscan(launch, probe, tmp_path):
    g = Gate(
        launch,
        probe,
        tmp_path,
        "use_scan:=true",
        "scan_timeout:=1.0",
        "robot_radius:=0.2",
        "stop_distance:=0.1",
        "slowdown_distance:=0.4",
        "time_before_collision:=0.0",
    )
    scans = g.scans(scan(None))
    agent = Stream(g.agent, twist(0.3))
    try:
        g.wait_output(lambda m: near(m.linear.x, 0.3), "driving with a clear scan")
        # The default scan_pose puts the scanner 5 cm behind the base centre (the sim's robot):
        # 0.30 m from the scanner is 0.05 m from the robot's edge, straight ahead.
        scans.msg = scan(0.30)
        g.wait_output(lambda m: m.linear.x == 0.0, "stopped by the obstacle")
        st = g.wait_state(lambda s: s["limits"]["zone"] == "stop", "the stop zone in the state")
        assert "stop zone: obstacle at 0.05 m" in st["last_intervention"]["reason"]
        agent.msg = twist(-0.2)  # backing off stays allowed
        g.wait_output(lambda m: m.linear.x < 0.0, "backing away from the obstacle")
        agent.msg = twist(0.3)
        scans.msg = scan(0.55)  # 0.3 m from the edge: slowdown zone, half speed
        g.wait_output(lambda m: near(m.linear.x, 0.15, 1e-3), "half speed in the slowdown zone")
        scans.stop()  # the scan goes stale: fail-safe stop
        g.wait_output(lambda m: m.linear.x == 0.0, "stopped by the stale scan")
        g.wait_state(lambda s: any("stale" in f for f in s["faults"]), "the stale scan reported")
    finally:
        agent.stop()
        scans.stop()
    assert any(e["kind"] == "zone" and e["rule"] == "stop" for e in g.audit())


def test_killed_upstream_publisher(launch, probe, tmp_path):
    g = Gate(launch, probe, tmp_path, NO_SCAN)
    upstream = launch([sys.executable, TALKER, "agent/cmd_vel", "0.3", "--twist"], name="upstream")
    upstream.wait_for_output("talker up", timeout=WAIT)
    g.wait_output(lambda m: near(m.linear.x, 0.3), "the upstream's commands relayed")
    upstream.proc.send_signal(signal.SIGKILL)
    upstream.proc.wait(10)
    g.wait_output(lambda m: m.linear.x == 0.0, "zero after the upstream died")
    g.wait_state(lambda s: s["mode"] == "idle", "idle after the watchdog")
    assert any(e["kind"] == "timeout" and e["event"] == "start" for e in g.audit()), (
        "the watchdog's intervention is audited"
    )


def test_bad_inputs_are_rejected_and_reported(launch, probe, tmp_path):
    g = Gate(launch, probe, tmp_path, NO_SCAN)
    g.agent.publish(twist(float("nan")))
    st = g.wait_state(lambda s: s["rejected"].get("non_finite") == 1, "the NaN counted")
    assert "non-finite" in st["last_intervention"]["reason"]
    time.sleep(0.3)
    assert all(math.isfinite(m.linear.x) and m.linear.x == 0.0 for m in g.out)
    # The previous safe state is kept: a finite command afterwards is still ramp-limited.
    agent = Stream(g.agent, twist(0.3))
    try:
        first = g.wait_output(lambda m: m.linear.x > 0.0, "motion after the NaN")
        assert first.linear.x <= 0.8 * 0.05 + 1e-9
    finally:
        agent.stop()
    # Gripper: in range passes unchanged, out of range is rejected.
    grip_in = probe.publisher(Float64, "agent/gripper", profile(contract.AGENT_GRIPPER))
    grip_out = probe.subscribe(Float64, "gripper", profile(contract.GRIPPER))
    probe.wait_for_subscribers(grip_in, timeout=WAIT)
    probe.wait_for_publishers("gripper", timeout=WAIT)
    time.sleep(0.2)  # both ends matched: let the gate's writer see our reader too
    grip_in.publish(Float64(data=1.5))
    grip_in.publish(Float64(data=0.5))
    wait_until(lambda: grip_out, WAIT, "the valid gripper command")
    time.sleep(0.3)
    assert [m.data for m in grip_out] == [0.5]
    g.wait_state(lambda s: s["rejected"].get("gripper") == 1, "the gripper rejection counted")
    assert any(e["rule"] == "non_finite" for e in g.audit())


def test_run_time_parameter_changes_are_validated(launch, probe, tmp_path):
    g = Gate(launch, probe, tmp_path, NO_SCAN, "max_linear_acceleration:=50.0")

    def set_param(name: str, value: float):
        req = SetParameters.Request()
        req.parameters = [
            ParameterMsg(
                name=name,
                value=ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=value),
            )
        ]
        return g.call(SetParameters, "safety_gate/set_parameters", req).results[0]

    bad = set_param("max_linear_velocity", -1.0)
    assert not bad.successful and "max_linear_velocity must be > 0" in bad.reason
    assert set_param("max_linear_velocity", 0.2).successful
    agent = Stream(g.agent, twist(0.4))
    try:
        g.wait_output(lambda m: near(m.linear.x, 0.2), "the new limit applied")
        time.sleep(0.3)
        assert max(m.linear.x for m in g.out) <= 0.2 + 1e-9
    finally:
        agent.stop()


def test_lock_topic_blocks_lower_priority_sources(launch, probe, tmp_path):
    """A twist_mux lock from a real std_msgs/Bool publisher: true blocks the agent (priority
    10 < 50) but not teleop (100); false lets the agent drive again."""
    g = Gate(
        launch,
        probe,
        tmp_path,
        NO_SCAN,
        "locks.names:=[pause]",
        "locks.topics:=[agent/pause]",
        "locks.priorities:=[50]",
        "locks.timeouts:=[0.0]",
        "max_linear_acceleration:=50.0",
        "max_linear_deceleration:=50.0",
    )
    lock = probe.publisher(Bool, "agent/pause", profile(contract.AGENT_CMD_VEL))
    probe.wait_for_subscribers(lock, timeout=WAIT)
    agent = Stream(g.agent, twist(0.2))
    try:
        g.wait_output(lambda m: near(m.linear.x, 0.2), "the agent driving")
        lock.publish(Bool(data=True))
        g.wait_output(lambda m: m.linear.x == 0.0, "zero while the lock is engaged")
        st = g.wait_state(lambda s: s["locks"]["pause"]["engaged"], "the lock in the state")
        assert st["source"] is None
        start = len(g.out)
        time.sleep(0.5)  # the agent keeps sending 0.2 m/s: blocked
        assert all(m.linear.x == 0.0 for m in g.out[start:])
        teleop = Stream(g.teleop, twist(-0.1))
        g.wait_output(lambda m: near(m.linear.x, -0.1), "teleop above the lock's priority")
        teleop.stop()
        lock.publish(Bool(data=False))
        g.wait_output(lambda m: near(m.linear.x, 0.2), "the agent again once released")
        g.wait_state(lambda s: not s["locks"]["pause"]["engaged"], "the lock released")
    finally:
        agent.stop()
    events = [(e["kind"], e["reason"]) for e in g.audit()]
    assert ("lock", "lock pause engaged") in events and ("lock", "lock pause released") in events


def test_zones_enable_service_toggles_only_the_scan_zones(launch, probe, tmp_path):
    """std_srvs/SetBool on safety/zones_enable: disabled, an obstacle in the stop zone no
    longer stops the robot, but the e-stop still does; enabled again, the zone acts."""
    g = Gate(
        launch,
        probe,
        tmp_path,
        "use_scan:=true",
        "scan_timeout:=1.0",
        "time_before_collision:=0.0",
        "stop_publish_timeout:=5.0",
    )
    scans = g.scans(scan(0.25))  # inside the stop zone
    agent = Stream(g.agent, twist(0.3))
    try:
        g.wait_state(lambda s: s["limits"]["zone"] == "stop", "stopped by the zone")
        reply = g.call(SetBool, "safety/zones_enable", SetBool.Request(data=False))
        assert reply.success and "disabled" in reply.message
        g.wait_output(lambda m: near(m.linear.x, 0.3), "driving with the zones disabled")
        assert g.state()["zones_enabled"] is False
        g.estop.publish(Bool(data=True))
        g.wait_output(lambda m: m.linear.x == 0.0, "the e-stop still acts")
        g.estop.publish(Bool(data=False))
        g.wait_state(lambda s: not s["estop"]["topic_input"], "stop input released")
        assert g.call(Trigger, "safety/reset", Trigger.Request()).success
        g.wait_output(lambda m: near(m.linear.x, 0.3), "driving again after the reset")
        reply = g.call(SetBool, "safety/zones_enable", SetBool.Request(data=True))
        assert reply.success and "enabled" in reply.message
        g.wait_output(lambda m: m.linear.x == 0.0, "the zone acts again")
        g.wait_state(lambda s: s["zones_enabled"] and s["limits"]["zone"] == "stop", "zone on")
    finally:
        agent.stop()
        scans.stop()
    toggles = [e["enabled"] for e in g.audit() if e["kind"] == "toggle"]
    assert toggles == [False, True]
