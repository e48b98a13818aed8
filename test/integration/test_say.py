"""`synth-agent say` against a peer that answers over real topics.

The probe plays the reasoning and motor-control side of the contract (plan on agent/plan,
progress on agent/status, words on agent/feedback), so these tests pin the CLI's protocol and
exit codes independently of how those nodes are built.
"""

import json
import signal
import sys

import pytest
from std_msgs.msg import String

from synth_agent.core import contract
from synth_agent.nodes.qos import profile
from synth_agent.testing import BIN, NodeProcess

pytestmark = pytest.mark.integration


class Peer:
    """Answers each command on agent/command with a scripted list of (topic, payload)."""

    def __init__(self, probe, script):
        self.script = script
        self.pubs = {
            t.name: probe.publisher(String, t.name, profile(t))
            for t in (contract.PLAN, contract.STATUS, contract.FEEDBACK)
        }
        probe.node.create_subscription(
            String, contract.COMMAND.name, self.on_command, profile(contract.COMMAND)
        )

    def on_command(self, msg):
        for topic, payload in self.script(msg.data):
            data = payload if isinstance(payload, str) else json.dumps(payload)
            self.pubs[topic].publish(String(data=data))


def say(env, tmp_path, *args):
    proc = NodeProcess(["synth-agent", "say", *args], env, tmp_path, name="say")
    code = proc.proc.wait(60)
    proc.stop()
    return code, proc.output


def plan(text, kind="plan", steps=None, say_text=""):
    steps = [{"skill": "turn", "angle_deg": 90.0}] if steps is None and kind == "plan" else []
    return {"id": "p7", "command": text, "type": kind, "steps": steps, "say": say_text}


def test_no_listener_is_a_clear_error(env, tmp_path):
    code, out = say(env, tmp_path, "turn left", "--connect-timeout", "2")
    assert code == 3
    assert "nobody is listening on /agent/command" in out


def test_plan_progress_is_printed_and_success_exits_zero(env, tmp_path, probe):
    Peer(
        probe,
        lambda text: [
            ("agent/plan", plan(text)),
            ("agent/feedback", "Turning left."),
            ("agent/status", {"plan_id": "other", "state": "failed"}),  # not ours: ignored
            ("agent/status", {"plan_id": "p7", "step": 0, "skill": "turn", "state": "running"}),
            ("agent/status", {"plan_id": "p7", "step": 0, "skill": "turn", "state": "succeeded"}),
            ("agent/status", {"plan_id": "p7", "state": "succeeded", "detail": "done"}),
        ],
    )
    code, out = say(env, tmp_path, "turn left 90 degrees")
    assert code == 0, out
    assert "[you] turn left 90 degrees" in out
    assert "[plan p7] plan: turn(angle_deg=90.0)" in out
    assert "[robot] Turning left." in out
    assert "[status] step 0 turn: running" in out
    assert "[status] plan: succeeded done" in out


@pytest.mark.parametrize("kind, expected", [("refuse", 1), ("clarify", 1), ("answer", 0)])
def test_responses_without_steps_end_the_command(env, tmp_path, probe, kind, expected):
    Peer(probe, lambda text: [("agent/plan", plan(text, kind, say_text="Why: because."))])
    code, out = say(env, tmp_path, "open the door")
    assert code == expected, out
    assert f"[plan p7] {kind}: Why: because." in out


def test_failed_plan_and_garbage_status(env, tmp_path, probe):
    Peer(
        probe,
        lambda text: [
            ("agent/plan", plan(text)),
            ("agent/status", "{not json"),
            ("agent/status", {"plan_id": "p7", "state": "failed", "detail": "blocked"}),
        ],
    )
    code, out = say(env, tmp_path, "turn")
    assert code == 1
    assert "invalid status message: not JSON" in out
    assert "[status] plan: failed blocked" in out


def test_timeout_when_the_plan_never_ends(env, tmp_path, probe):
    Peer(probe, lambda text: [("agent/plan", plan(text))])
    code, out = say(env, tmp_path, "turn", "--timeout", "2")
    assert code == 124
    assert "no end of plan within 2 s" in out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_waiting_ends_say_cleanly(env, tmp_path, probe, sig):
    Peer(probe, lambda text: [("agent/plan", plan(text))])  # a plan that never ends
    proc = NodeProcess(["synth-agent", "say", "turn", "--timeout", "60"], env, tmp_path, name="say")
    proc.wait_for_output(r"\[plan p7\] plan:")
    code = proc.stop(sig=sig)
    assert code == 1, proc.output
    assert "say: interrupted" in proc.output
    assert "Traceback" not in proc.output


def test_say_started_with_sigint_ignored_still_ends_on_sigint(env, tmp_path, probe):
    """A non-interactive shell starts background jobs with SIGINT ignored (`synth-agent record
    out &` in a script): the CLI must still end cleanly on `kill -INT`."""
    Peer(probe, lambda text: [("agent/plan", plan(text))])  # a plan that never ends
    ignoring = (
        "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
        "os.execvp(sys.argv[1], sys.argv[1:])"
    )
    say_cmd = [str(BIN / "synth-agent"), "say", "turn", "--timeout", "60"]
    cmd = [sys.executable, "-c", ignoring, *say_cmd]
    proc = NodeProcess(cmd, env, tmp_path, name="say")
    proc.wait_for_output(r"\[plan p7\] plan:")
    code = proc.stop(sig=signal.SIGINT)
    assert code == 1, proc.output
    assert "say: interrupted" in proc.output
