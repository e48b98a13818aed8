"""Skills in the simulator through real nodes: sim + safety_gate + perception + motor_control.

The plan goes in on agent/plan as the reasoning node sends it; success is judged on the
simulator's ground truth (where the robot and the red cup really are), never on what the
nodes report about themselves.
"""

import json
import math

import pytest
from std_msgs.msg import String

from synth_agent.core import contract
from synth_agent.core.places import load_places
from synth_agent.nodes.qos import profile
from synth_agent.testing import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SIM_TIME = ["--ros-args", "-p", "use_sim_time:=true"]


@pytest.fixture
def robot(launch, probe):
    launch(["sim", "--ros-args"])
    launch(["safety_gate", *SIM_TIME])
    launch(["perception", *SIM_TIME])
    motor = launch(["motor_control", *SIM_TIME])
    truth = probe.subscribe(String, contract.GROUND_TRUTH.name, profile(contract.GROUND_TRUTH))
    status = probe.subscribe(String, contract.STATUS.name, profile(contract.STATUS))
    plans = probe.publisher(String, contract.PLAN.name, profile(contract.PLAN))
    motor.wait_for_output("motor_control ready", timeout=30)
    wait_until(lambda: truth, 30, "ground truth")
    probe.wait_for_subscribers(plans)

    def run(plan_id, *steps, timeout=300):
        plan = {"id": plan_id, "command": plan_id, "type": "plan", "steps": list(steps)}
        plans.publish(String(data=json.dumps(plan)))

        def ended():
            for m in status:
                s = json.loads(m.data)
                if s["plan_id"] == plan_id and s["step"] is None and s["state"] != "accepted":
                    return s
            return None

        end = wait_until(ended, timeout, f"the end of plan {plan_id}")
        n = len(truth)
        wait_until(lambda: len(truth) > n + 2, 10, "fresh ground truth")
        return end, json.loads(truth[-1].data)

    return run


def test_fetch_the_red_cup_to_the_operator(robot):
    end, truth = robot(
        "fetch",
        {"skill": "navigate_to", "place": "kitchen"},
        {"skill": "find", "object": "red cup"},
        {"skill": "pick", "object": "red cup"},
        {"skill": "navigate_to", "place": "operator"},
        {"skill": "place"},
    )
    assert end["state"] == "succeeded", end
    cup = truth["objects"]["red_cup"]
    operator = load_places().operator
    assert truth["held"] is None
    assert math.dist((cup["x"], cup["y"]), (operator.x, operator.y)) < 0.6
    assert cup["z"] < 0.2, "put down on the floor in front of the operator"


def test_navigate_between_rooms_reaches_each_place(robot):
    places = load_places()
    for name in ("hallway", "bedroom"):
        end, truth = robot(f"to-{name}", {"skill": "navigate_to", "place": name})
        assert end["state"] == "succeeded", end
        goal, r = places.get(name), truth["robot"]
        assert math.dist((r["x"], r["y"]), (goal.x, goal.y)) < 0.1
        assert abs(math.remainder(r["yaw"] - goal.yaw, 2 * math.pi)) < math.radians(5)
