"""`synth-agent record` and `synth-agent play` through real processes and real messages."""

from __future__ import annotations

import signal
import time

from geometry_msgs.msg import Twist
from rclpy.serialization import deserialize_message
from std_msgs.msg import String

from synth_agent import bag
from synth_agent.core import contract
from synth_agent.nodes.qos import profile
from synth_agent.testing import wait_until

N = 20
GAP_S = 0.05


def _record(launch, probe, out, *topics: str) -> None:
    """Run the recorder, publish N numbered feedback lines and N twists, stop it."""
    rec = launch(["synth-agent", "record", str(out), "--topics", ",".join(topics)], name="record")
    rec.wait_for_output(r"record: \d+ topics", timeout=30)
    feedback = probe.publisher(String, contract.FEEDBACK.name, profile(contract.FEEDBACK))
    cmd = probe.publisher(Twist, contract.CMD_VEL.name, profile(contract.CMD_VEL))
    probe.wait_for_subscribers(feedback, timeout=20)
    probe.wait_for_subscribers(cmd, timeout=20)
    for i in range(N):
        feedback.publish(String(data=f"line {i}"))
        tw = Twist()
        tw.linear.x = 0.01 * i
        cmd.publish(tw)
        time.sleep(GAP_S)
    time.sleep(0.5)
    assert rec.stop(sig=signal.SIGINT) == 0, rec.output
    assert f"record: {2 * N} messages" in rec.output, rec.output


def test_record_writes_every_message_in_order(launch, probe, tmp_path):
    out = tmp_path / "run_bag"
    _record(launch, probe, out, "agent/feedback", "cmd_vel")
    assert (out / "metadata.yaml").exists()
    msgs = bag.read(out)
    lines = [deserialize_message(m.data, String).data for m in msgs if m.topic == "/agent/feedback"]
    assert lines == [f"line {i}" for i in range(N)]
    speeds = [deserialize_message(m.data, Twist).linear.x for m in msgs if m.topic == "/cmd_vel"]
    assert speeds == [0.01 * i for i in range(N)]
    times = [m.time_ns for m in msgs if m.topic == "/agent/feedback"]
    assert (times[-1] - times[0]) / 1e9 > 0.5 * (N - 1) * GAP_S


def test_play_republishes_identical_messages_in_another_namespace(launch, probe, tmp_path):
    out = tmp_path / "run_bag"
    _record(launch, probe, out, "agent/feedback", "cmd_vel")
    heard = probe.subscribe(String, "/robot2/agent/feedback", profile(contract.FEEDBACK))
    twists = probe.subscribe(Twist, "/robot2/cmd_vel", profile(contract.CMD_VEL))
    not_moved = probe.subscribe(String, "/agent/feedback", profile(contract.FEEDBACK))
    player = launch(
        ["synth-agent", "play", str(out), "--namespace", "robot2", "--delay", "2"], name="play"
    )
    wait_until(lambda: player.proc.poll() is not None, 60, "the player to finish")
    assert player.proc.returncode == 0, player.output
    assert f"published {2 * N} messages" in player.output
    wait_until(lambda: len(heard) >= N and len(twists) >= N, 10, "the replayed messages")
    assert [m.data for m in heard] == [f"line {i}" for i in range(N)]
    assert [t.linear.x for t in twists] == [0.01 * i for i in range(N)]
    assert not_moved == [], "playback into robot2 must not publish on the root namespace"


def test_play_refuses_a_folder_that_is_not_a_bag(launch, tmp_path):
    player = launch(["synth-agent", "play", str(tmp_path)], name="play")
    wait_until(lambda: player.proc.poll() is not None, 30, "the player to exit")
    assert player.proc.returncode == 1
    assert "cannot read" in player.output


def test_select_refuses_unknown_topics_and_keeps_images_out_by_default():
    names = {t.name for t in bag.select(None)}
    assert contract.IMAGE.name not in names and contract.CMD_VEL.name in names
    assert contract.IMAGE.name in {t.name for t in bag.select(None, images=True)}
    try:
        bag.select(["agent/nonsense"])
    except ValueError as e:
        assert "not a contract topic" in str(e)
    else:
        raise AssertionError("an unknown topic must be refused")


def test_recorded_names_map_back_to_contract_rows():
    assert bag._topic_of("/robot1/agent/cmd_vel") is contract.AGENT_CMD_VEL
    assert bag._topic_of("/robot1/cmd_vel") is contract.CMD_VEL
    assert bag._topic_of("/clock") is bag.CLOCK
    assert bag._topic_of("/something/else") is None
    assert bag.resolve("cmd_vel", "/robot2/") == "/robot2/cmd_vel"
    assert bag.resolve("/diagnostics", "robot2") == "/diagnostics"
