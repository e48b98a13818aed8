"""motor_control through real processes: sim + safety_gate + motor_control on one domain.

Plans go in on agent/plan exactly as the reasoning node will send them; the motion is judged
on the simulator's ground truth, and every velocity passes through the real safety gate.
"""

import json
import math

import pytest
from std_msgs.msg import String
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
