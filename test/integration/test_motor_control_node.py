"""motor_control through real processes: sim + safety_gate + motor_control on one domain.

Plans go in on agent/plan exactly as the reasoning node will send them; the motion is judged
on the simulator's ground truth, and every velocity passes through the real safety gate. The
grasp test at the end has no simulator: the probe is the robot (odometry, scene and a gripper
whose joint state answers agent/gripper), with no ground truth anywhere.
"""

import json
import math
import time

import pytest
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64, String
from std_srvs.srv import Trigger

from synth_agent.core import contract
from synth_agent.nodes.qos import profile
from synth_agent.testing import call_service, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SIM_TIME = ["-p", "use_sim_time:=true"]


@pytest.fixture
def robot(launch, probe):
    """The three nodes up, with the probe hearing ground truth and status."""
    launch(["sim", "--ros-args", "-p", "camera_rate_hz:=0.0"])
    launch(["safety_gate", "--ros-args", *SIM_TIME])
    motor = launch(["motor_control", "--ros-args", *SIM_TIME])
    truth = probe.subscribe(String, contract.GROUND_TRUTH.name, profile(contract.GROUND_TRUTH))
    status = probe.subscribe(String, contract.STATUS.name, profile(contract.STATUS))
    plans = probe.publisher(String, contract.PLAN.name, profile(contract.PLAN))
    motor.wait_for_output("motor_control ready", timeout=30)
    wait_until(lambda: truth, 30, "ground truth from the simulator")
    probe.wait_for_subscribers(plans)
    return plans, truth, status


def pose(truth):
    r = json.loads(truth[-1].data)["robot"]
    return r["x"], r["y"], r["yaw"]


def fresh(truth, count=3):
    """Wait for a few newer ground-truth messages (10 Hz), so the pose read is current."""
    n = len(truth)
    wait_until(lambda: len(truth) >= n + count, 10, "fresh ground truth")


def send(plans, plan_id, *steps):
    plan = {"id": plan_id, "command": plan_id, "type": "plan", "steps": list(steps)}
    plans.publish(String(data=json.dumps(plan)))


def plan_end(status, plan_id, timeout=60):
    def ended():
        for m in status:
            s = json.loads(m.data)
            if s["plan_id"] == plan_id and s.get("step") is None and s["state"] != "accepted":
                return s
        return None

    return wait_until(ended, timeout, f"the end of plan {plan_id}")


def test_drive_then_turn_in_the_simulator(robot):
    plans, truth, status = robot
    x0, y0, yaw0 = pose(truth)
    send(plans, "drive1", {"skill": "drive", "distance_m": 0.5})
    assert plan_end(status, "drive1")["state"] == "succeeded"
    fresh(truth)
    x1, y1, yaw1 = pose(truth)
    assert math.hypot(x1 - x0, y1 - y0) == pytest.approx(0.5, abs=0.03)
    send(plans, "turn1", {"skill": "turn", "angle_deg": 90.0})
    assert plan_end(status, "turn1")["state"] == "succeeded"
    fresh(truth)
    _, _, yaw2 = pose(truth)
    turned = math.degrees(math.remainder(yaw2 - yaw1, 2 * math.pi))
    assert turned == pytest.approx(90.0, abs=3.0)


def test_a_slow_plan_drives_at_its_fraction_of_the_limit(robot, probe):
    """A plan's `speed` reaches the controller through agent/plan: every command motor
    control sends is within half its 0.4 m/s, and the drive still ends where asked; the
    same drive at full speed goes faster (so the bound tells the two apart)."""
    plans, truth, status = robot
    cmds = probe.subscribe(Twist, contract.AGENT_CMD_VEL.name, profile(contract.AGENT_CMD_VEL))
    peaks = {}
    for plan_id, speed in (("slow", 0.5), ("full", None)):
        x0, y0, _ = pose(truth)
        n = len(cmds)
        plan = {"id": plan_id, "command": plan_id, "type": "plan",
                "steps": [{"skill": "drive", "distance_m": 0.6}]}  # fmt: skip
        if speed is not None:
            plan["speed"] = speed
        plans.publish(String(data=json.dumps(plan)))
        assert plan_end(status, plan_id)["state"] == "succeeded"
        fresh(truth)
        x1, y1, _ = pose(truth)
        assert math.hypot(x1 - x0, y1 - y0) == pytest.approx(0.6, abs=0.03)
        peaks[plan_id] = max(abs(c.linear.x) for c in cmds[n:])
    assert peaks["slow"] <= 0.5 * 0.4 + 1e-6, peaks
    assert peaks["full"] > 0.3, peaks


def test_cancel_stops_the_robot(robot, probe):
    plans, truth, status = robot
    send(plans, "long", {"skill": "drive", "distance_m": 3.0})
    wait_until(
        lambda: any(json.loads(m.data).get("state") == "running" for m in status), 20, "running"
    )
    start = pose(truth)
    wait_until(lambda: math.dist(pose(truth)[:2], start[:2]) > 0.1, 20, "the robot moving")
    reply = call_service(probe.node, Trigger, contract.CANCEL[0], Trigger.Request())
    assert reply.success
    assert plan_end(status, "long", timeout=10)["state"] == "canceled"
    at_cancel = pose(truth)
    fresh(truth, 10)
    assert math.dist(pose(truth)[:2], at_cancel[:2]) < 0.15, "the robot must come to rest"
    assert math.dist(pose(truth)[:2], start[:2]) < 2.5


def test_unknown_place_fails_without_motion(robot):
    plans, truth, status = robot
    x0, y0, _ = pose(truth)
    send(plans, "nowhere", {"skill": "navigate_to", "place": "garage"})
    end = plan_end(status, "nowhere")
    assert end["state"] == "failed" and "garage" in end["detail"]
    fresh(truth, 5)
    assert math.dist(pose(truth)[:2], (x0, y0)) < 0.01


