"""`synth-agent up`: the pip-only launcher with real node processes.

Readiness line, clean ordered shutdown on SIGINT (within 5 s) and SIGTERM with no orphan
process, a dead node reported with its exit code, the gate's death stopping the graph,
`--namespace` moving every topic, and two graphs on different domains staying apart.
"""

import os
import re
import signal
import time
import uuid

import pytest

from synth_agent.nodes.entry import node_available
from synth_agent.testing import DomainLease, NodeProcess, Probe, pids_with_env, ros_env, wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not node_available("safety_gate"), reason="the safety gate is not built"),
]
# Names that are global by ROS convention and stay outside a namespace.
GLOBAL_TOPICS = {"/rosout", "/parameter_events", "/diagnostics", "/clock", "/tf", "/tf_static"}


def start_up(tmp_path, domain_id, *args):
    tag = uuid.uuid4().hex
    env = ros_env(domain_id, SYNTH_AGENT_TEST_TAG=tag)
    proc = NodeProcess(["synth-agent", "up", *args], env, tmp_path, name=f"up-{domain_id}")
    return proc, tag


def ready_count(proc: NodeProcess) -> int:
    return int(proc.wait_for_output(r"ready: (\d+) node", timeout=90).group(1))


def test_up_sim_starts_every_built_node_and_ctrl_c_stops_all(tmp_path, domain_id, probe):
    up, tag = start_up(tmp_path, domain_id, "--sim")
    try:
        n = ready_count(up)
        started = re.search(r"started (\d+) node\(s\): (.*)", up.output)
        names = started.group(2).split(", ")
        assert n == int(started.group(1)) == len(names) >= 1
        assert names[0] == "safety_gate"
        wait_until(lambda: {f"/{x}" for x in names} <= probe.node_names(), 20, "nodes in graph")
        assert len(pids_with_env("SYNTH_AGENT_TEST_TAG", tag)) >= 1 + n
        t0 = time.monotonic()
        up.proc.send_signal(signal.SIGINT)
        code = up.proc.wait(10)
        elapsed = time.monotonic() - t0
    finally:
        up.stop()
    assert code == 0, up.output[-2000:]
    assert elapsed < 5.0, f"shutdown took {elapsed:.1f} s"
    stopped = re.search(r"stopped: (.*)", up.output).group(1)
    order = [part.split("=")[0] for part in stopped.split(", ")]
    assert order[-1] == "safety_gate", f"the gate must stop last: {order}"
    wait_until(lambda: not pids_with_env("SYNTH_AGENT_TEST_TAG", tag), 3, "no orphan process")


def test_a_dead_node_is_reported_and_the_gate_dying_stops_all(tmp_path, domain_id):
    up, tag = start_up(tmp_path, domain_id, "--sim")
    try:
        ready_count(up)
        children = {}
        for pid in pids_with_env("SYNTH_AGENT_TEST_TAG", tag):
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            for name in ("sim", "safety_gate"):
                if any(part.endswith(f"/{name}".encode()) for part in cmd[:2]):
                    children[name] = pid
        if "sim" in children:
            os.kill(children["sim"], signal.SIGKILL)
            up.wait_for_output(r"sim exited with code -9", timeout=10)
            assert up.proc.poll() is None, "a non-critical node's death must not stop the graph"
        os.kill(children["safety_gate"], signal.SIGKILL)
        up.wait_for_output(r"safety_gate exited with code -9", timeout=10)
        up.wait_for_output(r"critical: nothing guards the actuators, stopping all", timeout=5)
        code = up.proc.wait(10)
    finally:
        up.stop()
    assert code != 0
    wait_until(lambda: not pids_with_env("SYNTH_AGENT_TEST_TAG", tag), 5, "no orphan process")


def test_namespace_moves_every_topic_and_sigterm_stops_all(tmp_path, domain_id, probe):
    up, tag = start_up(tmp_path, domain_id, "--sim", "--namespace", "robot1")
    try:
        ready_count(up)
        names = re.search(r"started \d+ node\(s\): (.*)", up.output).group(1).split(", ")
        wait_until(lambda: {f"/robot1/{x}" for x in names} <= probe.node_names(), 20, "nodes")
        time.sleep(1.0)  # let every publisher and subscription be discovered
        ours = set()
        for node in names:
            for topic, _ in probe.node.get_publisher_names_and_types_by_node(node, "/robot1"):
                ours.add(topic)
            for topic, _ in probe.node.get_subscriber_names_and_types_by_node(node, "/robot1"):
                ours.add(topic)
        outside = {t for t in ours if not t.startswith("/robot1/")} - GLOBAL_TOPICS
        assert ours - GLOBAL_TOPICS, "the nodes should have topics of their own"
        assert outside == set(), f"topics outside /robot1: {sorted(outside)}"
        assert {"/robot1/cmd_vel", "/robot1/agent/cmd_vel"} <= ours
        # `kill` (a service manager's stop) shuts the graph down like Ctrl-C does.
        up.proc.send_signal(signal.SIGTERM)
        code = up.proc.wait(10)
    finally:
        up.stop()
    assert code == 0, up.output[-2000:]
    order = [
        part.split("=")[0] for part in re.search(r"stopped: (.*)", up.output).group(1).split(", ")
    ]
    assert order[-1] == "safety_gate", f"the gate must stop last: {order}"
    wait_until(lambda: not pids_with_env("SYNTH_AGENT_TEST_TAG", tag), 3, "no orphan process")


def test_two_graphs_on_different_domains_do_not_see_each_other(tmp_path, domain_id, probe):
    other = DomainLease()
    far = None
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
    up_a, _ = start_up(tmp_path / "a", domain_id)
    up_b, _ = start_up(tmp_path / "b", other.domain_id)
    try:
        ready_count(up_a)
        ready_count(up_b)
        far = Probe(other.domain_id, name="far_probe")
        for p in (probe, far):
            wait_until(lambda p=p: "/safety_gate" in p.node_names(), 20, "the gate")
        time.sleep(1.0)
        for p in (probe, far):
            gates = [n for n, ns in p.node.get_node_names_and_namespaces() if n == "safety_gate"]
            assert gates == ["safety_gate"], "each domain must hold exactly one gate"
    finally:
        if far is not None:
            far.close()
        up_a.stop()
        up_b.stop()
        other.release()


def test_a_second_graph_on_the_same_domain_refuses_to_start(tmp_path, domain_id):
    first, _ = start_up(tmp_path, domain_id)
    (tmp_path / "second").mkdir()
    try:
        ready_count(first)
        second, tag = start_up(tmp_path / "second", domain_id)
        code = second.proc.wait(30)
        second.stop()
        assert code == 3, second.output
        assert f"another graph is already running on ROS_DOMAIN_ID={domain_id}" in second.output
        assert re.search(
            r"\(/(safety_gate|perception|motor_control|reasoning|voice)", second.output
        )
        assert not pids_with_env("SYNTH_AGENT_TEST_TAG", tag), "it must not start any node"
        assert first.proc.poll() is None, "the running graph is left alone"
    finally:
        first.stop()
