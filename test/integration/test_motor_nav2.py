"""motor_control's `use_nav2` parameter, through real processes.

With nav2_msgs importable, navigate_to is delegated to Nav2's NavigateToPose action; without it
the node must say so at startup (an error, not a silent downgrade) and still navigate with its
own planner. This machine has no Nav2 (it cannot be installed into the venv), so the fallback is
tested here against the simulator, and the delegation test runs only where nav2_msgs exists, with
a stand-in NavigateToPose server in the test process.
"""

from __future__ import annotations

import importlib.util
import json
import math

import pytest
from nav_msgs.msg import Odometry
from std_msgs.msg import String

from synth_agent.core import contract
from synth_agent.core.places import load_places
from synth_agent.nodes.qos import profile
from synth_agent.testing import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SIM_TIME = ["-p", "use_sim_time:=true"]
HAVE_NAV2 = importlib.util.find_spec("nav2_msgs") is not None


def send(plans, plan_id: str, *steps: dict) -> None:
    plan = {"id": plan_id, "command": plan_id, "type": "plan", "steps": list(steps)}
    plans.publish(String(data=json.dumps(plan)))


def statuses(status, plan_id: str) -> list[dict]:
    return [s for s in (json.loads(m.data) for m in list(status)) if s["plan_id"] == plan_id]


def plan_end(status, plan_id: str, timeout: float) -> dict:
    def ended():
        done = [s for s in statuses(status, plan_id) if s["step"] is None]
        return next((s for s in done if s["state"] != "accepted"), None)

    return wait_until(ended, timeout, f"the end of plan {plan_id}")


@pytest.mark.skipif(HAVE_NAV2, reason="nav2_msgs is installed: the fallback path cannot occur")
def test_use_nav2_without_nav2_logs_an_error_and_uses_the_built_in_planner(launch, probe):
    launch(["sim", "--ros-args", "-p", "camera_rate_hz:=0.0"])
    launch(["safety_gate", "--ros-args", *SIM_TIME])
    motor = launch(["motor_control", "--ros-args", *SIM_TIME, "-p", "use_nav2:=true"])
    truth = probe.subscribe(String, contract.GROUND_TRUTH.name, profile(contract.GROUND_TRUTH))
    status = probe.subscribe(String, contract.STATUS.name, profile(contract.STATUS))
    plans = probe.publisher(String, contract.PLAN.name, profile(contract.PLAN))
    motor.wait_for_output("motor_control ready", timeout=60)
    assert "[ERROR]" in motor.output
    assert "use_nav2 is true but Nav2 is not installed" in motor.output
    assert "falls back to the built-in planner" in motor.output
    assert "navigate_to by the built-in planner" in motor.output
    wait_until(lambda: truth, 60, "ground truth")
    probe.wait_for_subscribers(plans)
    send(plans, "to-operator", {"skill": "navigate_to", "place": "operator"})
    end = plan_end(status, "to-operator", 120)
    assert end["state"] == "succeeded", end
    n = len(truth)
    wait_until(lambda: len(truth) > n + 2, 10, "fresh ground truth")
    robot, goal = json.loads(truth[-1].data)["robot"], load_places().operator
    assert math.dist((robot["x"], robot["y"]), (goal.x, goal.y)) < 0.1
    step = [s for s in statuses(status, "to-operator") if s["step"] == 0]
    assert "(Nav2)" not in step[-1]["detail"]


@pytest.mark.skipif(
    not HAVE_NAV2,
    reason="nav2_msgs is not installed here (no Nav2 in this environment): delegation to "
    "NavigateToPose can only be tested on a ROS install with Nav2",
)
def test_navigate_to_is_delegated_to_nav2s_navigate_to_pose(launch, probe):
    from nav2_msgs.action import NavigateToPose
    from rclpy.action import ActionServer

    goals = []

    def execute(handle):
        goals.append(handle.request.pose)
        handle.succeed()
        return NavigateToPose.Result()

    with probe._lock:
        server = ActionServer(probe.node, NavigateToPose, "navigate_to_pose", execute)
    motor = launch(
        ["motor_control", "--ros-args", "-p", "use_nav2:=true", "-p", "nav2_frame:=odom"]
    )
    status = probe.subscribe(String, contract.STATUS.name, profile(contract.STATUS))
    plans = probe.publisher(String, contract.PLAN.name, profile(contract.PLAN))
    odom = probe.publisher(Odometry, contract.ODOM.name, profile(contract.ODOM))
    motor.wait_for_output("navigate_to by the Nav2", timeout=60)
    probe.wait_for_subscribers(plans)
    kitchen = load_places().get("kitchen")
    send(plans, "nav2", {"skill": "navigate_to", "place": "kitchen"})

    def ended():
        odom.publish(Odometry())  # the executor ticks only with odometry
        return [
            s for s in statuses(status, "nav2") if s["step"] is None and s["state"] != "accepted"
        ]

    end = wait_until(ended, 30, "the end of the delegated plan", interval=0.05)[0]
    assert end["state"] == "succeeded", end
    assert len(goals) == 1
    pose = goals[0]
    assert pose.header.frame_id == "odom"
    assert (pose.pose.position.x, pose.pose.position.y) == pytest.approx((kitchen.x, kitchen.y))
    yaw = 2 * math.atan2(pose.pose.orientation.z, pose.pose.orientation.w)
    assert math.remainder(yaw - kitchen.yaw, 2 * math.pi) == pytest.approx(0.0, abs=1e-6)
    step = [s for s in statuses(status, "nav2") if s["step"] == 0]
    assert "(Nav2)" in step[-1]["detail"]
    server.destroy()
