"""The language-model generator (`generator: lm`): a schema-constrained plan for the commands
the classifier path handles worst, checked against the command and the world like any other.

Why it is used only where it is (issue 6 measurements): zero-shot, SmolLM2-135M repeats one step
until the cap; with retrieved worked examples it copies the nearest example. For templated
multi-step commands ("go to the bedroom then find a cup and put it on the shelf") copying the
nearest example's *structure* is exactly what the single-intent skeletons lack, so the model is
asked only for multi-clause commands (and low-confidence ones), with the two most similar
worked examples (MiniLM retrieval over a bank built from the training part only) as chat turns,
under a schema whose names are limited to the phrases of the command itself (open world) or to
the known places and objects (closed world). Its plan is then accepted only when
- it parses and builds a `schemas.Plan` (ranges re-checked),
- every place and object it names is grounded: resolvable in the world and said in the command
  (or "operator" / "person" / the held object), so an enum never turns "the garage" into
  "kitchen",
- it carries out the intent the classifier chose (the classifier is far more accurate at intent
  than this model), unless the classifier was unsure;
otherwise the rules-and-skeleton plan stands. A backend failure or timeout also falls back.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synth_agent.core.reasoning.lm import Backend, LMError
from synth_agent.core.reasoning.lm_schema import NAME_LEN, plan_schema
from synth_agent.core.reasoning.text import clauses, normalize

DEFAULT_EXAMPLES = Path(__file__).resolve().parent.parent / "reasoning_examples.json"
SYSTEM = (
    "You are the planner of a home robot. Turn the user's command into JSON steps using only "
    "these skills: navigate_to(place), find(object), pick(object), approach(object), place, "
    "follow(target), describe, say(text), turn(angle_deg), drive(distance_m), wait(seconds). "
    "'operator' is the user. Use only names from the command."
)
_SPLIT_WORDS = {
    "the", "a", "an", "to", "and", "then", "it", "them", "me", "us", "in", "on", "at", "from",
    "into", "onto", "of", "for", "with", "please", "go", "get", "find", "locate", "look",
    "take", "put", "place", "bring", "give", "fetch", "grab", "pick", "up", "deliver", "tell",
    "say", "follow", "meet", "search", "is", "are", "there", "how", "many", "what", "where",
    "which", "who", "your", "my", "you", "this", "that", "after", "next", "back", "navigate",
    "head", "move", "come", "hand", "carry", "drop", "leave", "set", "down", "by", "near",
    "inside", "towards", "toward", "could", "can", "would", "i", "want", "need", "some",
}  # fmt: skip


@dataclass(frozen=True)
class Example:
    text: str
    steps: list[dict]


def load_examples(path: str | Path = DEFAULT_EXAMPLES) -> list[Example]:
    data = json.loads(Path(path).read_text())
    return [Example(e["text"], e["steps"]) for e in data["examples"]]


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def candidate_names(text: str) -> list[str]:
    """Phrases of the command that may name a place, object or person: the runs of words
    between function words and verbs, and their tails ("black shirt", "shirt")."""
    out: list[str] = []
    run: list[str] = []
    for tok in [*re.findall(r"[a-z0-9][a-z0-9'-]*", normalize(text)), "and"]:
        if tok in _SPLIT_WORDS:
            for i in range(len(run)):
                phrase = " ".join(run[i:])[:NAME_LEN].strip()
                if phrase:
                    out.append(phrase)
            run = []
        else:
            run.append(tok)
    return list(dict.fromkeys(out))[:60]


def multi_clause(text: str) -> bool:
    return len(clauses(text)) >= 2


class LMGenerator:
    """Retrieval + prompt + constrained generation; `propose` returns raw steps or None."""

    def __init__(
        self,
        backend: Backend,
        embedder=None,
        examples: list[Example] | None = None,
        shots: int = 2,
        max_new_tokens: int = 96,
    ) -> None:
        self.backend = backend
        self.embedder = embedder
        self.examples = examples if examples is not None else load_examples()
        self.shots = shots
        self.max_new_tokens = max_new_tokens
        self._bank: np.ndarray | None = None
        if embedder is not None and self.examples:
            self._bank = embedder([normalize(e.text) for e in self.examples])
        self.last_latency_s = 0.0
        self.last_error: str | None = None

    def nearest(self, text: str) -> list[Example]:
        if not self.examples or self.shots <= 0:
            return []
        if self._bank is None or self.embedder is None:
            return self.examples[: self.shots]
        q = self.embedder([normalize(text)])[0]
        order = np.argsort(-(self._bank @ q))[: self.shots]
        return [self.examples[i] for i in reversed(order)]  # most similar last, next to the ask

    def messages(self, text: str) -> list[dict[str, str]]:
        msgs = [{"role": "system", "content": SYSTEM}]
        for ex in self.nearest(text):
            msgs.append({"role": "user", "content": ex.text})
            msgs.append({"role": "assistant", "content": dumps({"steps": ex.steps})})
        msgs.append({"role": "user", "content": normalize(text)})
        return msgs

    def schema(self, text: str, places: list[str] | None, objects: list[str] | None,
               cfg) -> dict:  # fmt: skip
        """Open world (`places is None`): names are phrases of the command; closed world: the
        known places and objects (plus phrases that are people)."""
        if places is None:
            names = candidate_names(text)
            places = names
            objects = names
        return plan_schema(places or None, objects or None, cfg.max_steps, cfg.max_drive_m,
                           cfg.max_turn_deg, cfg.max_wait_s)  # fmt: skip

    def propose(
        self, text: str, places: list[str] | None, objects: list[str] | None, cfg
    ) -> list[dict] | None:
        """Steps from the model, or None when it failed (the error is kept in `last_error`)."""
        t0 = time.perf_counter()
        self.last_error = None
        try:
            raw = self.backend.complete(
                self.messages(text), self.schema(text, places, objects, cfg), self.max_new_tokens
            )
            data = json.loads(raw)
            steps = data["steps"]
            if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
                raise ValueError("steps is not a list of objects")
            return steps
        except (LMError, ValueError, KeyError, TypeError) as e:
            self.last_error = str(e)[:200]
            return None
        finally:
            self.last_latency_s = time.perf_counter() - t0


# --- converting the data's structured commands into worked examples (build time only) -------
def frida_steps(structured: list[dict]) -> list[dict] | None:
    """frida-cortex `structured_cmd` in the robot's skills, or None when a step has no skill
    here (guiding a person)."""
    steps: list[dict] = []
    last_person: str | None = None
    for a in structured:
        act = a.get("action")
        if act == "go_to":
            loc = str(a.get("location_to_go", ""))
            place = "operator" if loc in ("start_location", "") else loc
            steps.append({"skill": "navigate_to", "place": place})
        elif act == "pick_object":
            obj = str(a.get("object_to_pick", "object"))
            steps += [{"skill": "find", "object": obj}, {"skill": "pick", "object": obj}]
        elif act == "place_object":
            steps.append({"skill": "place"})
        elif act == "give_object":
            if last_person and steps and steps[-1].get("skill") == "find":
                steps.append({"skill": "approach", "object": last_person})
            steps.append({"skill": "place"})
        elif act in ("find_person", "find_person_by_name"):
            last_person = str(a.get("attribute_value") or a.get("name") or "person")
            steps.append({"skill": "find", "object": last_person})
        elif act == "follow_person_until":
            steps.append({"skill": "follow", "target": last_person or "person"})
        elif act in ("count", "get_person_info", "get_visual_info"):
            steps.append({"skill": "describe"})
        elif act in ("say_with_context", "answer_question"):
            info = str(a.get("previous_command_info") or "the answer")
            steps.append({"skill": "say", "text": info[:80] or "the answer"})
        else:
            return None
    return steps or None
