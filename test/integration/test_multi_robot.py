"""Two simulated robots in namespaces on one ROS domain take separate commands, no cross-talk.

Each robot is a graph.py node set started by the pip-only launcher (the code behind
`synth-agent up --sim --namespace NS`): its own simulator, safety gate and motor control.
Reasoning, perception and voice are left out to keep the test fast; plans go straight onto
`<ns>/agent/plan`, as the reasoning node would send them. robot1 drives 0.5 m while robot2
turns 90 degrees left, at the same time, and each simulator's ground truth must show exactly
its own motion. The graph itself is checked too: every topic under a namespace has only that
namespace's nodes on it, and each simulator's clock stays in its namespace (graph.SIM_REMAPS),
because two sims on one global /clock would give both robots two interleaved times.
"""

from __future__ import annotations

import io
import json
import math

import pytest
from geometry_msgs.msg import Twist
from std_msgs.msg import String

from synth_agent.core import contract
from synth_agent.graph import nodes
from synth_agent.launcher import Launcher
from synth_agent.nodes.entry import node_available
from synth_agent.nodes.qos import profile
from synth_agent.testing import ros_env, wait_until

NAMESPACES = ("robot1", "robot2")
NODES = ("safety_gate", "sim", "motor_control")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(
        not all(node_available(n) for n in NODES), reason="sim, gate and motor control needed"
    ),
]
# The camera is not needed for drive and turn; rendering two of them would only load the CPU.
SIM_PARAMS = """\
/**/sim:
  ros__parameters:
    camera_rate_hz: 0.0
"""


class Robot:
    """One namespaced graph and what the probe hears of it."""

    def __init__(self, ns: str, env: dict[str, str], params: str, probe) -> None:
        self.ns = ns
        specs = [s for s in nodes(sim=True, params_file=params) if s.name in NODES]
        self.log = io.StringIO()
        self.launcher = Launcher(specs, namespace=ns, out=self.log, env=env, colour=False)
        self.truth = probe.subscribe(
            String, f"/{ns}/{contract.GROUND_TRUTH.name}", profile(contract.GROUND_TRUTH)
        )
        self.status = probe.subscribe(String, f"/{ns}/{contract.STATUS.name}", 100)
        self.cmd_vel = probe.subscribe(Twist, f"/{ns}/{contract.CMD_VEL.name}", 100)
        self.plans = probe.publisher(String, f"/{ns}/{contract.PLAN.name}", profile(contract.PLAN))

    def pose(self) -> tuple[float, float, float]:
        r = json.loads(self.truth[-1].data)["robot"]
        return r["x"], r["y"], r["yaw"]

    def send(self, plan_id: str, step: dict) -> None:
        plan = {"id": plan_id, "command": plan_id, "type": "plan", "steps": [step]}
        self.plans.publish(String(data=json.dumps(plan)))

    def ended(self, plan_id: str) -> dict | None:
        for m in list(self.status):
            s = json.loads(m.data)
            if s["plan_id"] == plan_id and s["step"] is None and s["state"] != "accepted":
                return s
        return None

    def plan_ids(self) -> set[str]:
        return {json.loads(m.data)["plan_id"] for m in list(self.status)}


@pytest.fixture
def robots(domain_id, probe, tmp_path):
    params = tmp_path / "sim_params.yaml"
    params.write_text(SIM_PARAMS)
    env = ros_env(domain_id)
    started = []
    try:
        for ns in NAMESPACES:
            robot = Robot(ns, env, str(params), probe)
            # The second graph is not refused: the clash check is per namespace.
            assert not robot.launcher.refuse_if_running(probe.node_names, wait_s=0.5)
            robot.launcher.start()
            started.append(robot)
        for robot in started:
            assert robot.launcher.wait_ready(probe.node_names, timeout_s=40), robot.log.getvalue()
            wait_until(lambda r=robot: r.truth, 20, f"ground truth of {robot.ns}")
            probe.wait_for_subscribers(robot.plans)
        yield {r.ns: r for r in started}
    finally:
        for robot in reversed(started):
            robot.launcher.stop()


def test_two_namespaced_robots_take_separate_commands(robots, probe):
    r1, r2 = robots["robot1"], robots["robot2"]
    # A third start of robot1's graph is refused: same namespace, same domain.
    again = Launcher(list(r1.launcher.specs), namespace="robot1", out=io.StringIO())
    assert again.already_running(probe.node_names, wait_s=5.0) == {f"/robot1/{n}" for n in NODES}

    start1, start2 = r1.pose(), r2.pose()
    r1.send("r1-drive", {"skill": "drive", "distance_m": 0.5})
    r2.send("r2-turn", {"skill": "turn", "angle_deg": 90})
    end1 = wait_until(lambda: r1.ended("r1-drive"), 40, "robot1's plan to end")
    end2 = wait_until(lambda: r2.ended("r2-turn"), 40, "robot2's plan to end")
    assert end1["state"] == "succeeded", end1
    assert end2["state"] == "succeeded", end2
    for r in (r1, r2):
        n = len(r.truth)
        wait_until(lambda r=r, n=n: len(r.truth) > n + 2, 10, f"fresh ground truth of {r.ns}")

    (x0, y0, yaw0), (x1, y1, yaw1) = start1, r1.pose()
    assert math.dist((x0, y0), (x1, y1)) == pytest.approx(0.5, abs=0.05), "robot1 drove 0.5 m"
    assert abs(math.remainder(yaw1 - yaw0, math.tau)) < math.radians(3), "robot1 did not turn"
    (x0, y0, yaw0), (x1, y1, yaw1) = start2, r2.pose()
    assert math.dist((x0, y0), (x1, y1)) < 0.05, "robot2 turned in place"
    turned = math.degrees(math.remainder(yaw1 - yaw0, math.tau))
    assert turned == pytest.approx(90, abs=5), "robot2 turned 90 degrees left"

    # Each namespace heard only its own plan, and robot2's base was never told to drive.
    assert r1.plan_ids() == {"r1-drive"}
    assert r2.plan_ids() == {"r2-turn"}
    assert any(abs(m.linear.x) > 0.05 for m in r1.cmd_vel)
    assert all(abs(m.linear.x) < 0.01 for m in r2.cmd_vel)

    # Every endpoint on a namespaced topic belongs to that namespace (or is the probe).
    me = probe.node.get_name()
    for topic in probe.topic_names():
        ns = next((n for n in NAMESPACES if topic.startswith(f"/{n}/")), None)
        if ns is None:
            continue
        infos = probe.node.get_publishers_info_by_topic(topic)
        infos += probe.node.get_subscriptions_info_by_topic(topic)
        strangers = {
            f"{i.node_namespace}/{i.node_name}"
            for i in infos
            if i.node_name != me and i.node_namespace != f"/{ns}"
        }
        assert not strangers, f"{topic} has nodes of another namespace: {strangers}"

    # Each simulator's clock stays in its namespace; nobody publishes a global /clock.
    assert probe.node.count_publishers("/clock") == 0
    for ns in NAMESPACES:
        assert probe.node.count_publishers(f"/{ns}/clock") == 1
