"""`synth-agent say --audio FILE`: the recording is recognised and sent exactly as `say TEXT`."""

from __future__ import annotations

import json

import pytest
from std_msgs.msg import String

from synth_agent.core import contract
from synth_agent.core.voice import normalize
from synth_agent.nodes.qos import profile
from synth_agent.testing import NodeProcess
from test.core.voice_synth import ESPEAK, synthesize

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed"),
]


def say(env, tmp_path, *args):
    proc = NodeProcess(["synth-agent", "say", *args], env, tmp_path, name="say")
    code = proc.proc.wait(120)
    proc.stop()
    return code, proc.output


def test_a_recorded_command_is_sent_and_followed_like_typed_text(env, tmp_path, probe):
    commands = []
    plan_pub = probe.publisher(String, contract.PLAN.name, profile(contract.PLAN))
    status_pub = probe.publisher(String, contract.STATUS.name, profile(contract.STATUS))

    def on_command(msg):
        commands.append(msg.data)
        plan = {"id": "p1", "command": msg.data, "type": "plan",
                "steps": [{"skill": "turn", "angle_deg": 90.0}], "say": ""}  # fmt: skip
        plan_pub.publish(String(data=json.dumps(plan)))
        status_pub.publish(String(data=json.dumps({"plan_id": "p1", "state": "succeeded"})))

    probe.node.create_subscription(
        String, contract.COMMAND.name, on_command, profile(contract.COMMAND)
    )
    wav = synthesize("turn left 90 degrees", tmp_path / "wavs")
    code, out = say(env, tmp_path, "--audio", str(wav))
    assert code == 0, out
    # The recogniser's casing and punctuation go through as heard; the words must be exact.
    assert [normalize(c) for c in commands] == ["turn left 90 degrees"]
    heard = next(line for line in out.splitlines() if line.startswith("[heard] "))
    assert normalize(heard.split("(confidence")[0][8:]) == "turn left 90 degrees", heard
    you = next(line for line in out.splitlines() if line.startswith("[you] "))
    assert normalize(you[6:]) == "turn left 90 degrees", you
    assert "[status] plan: succeeded" in out


def test_unreadable_audio_and_missing_text_are_clear_errors(env, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio")
    code, out = say(env, tmp_path, "--audio", str(bad))
    assert code == 1 and f"say --audio: {bad}: unreadable audio" in out
    code, out = say(env, tmp_path, "--audio", str(tmp_path / "missing.wav"))
    assert code == 1 and "no such file" in out
    code, out = say(env, tmp_path)
    assert code == 1 and "give the command TEXT or --audio FILE" in out
    code, out = say(env, tmp_path, "stop", "--audio", str(bad))
    assert code == 1 and "not both" in out