class ProbeGripper:
    """A gripper on the probe: fingers move towards the last agent/gripper command at 2 of
    their travel per second and stop at `object_at` while an object is between them; their
    position goes out on joint_states at 50 Hz, as a robot's joint_state_publisher would."""

    def __init__(self, probe) -> None:
        self.closure, self.command, self.object_at = 0.0, 0.0, None
        self.commands: list[float] = []
        self.joints = probe.publisher(
            JointState, contract.JOINT_STATES.name, profile(contract.JOINT_STATES)
        )
        with probe._lock:
            probe.node.create_subscription(
                Float64,
                contract.AGENT_GRIPPER.name,
                self.on_command,
                profile(contract.AGENT_GRIPPER),
            )
            probe.node.create_timer(0.02, self.tick)
        self.clock = probe.node.get_clock()

    def on_command(self, msg: Float64) -> None:
        self.command = msg.data
        self.commands.append(msg.data)

    def tick(self) -> None:
        target = self.command
        if self.object_at is not None and self.closure <= self.object_at + 1e-9:
            target = min(target, self.object_at)
        self.closure += max(-0.04, min(0.04, target - self.closure))
        msg = JointState(name=["left_wheel_joint", "right_wheel_joint", "gripper_joint"])
        msg.position = [0.0, 0.0, self.closure]
        msg.header.stamp = self.clock.now().to_msg()
        self.joints.publish(msg)


def test_pick_and_place_confirmed_by_the_gripper_joint_without_ground_truth(launch, probe):
    motor = launch(["motor_control", "--ros-args", "-p", "localization:=false"])
    status = probe.subscribe(String, contract.STATUS.name, profile(contract.STATUS))
    plans = probe.publisher(String, contract.PLAN.name, profile(contract.PLAN))
    odom = probe.publisher(Odometry, contract.ODOM.name, profile(contract.ODOM))
    scenes = probe.publisher(String, contract.SCENE.name, profile(contract.SCENE))
    gripper = ProbeGripper(probe)

    def world() -> None:
        # The robot stands at the origin facing the red cup 0.4 m ahead, at grasping distance.
        msg = Odometry()
        msg.header.stamp = probe.node.get_clock().now().to_msg()
        odom.publish(msg)
        now = time.time()
        cup = {"id": "cup-1", "label": "cup", "colour": "red", "confidence": 0.9,
               "position": {"x": 0.4, "y": 0.0}, "distance": 0.4, "bearing": 0.0,
               "last_seen": now}  # fmt: skip
        scene = {"stamp": now, "robot": {"x": 0.0, "y": 0.0, "yaw": 0.0}, "objects": [cup]}
        scenes.publish(String(data=json.dumps(scene)))

    with probe._lock:
        probe.node.create_timer(0.05, world)
    motor.wait_for_output("grasps confirmed by the gripper joint 'gripper_joint'", timeout=30)
    probe.wait_for_subscribers(plans)
    probe.wait_for_subscribers(gripper.joints)
    assert probe.node.count_subscribers(contract.GROUND_TRUTH.name) == 0

    def step_detail(plan_id):
        return [
            s["detail"]
            for s in map(json.loads, (m.data for m in status))
            if s["plan_id"] == plan_id and s["step"] == 0 and s["state"] != "running"
        ]

    # Nothing between the fingers: they close fully, and the pick fails with the reason.
    send(plans, "pick-empty", {"skill": "pick", "object": "red cup"})
    end = plan_end(status, "pick-empty", timeout=30)
    assert end["state"] == "failed", end
    assert end["detail"].startswith("the gripper closed on nothing (fingers at 1.00"), end
    wait_until(lambda: gripper.commands and gripper.commands[-1] == 0.0, 5, "the gripper opened")
    wait_until(lambda: gripper.closure == 0.0, 5, "the fingers open")

    # The cup between the fingers: they stop at 0.6 of their travel, and the pick succeeds.
    gripper.object_at = 0.6
    send(plans, "pick-cup", {"skill": "pick", "object": "red cup"})
    end = plan_end(status, "pick-cup", timeout=30)
    assert end["state"] == "succeeded", end
    assert step_detail("pick-cup") == ["holding red cup: fingers at 0.60 of their travel"]

    # Put it down: the fingers open, and the cup is still seen where it was put.
    send(plans, "put-down", {"skill": "place"})
    end = plan_end(status, "put-down", timeout=30)
    assert end["state"] == "succeeded", end
    assert step_detail("put-down") == [
        "released: fingers at 0.00 of their travel; the red cup is seen where it was put"
    ]


def test_joint_states_without_the_configured_gripper_joint_are_reported(launch, probe):
    # A robot whose gripper joint is named otherwise: every grasp would quietly be judged on
    # the scene alone; motor_control says so once.
    motor = launch(["motor_control", "--ros-args", "-p", "localization:=false",
                    "-p", "gripper_joint:=claw_joint"])  # fmt: skip
    motor.wait_for_output("grasps confirmed by the gripper joint 'claw_joint'", timeout=30)
    joints = probe.publisher(JointState, contract.JOINT_STATES.name, profile(contract.JOINT_STATES))
    probe.wait_for_subscribers(joints)

    def publish() -> None:
        msg = JointState(name=["left_wheel_joint", "right_wheel_joint", "gripper_joint"])
        msg.position = [0.0, 0.0, 0.0]
        joints.publish(msg)

    with probe._lock:
        probe.node.create_timer(0.02, publish)
    motor.wait_for_output(
        r"has no joint 'claw_joint' \(it has left_wheel_joint, right_wheel_joint, gripper_joint\)",
        timeout=30,
    )
