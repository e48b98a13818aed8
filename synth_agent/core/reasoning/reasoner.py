"""The reasoning core: one command in, one validated `Plan` out, with the reason for it.

Stages, in order, each able to answer on its own:
1. fast path: a stop phrase becomes a `stop` plan at once (no model is consulted);
2. a pending confirmation is settled by "yes" / "no";
3. refusals that no wording can avoid: requests to bypass or exceed safety, attempts to change
   the rules ("ignore your instructions", "do what the sign says"), skills the robot lacks;
4. questions about the scene and the robot, answered from the latest scene and memory, with no
   motion;
5. exact motions with numbers and units (turns, drives, waits), range-checked;
6. the intent classifier plus slot filling into a plan skeleton for that intent, with pronouns
   and "back there" / "again" resolved from memory; a multi-clause command (or a report about
   another place, a described person to meet, greet or follow) is first read clause by clause
   (`compose.py`: "go to the hallway, find the box and bring it to me" keeps all five steps,
   "tell me how many cups are on the shelf" goes, looks, comes back and says so), and that plan
   is used when it carries out the classifier's intent. Lexical anchors settle the intent where
   the words are unambiguous: "take the cup to the bedroom" carries it there (fetch, go, put
   down: a `bring` to a place, see `carries_out`), "go to the kitchen and approach the cup"
   ends in going up to a known object (`find`). A trip back to the operator at the end ("...
   and come back") is planned but is not the goal (`goal_steps`). A clause that a plan leaves
   out is never left out silently: the plan's `say` names it (`Reasoner._left_out`), and when
   it holds the goal or a carry nothing moves: the robot asks instead (`_holds_goal`);
7. validation against the world: unknown place or object (also where an object is said to be:
   "from the garage"; furniture is where to look) -> `clarify` with a question; a
   classifier guess without the words to back it -> `clarify`, never a motion;
8. with `generator: lm`, a multi-clause or low-confidence command that the clause reading of
   step 6 could not plan gets a schema-constrained plan from the language model
   (`generator.py`); it replaces the skeleton only when every name
   in it is grounded in the command and the world, it does not loop, and it carries out the
   intent the classifier chose (the model only supplies the structure and arguments).
Every output is a `schemas.Plan` built through pydantic, so it is valid by construction; text
read from the world (scene labels) is only ever quoted in answers, never parsed as a command.

Time is an argument (`now`, seconds) and ids come from a counter, so tests are exact.
"""

from __future__ import annotations

import copy
import re
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from synth_agent.core.places import Places, normalize_name
from synth_agent.core.reasoning import compose
from synth_agent.core.reasoning.config import ReasoningConfig
from synth_agent.core.reasoning.rules import (
    Motion,
    capabilities,
    injection,
    is_stop,
    out_of_skill,
    parse_motion,
    parse_sidestep,
    safety_violation,
    skipped_verbs,
)
from synth_agent.core.reasoning.slots import Slots, extract
from synth_agent.core.reasoning.text import clauses, normalize
from synth_agent.core.schemas import Plan, Scene, Status

MOTION_SKILLS = frozenset(
    {"navigate_to", "find", "approach", "pick", "place", "follow", "guide", "turn", "drive"}
)
_PLACE_ALIASES = {
    "living room": "living_room", "lounge": "living_room", "sitting room": "living_room",
    "family room": "living_room", "bath": "bathroom", "restroom": "bathroom",
    "toilet": "bathroom", "washroom": "bathroom", "hall": "hallway", "corridor": "hallway",
    "charger": "dock", "charging station": "dock", "base": "dock", "home": "dock",
    "me": "operator", "us": "operator", "here": "operator", "you": "operator",
}  # fmt: skip


# A pronoun and a verb particle, as slot filling reads "pick it up" ("it up"): still "it".
_PRONOUN_PARTICLE = re.compile(
    r"(?:it|that|this|them|that one|this one)(?: (?:up|down|over|back|here|there|along|away|"
    r"out|off|again|too))+"
)
_PRONOUN_BEFORE_PARTICLE = re.compile(
    r"\b(?:it|that|this|them) (?:up|down|over|back|along|away|out|off)\b"
)
# Furniture and fittings: where an object stands, not a place of the map; `find` looks there.
_FURNITURE = re.compile(
    r"\b(?:table|desk|shelf|shelves|bookshelf|bookcase|counter|countertop|worktop|cabinet|"
    r"cupboard|drawer|dresser|wardrobe|sideboard|sofa|couch|armchair|chair|stool|bench|bed|"
    r"nightstand|sink|fridge|refrigerator|freezer|oven|stove|microwave|dishwasher|tv|"
    r"television|floor|window|windowsill|door|basket|bin|tray|rack|stand|cart|trolley|bag)s?\b"
)


class IntentPredictor(Protocol):
    def predict(self, text: str) -> tuple[str, float]: ...


LM_BELOW_CONFIDENCE = 0.6  # the language model is asked below this classifier confidence
# The steps that carry out each kind of clause (`compose.Act.kind`), any one of them: a plan
# without one has left that clause out (`Reasoner._left_out`).
_CLAUSE_SKILLS: dict[str, tuple[str, ...]] = {
    "go": ("navigate_to",), "find": ("find",), "meet": ("find",),
    "approach": ("approach",), "greet": ("say",), "answer": ("say",),
    "pick": ("pick",), "give": ("place",), "put": ("place",), "follow": ("follow",),
    "guide": ("guide",), "report": ("describe",), "return": ("navigate_to",),
    "look": ("describe",), "stay": (), "motion": (),
}  # fmt: skip
_WAIT_VERB = re.compile(r"^(?:wait|stay|remain)\b")
# Clauses the clause reader leaves to the skeletons ("follow the person", "look around"), by
# their first words: the steps that carry them out.
_CLAUSE_VERBS: tuple[tuple[re.Pattern, tuple[str, ...]], ...] = (
    (re.compile(r"^(?:follow|go after|come with|accompany|track)\b"), ("follow",)),
    (re.compile(r"^(?:describe|look around|look at|inspect|examine|observe|check)\b"),
     ("describe",)),
    (re.compile(r"^(?:say|tell|ask)\b"), ("say", "describe")),
    (_WAIT_VERB, ("wait",)),  # "wait until the door opens"
)  # fmt: skip


@dataclass(frozen=True)
class _TooFar:
    """A motion beyond its configured limit: the skill and the refusal to say."""

    skill: str
    say: str


@dataclass(frozen=True)
class Decision:
    """A response with what produced it: `intent` is the intent the response carries out (or
    would have, for a clarify), `stage` the pipeline stage that decided."""

    plan: Plan
    intent: str
    stage: str
    confidence: float = 1.0
    perception: bool = False  # an answer that reports what the robot perceives
    model_note: str = ""  # why the language model's answer was not used (it was asked)


@dataclass
class Memory:
    """What the conversation has established: held object, places, recent plans."""

    held: str | None = None
    last_object: str | None = None
    places: deque = field(default_factory=lambda: deque(maxlen=8))
    plans: deque = field(default_factory=lambda: deque(maxlen=8))
    pending: Plan | None = None
    pending_intent: str = ""
    pending_since: float = 0.0


def goal_steps(steps: list) -> list:
    """The steps up to the goal: a trip back to the operator at the end ("take the cup to the
    bedroom and come back") is the way home after the goal, not the goal."""
    end = len(steps)
    while end > 1 and steps[end - 1].skill == "navigate_to" and steps[end - 1].place == "operator":
        end -= 1
    if end == len(steps) or steps[end - 1].skill == "navigate_to":
        return steps  # "go to the kitchen and come here" (or only trips): still a trip
    return steps[:end]


def plan_intent(plan: Plan) -> str:
    """The intent a plan carries out: that of its last action step (see eval/README.md), a
    trip back to the operator after it aside (`goal_steps`)."""
    steps = goal_steps(plan.steps)
    while len(steps) > 1 and steps[-1].skill == "wait":
        steps = steps[:-1]  # "go to the kitchen and wait there 10 s": the trip is the goal
    if not steps:
        return "other"
    if (len(steps) >= 3 and [x.skill for x in steps[-3:]] == ["turn", "drive", "turn"]
            and steps[-3].angle_deg == -steps[-1].angle_deg):  # fmt: skip
        return "drive"  # a sideways move: turn, drive, turn back
    last = steps[-1].skill
    if last == "say" and any(s.skill == "describe" for s in steps[:-1]):
        return "describe"  # the answer reports what was perceived ("tell me how many ...")
    if last == "place":
        for s in steps[:-1]:
            if s.skill == "navigate_to" and s.place == "operator":
                return "bring"
            if s.skill == "approach" and s.object not in ("",) and _is_person(s.object):
                return "bring"
        return "place"
    return {
        "navigate_to": "navigate",
        "find": "find",
        "approach": "find",
        "pick": "pick",
        "follow": "follow",
        "guide": "guide",
        "turn": "turn",
        "drive": "drive",
        "describe": "describe",
        "say": "answer",
        "stop": "stop",
        "wait": "other",
    }[last]


def _is_wait(act: compose.Act) -> bool:
    if act.kind != "motion":
        return False
    mo = parse_motion(act.text)
    return mo is not None and mo.skill == "wait"


def carries_to_place(plan: Plan) -> bool:
    """True when the plan ends by carrying something to a place: a pick (or an object already
    in hand), a trip to a place other than the operator, then `place` (and perhaps a trip back
    to the operator, `goal_steps`)."""
    steps = goal_steps(plan.steps)
    return (
        len(steps) >= 2
        and steps[-1].skill == "place"
        and steps[-2].skill == "navigate_to"
        and steps[-2].place != "operator"
    )


def carries_out(plan: Plan, intent: str) -> bool:
    """Whether the plan carries out `intent`. Carrying an object to a place is the same steps
    whether it was asked as "take the cup to the bedroom" (bring) or "put the cup in the
    bedroom" (place): there the words, not the steps, tell the two apart."""
    return plan_intent(plan) == intent or (intent == "bring" and carries_to_place(plan))


def response_intent(d: Decision) -> str:
    """The predicted intent of a response, as `synth-agent eval` scores it."""
    kind = d.plan.type
    if kind == "plan":
        if d.intent == "bring" and carries_to_place(d.plan):
            return "bring"  # "take the cup to the bedroom" (see `carries_out`)
        return plan_intent(d.plan)
    if kind == "answer":
        return "describe" if d.perception else "answer"
    return d.intent  # refuse: "other" for out-of-skill or unsafe, else what was refused


def _is_person(text: str) -> bool:
    return bool(
        re.search(r"\b(?:person|people|man|woman|lady|guy|girl|boy|child|operator)\b", text)
    )


def _human(name: str) -> str:
    return "you" if name == "operator" else name.replace("_", " ")


def _the(name: str) -> str:
    return "you" if name == "operator" else "the " + name.replace("_", " ")


def _short(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


# How a plan is said to go: "slowly" runs it at `slow_speed` of the motor's limits
# (`Plan.speed`); "quickly" cannot go beyond them and is answered so. Both are read off the
# command before it is understood ("follow John slowly" follows John; "at half speed" is no
# place).
_SLOWLY = re.compile(
    r"\b(?:slowly|slow|carefully|gently|cautiously|take it easy|easy does it|"
    r"(?:at|with) (?:half|low|a low|reduced|a reduced|a slow|slow) (?:speed|pace))\b",
    re.IGNORECASE,
)
_QUICKLY = re.compile(r"\b(?:quickly|fast|faster|quick|hurry up|hurry|asap|speedily)\b", re.I)
_SLOW_DOWN = re.compile(r"^(?:please )?(?:slow down|go slower|slower|not so fast)(?: please)?$")
_MOVING = frozenset({"navigate_to", "drive", "turn", "find", "approach", "follow", "guide",
                     "pick", "place"})  # fmt: skip
# Verbs that only take hold ("take" and "get" often mean bring: "get the cup from the kitchen").
_PICK_VERB = re.compile(r"^(?:pick up|pick|grab|grasp|lift)\b")
_YES = re.compile(r"^(?:yes|yeah|yep|sure|ok|okay|go ahead|do it|confirm|confirmed|affirmative|"
                  r"please do|yes please|correct|right)\b")  # fmt: skip
_NO = re.compile(r"^(?:no|nope|don'?t|do not|negative|cancel|never mind|not now)\b")
QUESTION_START = re.compile(
    r"^(?:what|where|which|who|how|is|are|do|does|can you see|did|have you|tell me what)\b"
)


class Reasoner:
    """See the module docstring. Not thread-safe: the node calls it from one worker."""

    def __init__(
        self,
        cfg: ReasoningConfig,
        places: Places,
        classifier: IntentPredictor | None = None,
        id_prefix: str = "r",
        generator: Any = None,
    ) -> None:
        self.cfg = cfg
        self.places = places
        self.classifier = classifier
        self.generator = generator  # generator.LMGenerator when cfg.generator == "lm"
        self.id_prefix = id_prefix[:40]
        self.model_note = ""  # why the language model's last answer was not used
        self._pace: float | str | None = None  # the command's speed (`respond`): float or "quick"
        self._count = 0
        self.scene: Scene | None = None
        self.memory = Memory(
            places=deque(maxlen=cfg.memory_size), plans=deque(maxlen=cfg.memory_size)
        )

    # --- inputs besides commands -------------------------------------------------------
    def checkpoint(self) -> Memory:
        """A copy of the conversation memory, for `stopped` to return to."""
        return copy.deepcopy(self.memory)

    def stopped(self, before: Memory | None = None) -> None:
        """The operator said stop: nothing waiting for a "yes" may run after it. `before` (a
        `checkpoint()` taken before a command that the stop withdrew, its plan never published)
        restores the memory as it was, so nothing that command taught outlives it: places for
        "go back", the object for "it", the plan for "do that again"."""
        if before is not None:
            self.memory = before
        self.memory.pending = None

    def observe_scene(self, scene: Scene) -> None:
        self.scene = scene

    @staticmethod
    def tells_what_is_held(status: Status) -> bool:
        """Whether `status` is one `observe_status` learns from: a step that succeeded."""
        return status.state == "succeeded" and status.step is not None

    def observe_status(self, status: Status) -> None:
        """Keep the held object up to date from motor control's progress."""
        if not self.tells_what_is_held(status):
            return
        for plan in reversed(self.memory.plans):
            if plan.id == status.plan_id and status.step < len(plan.steps):
                step = plan.steps[status.step]
                if step.skill == "pick":
                    self.memory.held = step.object
                    self.memory.last_object = step.object
                elif step.skill == "place":
                    self.memory.held = None
                return

    # --- helpers ---------------------------------------------------------------------------
    def _id(self) -> str:
        self._count += 1
        return f"{self.id_prefix}{self._count}"

    def _make(
        self,
        text: str,
        kind: str,
        say: str,
        steps: list[dict] | None = None,
        speed: float | None = None,
    ) -> Plan:
        return Plan(id=self._id(), command=text, type=kind, steps=steps or [],
                    say=_short(say, 480), speed=speed)  # fmt: skip

    def _decide(
        self, text: str, kind: str, say: str, intent: str, stage: str, steps=None, **kw: Any
    ) -> Decision:
        if kind == "plan" and steps and len(steps) > self.cfg.max_steps:
            # Cutting the plan short would drop what comes last without a word.
            kind, steps = "clarify", None
            say = (f"That takes more than {self.cfg.max_steps} steps, more than I plan at once, "
                   "so I haven't started anything. Could you give it to me in parts?")  # fmt: skip
        if kind == "plan" and steps:
            left = self._left_out(text, steps)
            quoted = ", ".join(f"“{_short(c, 40)}”" for c in left)
            if left and self._holds_goal(text, left):
                # Doing the rest without the main action ("come back" without the carry before
                # it) is not what was asked: nothing moves, the operator is asked instead.
                kind, steps = "clarify", None
                say = (f"I couldn't fit {quoted} into a plan, so I haven't started anything. "
                       "Could you say it another way, or one step at a time?")  # fmt: skip
            elif left:  # never silently: the operator hears what the plan does not do
                say = f"I couldn't fit {quoted} into the plan, so I'll leave that out. {say}"
        speed = None
        if kind == "plan" and any(st["skill"] in _MOVING for st in steps):
            if isinstance(self._pace, float):
                speed = self._pace
                part = "half" if speed == 0.5 else f"{speed:.0%} of"
                say = f"{say} Slowly: at {part} my usual speed."
            elif self._pace == "quick":  # never silently: faster than the limits it is not
                say = f"{say} I'll go at my usual speed; my safety limits set how fast that is."
        plan = self._make(text, kind, say, steps, speed)
        if kind == "plan":
            self._remember(plan)
        kw.setdefault("model_note", self.model_note)
        return Decision(plan, intent, stage, **kw)

    def _left_out(self, text: str, steps: list[dict]) -> list[str]:
        """The clauses of a multi-clause command that no step of the plan carries out. Each
        clause that the clause reader, `parse_motion` or `_CLAUSE_VERBS` understands needs one
        step of its skill (`_CLAUSE_SKILLS`); other clauses are not judged here (verbs without
        a skill are `skipped_verbs`' to name). A clause that names its place or object takes
        the step with that name ("go to the kitchen and go to the bedroom" planned as
        [navigate_to bedroom] leaves out the kitchen; a trip to a named place is never carried
        out by a trip elsewhere); the others take steps of their skill, the last clauses first
        (a plan is built for the goal)."""
        parts = clauses(text)
        if len(parts) < 2 or any(s["skill"] == "stop" for s in steps):
            return []
        person = False
        needs: list[tuple[str, tuple[str, ...], str | None]] = []
        prev: compose.Act | None = None
        unread = compose.read(text) is None  # else every clause was read (lists included)
        for clause in parts:
            if out_of_skill(clause):
                continue  # a verb without a skill: `skipped_verbs` names it
            act = compose.read_clause(clause, guide=person)
            motion = parse_motion(clause, self.cfg.default_drive_m)
            if act is None and motion is None and prev is not None:
                if compose.STAY.match(compose.strip_lead(clause)):
                    continue  # "... and wait there": nothing to carry out
                act = compose.elided(prev, clause)  # "..., then the kitchen"
            prev = act
            name = None
            if act is not None:
                person = person or act.person
                need = _CLAUSE_SKILLS[act.kind]
                if act.kind == "approach" and self._known_place(act.what):
                    need = ("navigate_to",)  # "go up to the kitchen": a place name wins
                name = self._clause_name(act, need)
            elif motion is not None:
                need = (motion.skill,)
            elif unread and compose.is_bare_noun_phrase(clause):
                # "the person to the kitchen" after "bring the cup": a thing named and not
                # read, so no step can be known to carry it out
                need = ("(unread)",)
            else:
                bare = compose.strip_lead(clause)
                need = next((skills for rx, skills in _CLAUSE_VERBS if rx.match(bare)), ())
            if not need or (need == ("pick",) and self.memory.held is not None):
                continue  # nothing to judge; or the object is already in hand
            needs.append((clause, need, name))
        free = list(steps)
        done: set[int] = set()
        for i, (_, need, name) in enumerate(needs):  # by name first
            step = next((s for s in free if name and s["skill"] in need and name in (
                s.get("place"), s.get("object"))), None)  # fmt: skip
            if step is not None:
                free.remove(step)
                done.add(i)
        for i, (_, need, name) in reversed(list(enumerate(needs))):
            if name and need == ("navigate_to",):
                continue  # a trip to a named place is carried out only by a trip there
            step = next((s for s in free if s["skill"] in need), None)
            if i not in done and step is not None:
                free.remove(step)
                done.add(i)
        return [clause for i, (clause, _, _) in enumerate(needs) if i not in done]

    def _clause_name(self, act: compose.Act, need: tuple[str, ...]) -> str | None:
        """The place or object name a step carrying out `act` has, when the clause names one."""
        if need == ("navigate_to",):
            if act.kind == "return":
                return "operator"
            return self.resolve_place(compose.np(act.where or act.what) or act.where or act.what)
        if act.kind in ("find", "pick", "approach") and act.what and not act.person:
            return self._known_object(act.what) or _short(normalize(act.what), 60)
        return None

    @staticmethod
    def _holds_goal(text: str, left: list[str]) -> bool:
        """Whether the clauses left out hold the command's main action: its goal (the last
        clause, a trip back to the operator aside), a carry anywhere (a cup left standing
        while the robot goes on) or a wait it cannot keep ("wait until the door opens, then
        ..."). Then the rest of the plan is not what was asked."""
        parts = clauses(text)
        goal = next((c for c in reversed(parts) if not compose.is_return(c)), None)
        for clause in left:
            act = compose.read_clause(clause)
            if clause == goal or (act is not None and act.kind in ("give", "put")):
                return True
            if _WAIT_VERB.match(compose.strip_lead(clause)):
                return True
        return False

    def _remember(self, plan: Plan) -> None:
        self.memory.plans.append(plan)
        for s in plan.steps:
            if s.skill == "navigate_to":
                self.memory.places.append(s.place)
            if s.skill in ("find", "pick", "approach") and not _is_person(s.object):
                self.memory.last_object = s.object

    def _visible(self, now: float) -> list:
        if self.scene is None:
            return []
        return [
            o
            for o in self.scene.objects
            if o.visible and now - o.last_seen <= self.cfg.scene_max_age_s
        ]

    def resolve_place(self, phrase: str | None) -> str | None:
        """A known place name for a phrase ('the living room' -> 'living_room'), or None; in
        open-world mode any phrase is a place."""
        if not phrase:
            return None
        p = normalize(phrase)
        for alias, name in _PLACE_ALIASES.items():
            if p == alias:
                return name
        key = normalize_name(p)
        if key in self.places.names():
            return key
        for name in self.places.names():
            if re.search(rf"\b{re.escape(name.replace('_', ' '))}\b", p):
                return name
        for alias, name in _PLACE_ALIASES.items():
            if " " in alias and alias in p:
                return name
        if self.cfg.open_world:
            return normalize_name(p)[:60] or None
        return None

    def resolve_object(self, phrase: str | None, now: float) -> str | None:
        """A name the robot can look for: a known object (catalogue or scene) or, in open-world
        mode, the phrase itself."""
        if not phrase:
            return None
        known = self._known_object(phrase)
        if known is not None:
            return known
        if self.cfg.open_world:
            return _short(normalize(phrase), 60)
        return None

    def _known_place(self, phrase: str | None) -> bool:
        """Whether a phrase names a place of the map (in open-world mode too)."""
        return bool(phrase) and self.resolve_place(phrase) in self.places.names()

    def _known_object(self, phrase: str | None) -> str | None:
        """The catalogue or scene label a phrase names, else None (in open-world mode too)."""
        if not phrase:
            return None
        p = normalize(phrase)
        labels = list(self.cfg.known_objects)
        if self.scene is not None:
            labels += [o.label for o in self.scene.objects]
        for label in sorted(labels, key=len, reverse=True):
            if re.search(rf"\b{re.escape(label.lower())}s?\b", p):
                return label.lower()
        return None

    # --- the pipeline ----------------------------------------------------------------------
    def respond(self, text: str, now: float) -> Decision:
        """One response to one command (see the module docstring)."""
        # How fast is read off first and the rest understood without it ("follow John slowly"
        # follows John, "at half speed" is no place). The plan keeps the operator's words.
        self._pace = None
        read_as = text
        if not _SLOW_DOWN.match(normalize(text)):
            if _SLOWLY.search(text):
                self._pace = self.cfg.slow_speed
                read_as = _SLOWLY.sub(" ", text)
            elif _QUICKLY.search(text) and safety_violation(text) is None:
                self._pace = "quick"  # ("as fast as you can" stays a refusal: kept whole)
                read_as = _QUICKLY.sub(" ", text)
            read_as = re.sub(r"\s+", " ", read_as).strip(" ,") or text
        d = self._respond(read_as, now)
        if read_as != text:
            d = replace(d, plan=d.plan.model_copy(update={"command": text}))
        return d

    def _respond(self, text: str, now: float) -> Decision:
        norm = normalize(text)
        self.model_note = ""
        if not norm.strip(" .,;:!?"):
            return self._decide(text, "clarify", "I didn't catch that.", "other", "empty")
        # 1. Stop: before anything else, including a pending confirmation.
        if is_stop(text):
            self.stopped()
            return self._decide(text, "plan", "Stopping.", "stop", "fastpath", [{"skill": "stop"}])
        # 2. Confirmation.
        pending = self._settle_pending(text, norm, now)
        if pending is not None:
            return pending
        # 3. Refusals no wording can avoid.
        for check in (injection, safety_violation):
            reason = check(text)
            if reason:
                return self._decide(text, "refuse", reason + ".", "other", "safety")
        # 4. Questions.
        answer = self._answer(text, norm, now)
        if answer is not None:
            return answer
        reason = out_of_skill(text)
        if reason:
            return self._decide(text, "refuse", reason, "other", "skills")
        if _SLOW_DOWN.match(norm):  # a plan's speed is set when it is given, not changed later
            return self._decide(text, "clarify", "I can't change the speed of what I'm doing. "
                                "Say “stop”, then tell me again and add “slowly”.", "other",
                                "rules")  # fmt: skip
        # 5. Memory forms and exact motions.
        remembered = self._from_memory(text, norm)
        if remembered is not None:
            return self._confirmable(remembered, now)
        exact = self._exact_motion(text) or self._approach_object(text, norm, now)
        if exact is not None:
            return self._confirmable(exact, now)
        # 6./7. Classifier, slots, world.
        return self._confirmable(self._understand(text, norm, now), now)

    def _settle_pending(self, text: str, norm: str, now: float) -> Decision | None:
        m = self.memory
        if m.pending is None:
            return None
        if now - m.pending_since > self.cfg.confirm_timeout_s:
            m.pending = None
            return None
        if _YES.match(norm):
            plan = m.pending.model_copy(update={"id": self._id(), "command": text})
            m.pending = None
            self._remember(plan)
            return Decision(plan, m.pending_intent, "confirmed")
        if _NO.match(norm):
            m.pending = None
            return self._decide(text, "answer", "OK, I won't do it.", "other", "declined")
        m.pending = None  # anything else is a new command; the question lapses
        return None

    def _confirmable(self, d: Decision, now: float) -> Decision:
        cfg = self.cfg
        if d.plan.type != "plan":
            return d
        why = None
        steps = d.plan.steps
        if cfg.confirm_follow and any(s.skill == "follow" for s in steps):
            why = "follow a person"
        places = {normalize_name(p) for p in cfg.confirm_places}
        for s in steps:
            if s.skill == "navigate_to" and s.place in places:
                why = f"go into the {_human(s.place)}"
        if cfg.confirm_over_steps and len(steps) > cfg.confirm_over_steps:
            why = f"run a plan of {len(steps)} steps"
        if why is None:
            return d
        self.memory.plans.pop() if self.memory.plans and self.memory.plans[-1] is d.plan else None
        self.memory.pending = d.plan
        self.memory.pending_intent = d.intent
        self.memory.pending_since = now
        return self._decide(
            d.plan.command,
            "clarify",
            f"Shall I {why}? {d.plan.say} Say yes or no.",
            d.intent,
            "confirm",
        )

    def _answer(self, text: str, norm: str, now: float) -> Decision | None:
        """Questions about the scene and the robot, answered without motion."""
        if self._mentions_other_place(norm, now):
            return None  # "how many cups are in the kitchen" needs a trip first
        if len(clauses(norm)) > 1 and (self._has_action(norm) or any(
            self._acts(c) for c in clauses(norm)
        )):  # fmt: skip
            return None  # "pick up the cup and describe the room": an answer would drop a clause
        visible = self._visible(now)

        def ans(say: str, perception: bool) -> Decision:
            return self._decide(text, "answer", say, "describe" if perception else "answer",
                                "question", perception=perception)  # fmt: skip

        if re.search(
            r"\bwhat (?:do|can) you see\b|\bwhat'?s? (?:is )?(?:in front of|around) you\b|"
            r"\bdescribe (?:what you see|the scene|your surroundings|the room)\b|"
            r"^look around$|\bwhat is (?:there|here)\b|\bwhat are you looking at\b",
            norm,
        ):
            return ans(self._describe_scene(visible), True)
        m = re.search(
            r"\b(?:is there|are there|do you see|can you see|have you seen|did you see)\s+"
            r"(?:a|an|any|the|some)?\s*([\w' -]+?)(?:\s+(?:here|around|anywhere|nearby))?\s*\??$",
            norm,
        )
        if m:
            return ans(self._is_there(m.group(1), now), True)
        m = re.search(r"\bhow many ([\w' -]+?)(?: do you see| are there| can you see|$)", norm)
        if m and not re.search(r"\b(?:go|come|navigate)\b", norm):
            return ans(self._count_of(m.group(1), visible), True)
        m = re.search(r"\bwhere (?:is|are) (?:the |my |a )?([\w' -]+?)\s*\??$", norm)
        if m and m.group(1) not in ("you", "we", "i"):
            return ans(self._where_is(m.group(1), now), True)
        where_rx = (
            r"\bwhere are you\b|\bwhere am i\b|\b(?:what|which) room are you in\b|"
            r"\byour (?:position|location)\b"
        )
        if re.search(where_rx, norm):
            return ans(self._where_am_i(), False)
        if re.search(r"\bwhat (?:are you|do you have) (?:holding|carrying)\b|"
                     r"\bare you (?:holding|carrying)\b", norm):  # fmt: skip
            held = self.memory.held
            return ans(f"I am holding the {held}." if held else "I am not holding anything.",
                       False)  # fmt: skip
        if re.search(r"\bwhat can you do\b|^help\b|\bwhat are your (?:skills|abilities)\b", norm):
            return ans(capabilities(), False)
        if re.search(r"\bwho are you\b|\bwhat'?s? (?:is )?your name\b", norm):
            return ans("I am the synth_agent robot. " + capabilities(), False)
        if QUESTION_START.match(norm) and norm.endswith("?") and not self._has_action(norm):
            return ans(
                "I can only answer questions about what I see, where I am and what I hold.",
                False,
            )
        return None

    def _mentions_other_place(self, norm: str, now: float) -> bool:
        report = compose.report_place(norm)
        if report is not None and self.resolve_place(report) is not None:
            return True  # "tell me how many cups are on the dining table": go and look
        for name in self.places.names():
            if name != "operator" and re.search(rf"\b{name.replace('_', ' ')}\b", norm):
                return True
        return bool(re.search(r"\b(?:go|navigate|move|drive|come) (?:to|into)\b", norm))

    def _acts(self, clause: str) -> bool:
        """Whether a clause asks for motion (a report about here is a question)."""
        act = compose.read_clause(clause)
        if act is not None and act.kind != "report":
            return True
        return parse_motion(clause, self.cfg.default_drive_m) is not None

    def _has_action(self, norm: str) -> bool:
        return bool(re.search(r"\b(?:bring|get|fetch|go|find|pick|put|follow|take|move)\b",
                              norm))  # fmt: skip

    def _describe_scene(self, visible: list) -> str:
        if not visible:
            return "I don't see anything I recognise right now."
        parts = []
        for o in sorted(visible, key=lambda o: o.distance)[:6]:
            side = "ahead" if abs(o.bearing) < 0.35 else ("to my left" if o.bearing > 0
                                                            else "to my right")  # fmt: skip
            parts.append(f"a {_short(o.label, 40)} {o.distance:.1f} m {side}")
        return "I see " + ", ".join(parts) + "."

    def _match(self, what: str, objs: list) -> list:
        w = normalize(what).rstrip("s")
        head = w.split()[-1] if w.split() else w
        return [o for o in objs if w in o.label.lower() or head in o.label.lower().split()
                or head.rstrip("s") in o.label.lower()]  # fmt: skip

    def _is_there(self, what: str, now: float) -> str:
        what = _short(what, 40)
        seen = self._match(what, self._visible(now))
        if seen:
            o = min(seen, key=lambda o: o.distance)
            return f"Yes, I see a {_short(o.label, 40)} {o.distance:.1f} m away."
        remembered = self._match(what, list(self.scene.objects) if self.scene else [])
        if remembered:
            o = max(remembered, key=lambda o: o.last_seen)
            room = self.places.room_at(o.position.x, o.position.y)
            where = f" in the {_human(room)}" if room else ""
            return f"Not right now; I last saw a {_short(o.label, 40)}{where}."
        return f"No, I don't see a {what}."

    def _count_of(self, what: str, visible: list) -> str:
        n = len(self._match(what, visible))
        return f"I see {n} {_short(what, 40)}." if n != 1 else f"I see one {_short(what, 40)}."

    def _where_is(self, what: str, now: float) -> str:
        objs = self._match(what, list(self.scene.objects) if self.scene else [])
        if not objs:
            return f"I haven't seen a {_short(what, 40)}."
        o = max(objs, key=lambda o: o.last_seen)
        room = self.places.room_at(o.position.x, o.position.y)
        where = f"in the {_human(room)}" if room else f"at ({o.position.x:.1f}, {o.position.y:.1f})"
        return f"The {_short(o.label, 40)} is {where}, {o.distance:.1f} m from me."

    def _where_am_i(self) -> str:
        if self.scene is None:
            return "I don't know yet: I have no position from perception."
        r = self.scene.robot
        room = self.places.room_at(r.x, r.y)
        at = f"in the {_human(room)}" if room else "outside the known rooms"
        return f"I am {at}, at x {r.x:.1f} m, y {r.y:.1f} m."

    def _from_memory(self, text: str, norm: str) -> Decision | None:
        m = self.memory
        if re.fullmatch(r"(?:please )?(?:do (?:that|it|this) again|again|repeat(?: that)?|"
                        r"once more|one more time)(?: please)?", norm):  # fmt: skip
            last = next((p for p in reversed(m.plans) if p.steps[-1].skill != "stop"), None)
            if last is None:
                return self._decide(text, "clarify", "There is nothing to repeat yet.",
                                    "other", "memory")  # fmt: skip
            steps = [s.model_dump(exclude_none=True) for s in last.steps]
            if self._pace is None:
                self._pace = last.speed  # "again" after "... slowly": slowly again
            return self._decide(text, "plan", "Doing that again.", plan_intent(last),
                                "memory", steps)  # fmt: skip
        back = re.compile(r"\b(?:go|come|head|return) back(?: there| to where you were)?\b")
        if (
            back.search(norm)
            and (not re.search(r"\bback to (?:the )?\w", norm) or re.search(r"\bthere\b", norm))
            # "take the cup to the bedroom and then come back": a return after other work is
            # planned with it (`_compose`), not a trip to the place before
            and not any(self._acts(c) for c in clauses(norm) if not back.search(c))
        ):
            if len(m.places) < 2 and not (m.places and "there" in norm):
                return self._decide(text, "clarify", "Back where? I haven't been anywhere yet.",
                                    "navigate", "memory")  # fmt: skip
            target = m.places[-1] if "there" in norm and len(m.places) < 2 else m.places[-2]
            return self._decide(text, "plan", f"Going back to {_the(target)}.", "navigate",
                                "memory", [{"skill": "navigate_to", "place": target}])  # fmt: skip
        found = re.search(
            r"\b(?:go|come|head|return|get)(?: back)? to where (?:you|we) "
            r"(?:found|saw|spotted|left) (?:the |a |an |my |that )?(?P<what>.+?)"
            r"(?: before| earlier)?$",
            norm,
        )
        if found:
            return self._where_seen(text, found.group("what"))
        back = re.fullmatch(
            r"(?:please )?(?:(?P<verb>take|put|carry) (?:it|that|this|them) back|"
            r"return (?:it|that|this|them)(?: back)?)(?: please)?",
            norm,
        )
        if back:
            # "take it back": back where it came from, which the robot does not keep; it names
            # what "it" is and asks where (never a guess)
            what = m.held or m.last_object
            intent = "place" if back.group("verb") == "put" else "bring"
            if what is None:
                return self._decide(text, "clarify", "Which object do you mean, and where should "
                                    "it go back to?", intent, "memory")  # fmt: skip
            return self._decide(text, "clarify", f"Where should I take the {what} back to?",
                                intent, "memory")  # fmt: skip
        if re.fullmatch(r"(?:please )?(?:put|set|place|drop|leave) (?:it|that|this|them) "
                        r"(?:down|here|there)(?: please)?", norm):  # fmt: skip
            if m.held is None and m.last_object is None:
                return self._decide(text, "clarify", "Put what down? I am not holding anything.",
                                    "place", "memory")  # fmt: skip
            return self._decide(text, "plan", f"Putting the {m.held or m.last_object} down.",
                                "place", "memory", [{"skill": "place"}])  # fmt: skip
        return None

    def _where_seen(self, text: str, what: str) -> Decision:
        """ "Go back to where you found the cup": the named place of the room the object was
        last seen in (the scene keeps a memory of objects no longer in view)."""
        words = set(re.findall(r"[a-z]+", what.lower())) - {"the", "a", "an", "my", "that", "it"}
        seen = [
            o for o in (self.scene.objects if self.scene is not None else [])
            if words and words <= set(f"{o.colour or ''} {o.label}".lower().split())
        ]  # fmt: skip
        if not seen:
            return self._decide(text, "clarify", f"I don't remember seeing {_the(what)}.",
                                "navigate", "memory")  # fmt: skip
        obj = max(seen, key=lambda o: o.last_seen)
        room = self.places.room_at(obj.position.x, obj.position.y)
        if room is None or room not in self.places.places:
            return self._decide(text, "clarify", f"I saw {_the(what)}, but not in a room I can "
                                "name. Where should I go?", "navigate", "memory")  # fmt: skip
        say = f"Going back to {_the(room)}, where I saw {_the(what)}."
        steps = [{"skill": "navigate_to", "place": room}]
        return self._decide(text, "plan", say, "navigate", "memory", steps)

    def _approach_object(self, text: str, norm: str, now: float) -> Decision | None:
        """ "Approach the green box", "go to the red cup": a single clause whose goal is a known
        object rather than a place becomes find + approach (a place name wins)."""
        m = re.fullmatch(
            r"(?:please |robot |can you |could you )*(?:approach|go (?:over |up )?to|"
            r"drive (?:over |up )?to|move (?:over |up )?to|come (?:close )?to|get close to|"
            r"go near|go next to|move next to)\s+(?P<what>[a-z ]+?)(?: please)?",
            norm.strip(" .!?"),
        )
        if m is None or self.resolve_place(m.group("what")) is not None:
            return None
        if len(clauses(text)) > 1:
            return None  # "go to the garage then find the cup" is two steps, not an approach
        obj = self.resolve_object(m.group("what"), now)
        if obj is None or _is_person(obj):
            return None
        steps = [{"skill": "find", "object": obj}, {"skill": "approach", "object": obj}]
        return self._decide(text, "plan", f"Going up to the {obj}.", "find", "rules", steps)

    def _motion_steps(self, clause: str) -> tuple[list[dict], str] | _TooFar | None:
        """The steps of one exact motion clause and how to say them; `_TooFar` when it is
        beyond a limit; None when the clause is no exact motion. A sideways move ("move 30 cm
        to the left") is a turn, a drive and a turn back: the base cannot move sideways."""
        side = parse_sidestep(clause, self.cfg.default_drive_m)
        if side is not None:
            motions = [Motion("turn", 90.0 if side > 0 else -90.0, True),
                       Motion("drive", abs(side), True),
                       Motion("turn", -90.0 if side > 0 else 90.0, True)]  # fmt: skip
        else:
            mo = parse_motion(clause, self.cfg.default_drive_m)
            if mo is None:
                return None
            motions = [mo]
        steps, says = [], []
        for mo in motions:
            limit = {"turn": self.cfg.max_turn_deg, "drive": self.cfg.max_drive_m,
                     "wait": self.cfg.max_wait_s}[mo.skill]  # fmt: skip
            unit = {"turn": "degrees", "drive": "m", "wait": "s"}[mo.skill]
            if abs(mo.value) > limit:
                return _TooFar(mo.skill, f"I won't {mo.skill} {abs(mo.value):g} {unit}: "
                                         f"my limit is {limit:g} {unit}.")  # fmt: skip
            if mo.skill == "turn":
                steps.append({"skill": "turn", "angle_deg": round(mo.value, 3)})
                says.append(f"turning {abs(mo.value):g} degrees "
                            f"{'left' if mo.value >= 0 else 'right'}")  # fmt: skip
            elif mo.skill == "drive":
                steps.append({"skill": "drive", "distance_m": round(mo.value, 3)})
                says.append(f"driving {abs(mo.value):g} m "
                            f"{'forward' if mo.value >= 0 else 'backward'}")  # fmt: skip
            else:
                steps.append({"skill": "wait", "seconds": round(mo.value, 3)})
                says.append(f"waiting {mo.value:g} s")
        say = ", then ".join(says)
        if side is not None:
            say = f"I can't move sideways, so {say}"
        return steps, say

    def _exact_motion(self, text: str) -> Decision | None:
        parts = clauses(text)
        read = [self._motion_steps(c) for c in parts]
        if not parts or any(r is None for r in read):
            return None  # mixed commands go to the classifier and slot filling
        steps, says = [], []
        for r in read:
            if isinstance(r, _TooFar):
                intent = r.skill if r.skill != "wait" else "other"
                return self._decide(text, "refuse", r.say, intent, "rules")
            steps += r[0]
            says.append(r[1])
        kind = steps[-1]["skill"]
        if parse_sidestep(parts[-1], self.cfg.default_drive_m) is not None:
            kind = "drive"  # a sideways move ends with the turn back
        intent = kind if kind in ("turn", "drive") else "other"
        return self._decide(text, "plan", "OK, " + ", then ".join(says) + ".", intent, "rules",
                            steps)  # fmt: skip

    def _classify(self, text: str, norm: str) -> tuple[str, float]:
        """The intent, from lexical anchors that are unambiguous, else the classifier. A trip
        back to the operator at the end ("... and come back") is not the goal: the anchors read
        the clause before it."""
        parts = clauses(text)
        goal = list(parts)
        while len(goal) > 1 and compose.is_return(goal[-1]):
            goal.pop()
        returning = len(goal) < len(parts)
        last = goal[-1] if goal else norm
        if parts and all(compose.is_return(c) for c in parts):
            return "navigate", 1.0  # "come here", "return to me": to the operator
        if re.match(r"^(?:please )?(?:pick|lift) (?:it|that|this|them|one) up\b", last):
            return "pick", 1.0  # "pick that up": the pronoun leaves a classifier little to go on
        if re.match(r"^(?:please )?(?:put|place|drop|leave|release|set down|lay)\b", last):
            return "place", 1.0
        if re.match(r"^(?:please )?(?:follow|come with|go after|track)\b", last):
            return "follow", 1.0
        if re.search(r"\b(?:give|hand|pass) me\b", norm):
            return "bring", 1.0
        acts = compose.read(text)
        while acts and len(acts) > 1 and (acts[-1].kind == "return" or _is_wait(acts[-1])):
            acts.pop()  # "... and come back", "... and wait there 10 seconds": not the goal
        act = acts[-1] if acts else compose.read_clause(last, guide=False)
        if act is not None and act.kind == "guide":
            return "guide", 1.0
        if act is not None and act.kind == "approach":
            # Going up to a thing the robot knows: find it, then approach (as `plan_intent`);
            # "move near the window" is left to the classifier (a landmark is a place).
            known = self._known_object(act.what)
            if known and not _is_person(known):
                return "find", 1.0
        if act is not None and act.kind == "give":
            return "bring", 1.0  # "take the cup to the bedroom", "give the cup to Anna"
        if act is not None and act.kind == "pick" and _PICK_VERB.match(compose.strip_lead(last)):
            return "pick", 1.0  # "go to the kitchen and pick up the cup": nothing to bring back
        if act is not None and act.kind == "go" and acts:
            return "navigate", 1.0  # "go to the bedroom, then the kitchen", "turn, then go"
        if act is not None and act.kind == "look":
            return "describe", 1.0  # "go to the kitchen and look around"
        if act is not None and act.kind == "motion":
            if parse_sidestep(act.text) is not None:
                return "drive", 1.0  # "... and step to the left"
            mo = parse_motion(act.text, self.cfg.default_drive_m)
            if mo is not None and mo.skill in ("turn", "drive"):
                return mo.skill, 1.0  # "go to the kitchen and turn around"
        if act is not None and act.kind == "find" and not act.person:
            return "find", 1.0  # "find the cup and the ball", "..., then look for the box"
        if returning and act is not None and act.kind in ("go", "find", "pick"):
            # "find the cup and return to me": the words say what to do before coming back
            # (a classifier hears "return ... me" as a hand-over)
            return {"go": "navigate", "find": "find", "pick": "pick"}[act.kind], 1.0
        if self.classifier is not None:
            return self.classifier.predict(text)
        return keyword_intent(norm), 0.5

    def _understand(self, text: str, norm: str, now: float) -> Decision:
        intent, conf = self._classify(text, norm)
        slots = extract(text)
        if (slots.object is not None and _PRONOUN_PARTICLE.fullmatch(slots.object)) or (
            slots.object is None and _PRONOUN_BEFORE_PARTICLE.search(norm)
        ):
            # "pick it up", "bring it over", "pick that up": still the earlier object
            slots = replace(slots, object=None, pronoun=True)
        if conf < self.cfg.min_intent_confidence:
            return self._decide(text, "clarify",
                                "I'm not sure what you want me to do. " + capabilities(),
                                intent, "classifier", confidence=conf)  # fmt: skip
        composed = self._compose(text, now)
        if composed is not None and not isinstance(composed, str):
            if len(composed) > self.cfg.max_steps:  # `_decide` asks instead of cutting it short
                return self._decide(text, "plan", "", intent, "classifier", composed,
                                    confidence=conf)  # fmt: skip
            plan = self._make(text, "plan", "OK.", composed)
            if carries_out(plan, intent):  # the classifier still judges what is wanted
                say = "OK: " + ", then ".join(_describe_step(s, text) for s in plan.steps) + "."
                parts = clauses(text)
                if len(parts) > 1 and compose.STAY.match(compose.strip_lead(parts[-1])):
                    say += " Then I'll stay there."  # "... and wait there": said, not dropped
                return self._decide(text, "plan", say, intent, "classifier", composed,
                                    confidence=conf)  # fmt: skip
        build = getattr(self, f"_plan_{intent}", None)
        if build is None and isinstance(composed, str):
            return self._decide(text, "clarify", composed, intent, "world", confidence=conf)
        if build is None:  # stop/other/turn/drive without the words the rules need
            if intent == "other":
                return self._decide(text, "refuse", "I can't do that. " + capabilities(),
                                    "other", "classifier", confidence=conf)  # fmt: skip
            return self._decide(text, "clarify",
                                "I'm not sure what you want me to do. " + capabilities(),
                                intent, "classifier", confidence=conf)  # fmt: skip
        result = build(slots, norm, now)
        # The model only where the clause reader found no plan: on the held-out rows it lost
        # three step sequences the clause reader had right (82.8 % against 87.5 %).
        lm = self._from_lm(text, norm, intent, conf, now)
        if lm is not None:
            return lm
        if isinstance(composed, str):
            return self._decide(text, "clarify", composed, intent, "world", confidence=conf)
        if isinstance(result, str):
            return self._decide(text, "clarify", result, intent, "world", confidence=conf)
        steps, say = result
        skipped = skipped_verbs(text)
        if skipped:
            say = f"I can't {' or '.join(dict.fromkeys(skipped))}, so I'll leave that out. {say}"
        return self._decide(text, "plan", say, intent, "classifier", steps, confidence=conf)

    # --- the language model ----------------------------------------------------------------
    def _from_lm(self, text: str, norm: str, intent: str, conf: float, now: float):
        """A validated plan from the language model, or None to keep the skeleton."""
        from synth_agent.core.reasoning.generator import multi_clause

        gen = self.generator
        if gen is None or not (multi_clause(text) or conf < LM_BELOW_CONFIDENCE):
            return None
        if self.cfg.open_world:
            places = objects = None
        else:
            places = [p for p in self.places.names() if p != "operator"]
            objects = list(self.cfg.known_objects) + [o.label.lower() for o in self._visible(now)]
        raw = gen.propose(text, places, objects, self.cfg)
        if raw is None:
            self.model_note = f"the model's answer was unusable: {gen.last_error}"
            return None
        try:
            steps = self.validate_steps(raw, norm, now)
        except (ValueError, TypeError) as e:
            self.model_note, steps = f"a step had a bad value: {e}", None
        if steps is None:
            return None
        try:
            plan = self._make(text, "plan", "OK.", steps)
        except ValueError as e:
            self.model_note = f"the steps do not make a plan: {e}"
            return None
        if plan_intent(plan) != intent:
            # The classifier is the better judge of what is wanted (measured).
            self.model_note = f"its plan would {plan_intent(plan)}, the command asks to {intent}"
            return None
        say = "OK: " + ", then ".join(_describe_step(s, text) for s in plan.steps) + "."
        return self._decide(text, "plan", say, plan_intent(plan), "lm", steps, confidence=conf)

    def validate_steps(self, raw: list[dict], norm: str, now: float) -> list[dict] | None:
        """Model steps with every name grounded (said in the command and known to the world,
        or "operator" / "person" / the object in hand) and every number in range; else None."""
        words = set(norm.replace("'", " ").split())
        cfg = self.cfg
        said = lambda name: set(name.replace("_", " ").split()) <= words  # noqa: E731
        pronoun = bool(words & {"it", "them", "that", "this"})
        out: list[dict] = []
        holding = self.memory.held is not None or pronoun
        for s in raw[: cfg.max_steps]:
            s = dict(s)
            if out and s == out[-1]:
                return self._reject_lm(f"step {len(out) + 1} repeats the one before")
            if s.get("skill") == "pick":
                holding = True
            elif s.get("skill") == "place":
                if not holding:
                    return self._reject_lm("it puts something down with nothing in hand")
                holding = False
            skill = s.get("skill")
            if skill == "navigate_to":
                place = self.resolve_place(str(s.get("place", "")))
                if place is None:
                    return self._reject_lm(f"{s.get('place', '')!r} is not a known place")
                aliases = [a for a, n in _PLACE_ALIASES.items() if n == place]
                if place != "operator" and not (said(place) or any(said(a) for a in aliases)):
                    return self._reject_lm(f"the command does not name the place {place!r}")
                s["place"] = place
            elif skill in ("find", "pick", "approach", "follow"):
                key = "target" if skill == "follow" else "object"
                name = normalize(str(s.get(key, "")))
                remembered = name in (self.memory.held, self.memory.last_object) and pronoun
                if name == "person" or _is_person(name):
                    pass
                elif not (said(name) or remembered):
                    return self._reject_lm(f"the command does not name {name!r}")
                elif (
                    self.resolve_object(name, now) is None
                    and not remembered
                    and not (
                        skill in ("find", "approach") and name.isalpha()  # a person's name
                    )
                ):
                    return self._reject_lm(f"{name!r} is not an object I know or see")
                s[key] = name
            elif skill == "turn" and abs(float(s.get("angle_deg", 0))) > cfg.max_turn_deg:
                return self._reject_lm(
                    f"a turn of {s.get('angle_deg')}° is over {cfg.max_turn_deg:g}°"
                )
            elif skill == "drive" and abs(float(s.get("distance_m", 0))) > cfg.max_drive_m:
                return self._reject_lm(
                    f"a drive of {s.get('distance_m')} m is over {cfg.max_drive_m:g} m"
                )
            elif skill == "wait" and not 0 <= float(s.get("seconds", 0)) <= cfg.max_wait_s:
                return self._reject_lm(
                    f"a wait of {s.get('seconds')} s is out of 0..{cfg.max_wait_s:g} s"
                )
            elif skill not in ("place", "describe", "say", "turn", "drive", "wait"):
                return self._reject_lm(f"{skill!r} is not a skill it may plan")
            out.append(s)
        return out or self._reject_lm("no steps")

    def _reject_lm(self, reason: str) -> None:
        """validate_steps refuses the model's steps: say why (Decision.model_note), None."""
        self.model_note = f"the model's plan was refused: {reason}"
        return None

    # --- clause by clause ------------------------------------------------------------------
    # Which single-clause acts the composer plans better than the skeletons do (a multi-clause
    # command is always tried): reports about another place, described people.
    _SINGLE_CLAUSE_ACTS = frozenset({"report", "follow", "meet", "greet", "guide", "look"})

    def _compose(self, text: str, now: float) -> list[dict] | str | None:
        """Steps for a command read clause by clause (`compose.py`); a question when a clause
        says "go to" a place the world lacks; None when a clause fits no pattern or another
        name does not resolve (the skeletons then answer, or ask)."""
        acts = compose.read(text)
        if acts is None:
            return None
        one = acts[0]
        to_someone = one.kind == "give" and one.to_person and one.to != "operator"
        visit = one.kind == "go" and compose.strip_lead(normalize(text)).startswith("visit ")
        if (
            len(acts) == 1
            and one.kind not in self._SINGLE_CLAUSE_ACTS
            and not (to_someone or visit)
        ):
            return None  # (the skeleton's bring would bring it to the operator, not to Anna)
        steps: list[dict] = []
        obj = self.memory.held or self.memory.last_object  # what "it" refers to
        person: str | None = None  # who "them" refers to
        found: str | None = None  # the last thing a `find` step located
        held = self.memory.held
        went = False
        hands_full: str | None = None  # the question when a second object is to be picked

        def go(phrase: str | None) -> bool:
            nonlocal went
            if phrase is None:
                return True
            place = self.resolve_place(compose.np(phrase) or phrase)
            if place is None:
                return False
            steps.append({"skill": "navigate_to", "place": place})
            went = True
            return True

        def find(name: str) -> None:
            nonlocal found
            if found != name:
                steps.append({"skill": "find", "object": name})
                found = name

        def thing(phrase: str | None) -> str | None:
            if phrase is None:
                return obj
            return self.resolve_object(phrase, now)

        def fetch(phrase: str | None, where: str | None) -> str | None:
            """Find and pick the object unless it is already in hand (None when it cannot
            be; `hands_full` says why when another object is in hand)."""
            nonlocal obj, held, found, hands_full
            name = thing(phrase)
            if name is None or compose.is_person(name):
                return None
            if held == name:
                return name
            if held is not None:  # one gripper: "pick up the cup, then the ball"
                hands_full = (
                    f"I can hold only one thing at a time, and I'd still be holding "
                    f"{_the(held)} when you want {_the(name)}. Where should I put "
                    f"{_the(held)} first?"
                )
                return None
            if not go(where):
                return None
            if where is not None:
                found = None
            find(name)
            steps.append({"skill": "pick", "object": name})
            obj = held = name
            return name

        for act in acts:
            k = act.kind
            if k == "go":
                if not go(act.where):
                    # "go to the garage": a place said outright that the world lacks is asked
                    # about, never dropped
                    return self._place_or_question(compose.np(act.where) or act.where)[1]
                found = None
            elif k == "return":  # "... and come back": to the operator
                go("operator")
                found = None
            elif k in ("find", "meet", "greet", "answer"):
                if not go(act.where):
                    return None
                if act.where is not None:
                    found = None
                if k == "answer" and act.what is None and not act.person:
                    steps.append({"skill": "say", "text": "What is your question?"})
                    continue
                if act.pronoun in ("them", "him", "her", "they") and person is not None:
                    find(person)  # "meet Ana at the door, then look for her in the kitchen"
                elif act.person or k != "find":
                    who = _short(act.what, 60) if act.what else person
                    if who is None:
                        return None
                    find(who)
                    person = who
                else:
                    name = thing(act.what)
                    if name is None:
                        return None
                    find(name)
                    obj = name
                if k == "greet":
                    steps.append({"skill": "say", "text": act.text})
                elif k == "answer":
                    steps.append({"skill": "say", "text": "Hello! What is your question?"})
            elif k == "approach":
                if not go(act.where):
                    return None
                if act.where is not None:
                    found = None
                if act.person or act.pronoun in ("them", "him", "her", "they"):
                    who = _short(act.what, 60) if act.what else person
                    if who is None:
                        return None
                    find(who)
                    person = who
                    # perception sees a named person as a "person"
                    steps.append({"skill": "approach", "object": who if _is_person(who)
                                  else "person"})  # fmt: skip
                    continue
                if self._known_place(act.what):
                    go(act.what)  # "go up to the kitchen": a place name wins (as one clause)
                    found = None
                    continue
                name = thing(act.what)
                if name is None:
                    return None
                find(name)
                obj = name
                steps.append({"skill": "approach", "object": name})
            elif k == "pick":
                if fetch(act.what, act.where) is None:
                    return hands_full
            elif k == "give":
                if fetch(act.what, act.where) is None:
                    return hands_full
                if act.to == "operator":
                    steps += [{"skill": "navigate_to", "place": "operator"}, {"skill": "place"}]
                elif act.to_person:
                    if not go(act.to_where):
                        return None
                    who = _short(compose.np(act.to) or "person", 60)
                    # A name is found by asking around; perception sees it as a "person".
                    near = who if _is_person(who) else "person"
                    steps += [
                        {"skill": "find", "object": who},
                        {"skill": "approach", "object": near},
                        {"skill": "place"},
                    ]
                else:
                    if not go(act.to):
                        return None
                    steps.append({"skill": "place"})
                held = None
            elif k == "put":
                if held is None and fetch(act.what, None) is None:
                    return hands_full
                if not go(act.where):
                    return None
                steps.append({"skill": "place"})
                held = None
            elif k == "follow":
                if act.what == "operator":
                    steps.append({"skill": "follow", "target": "person"})
                    continue
                if not go(act.where):
                    return None
                if act.where is not None:
                    found = None
                who = _short(act.what, 60) if act.what else person
                if who is None:
                    return None
                find(who)
                steps.append({"skill": "follow", "target": who})
            elif k == "guide":
                guide = self._guide_steps(act, person, now)
                if isinstance(guide, str):
                    return guide
                if guide is None:
                    return None
                steps += guide
                person = guide[-1].get("person", person)
            elif k == "motion":  # "go to the kitchen and wait there 10 seconds"
                moved = self._motion_steps(act.text)
                if moved is None:
                    return None
                if isinstance(moved, _TooFar):
                    return moved.say + " Could you say it with less?"
                steps += moved[0]
            elif k == "stay":
                if act is not acts[-1]:  # "wait there and come back": for how long?
                    return "How long should I wait there before I go on?"
                # "... and wait there": the robot stays where the steps before leave it
            elif k == "look":
                name = self._known_object(act.what)  # "look at the cup": find it first
                if name is not None and not _is_person(name):
                    find(name)
                steps.append({"skill": "describe"})
            elif k == "report":
                if act.where is None and not went:
                    return None  # a question about here: the answer stage's job
                if not go(act.where):
                    return None
                if act.what is not None:
                    find(act.what)
                place = next(s["place"] for s in reversed(steps) if s["skill"] == "navigate_to")
                said = f"I'm back from {_the(place)}; I told you there what I saw."
                if act.to:
                    said = (f"I can't pass what I see on to the {_short(act.to, 60)}, so I told "
                            "you instead.")  # fmt: skip
                steps += [
                    {"skill": "describe"},
                    {"skill": "navigate_to", "place": "operator"},
                    {"skill": "say", "text": said},
                ]
            else:
                return None
        return steps or None

    def _guide_steps(
        self, act: compose.Act, person: str | None, now: float
    ) -> list[dict] | str | None:
        """The steps of one guide act: go where the person is (when said), find them, guide
        them. A question when the destination is unknown (as for navigate_to); None when the
        person is "them" with nobody before, or a bare word names a known object ("take milk
        to the kitchen" is carrying)."""
        place, q = self._place_or_question(compose.np(act.to) or act.to)
        if q or place is None:
            return q
        if act.what == "operator":
            return [{"skill": "navigate_to", "place": "operator"},
                    {"skill": "guide", "place": place}]  # fmt: skip
        who = _short(act.what, 60) if act.what else person
        if who is None:
            return None
        if act.what and not compose.is_person(act.what) and " " not in act.what:
            known = [*self.cfg.known_objects, *(o.label for o in self._visible(now))]
            if act.what in (k.lower() for k in known):
                return None
        steps: list[dict] = []
        if act.where is not None:
            # an unknown spot (closed world): no trip, find searches the rooms
            lead, _ = self._lead(compose.np(act.where) or act.where)
            steps += lead
        if act.what is not None or act.where is not None:
            steps.append({"skill": "find", "object": who})
        steps.append({"skill": "guide", "place": place, "person": who})
        return steps

    # --- skeletons: each returns (steps, say) or a clarifying question --------------------
    def _object(self, slots: Slots, now: float) -> tuple[str | None, str | None]:
        """(object name, question) for the object a command is about."""
        if slots.object is None and slots.pronoun:
            ref = self.memory.held or self.memory.last_object
            if ref:
                return ref, None
            return None, "Which object do you mean?"
        if slots.object is None:
            return None, "Which object do you mean?"
        obj = self.resolve_object(slots.object, now)
        if obj is None:
            known = ", ".join(dict.fromkeys(self.cfg.known_objects))
            return None, (f"I don't know what “{_short(slots.object, 40)}” looks like. "
                          f"I can look for: {known}.")  # fmt: skip
        return obj, None

    def _place_or_question(self, phrase: str | None) -> tuple[str | None, str | None]:
        if phrase is None:
            return None, None
        name = self.resolve_place(phrase)
        if name is None:
            known = ", ".join(_human(n) for n in self.places.names())
            return None, f"I don't know a place called “{_short(phrase, 40)}”. I know: {known}."
        return name, None

    def _plan_navigate(self, slots: Slots, norm: str, now: float):
        phrase = slots.destination or slots.source
        if phrase is None and (
            re.search(r"\b(?:come here|come to me|come back)\b", norm) or compose.is_return(norm)
        ):
            phrase = "operator"
        if phrase is None:
            return "Where should I go?"
        place, q = self._place_or_question(phrase)
        if q:
            return q
        return [{"skill": "navigate_to", "place": place}], f"Going to {_the(place)}."

    def _lead(self, phrase: str | None) -> tuple[list[dict], str | None]:
        place, q = self._place_or_question(phrase)
        if q or place is None or place == "operator":
            return [], q if place != "operator" else None
        return [{"skill": "navigate_to", "place": place}], None

    def _object_lead(self, phrase: str | None) -> tuple[list[dict], str | None]:
        """The trip to where an object is said to be ("from the living room"), or the question
        when the world lacks that place: dropping it would fetch the object from anywhere
        ("from the garage" is not "from the kitchen"). Furniture ("from the table", "on the
        shelf") is where `find` looks, not a place to ask about."""
        lead, q = self._lead(phrase)
        if q and phrase and (_FURNITURE.search(normalize(phrase)) or self._known_object(phrase)):
            return [], None
        return lead, q

    def _where_object_is(self, slots: Slots) -> str | None:
        return slots.source or (slots.destination if slots.destination != "operator" else None)

    def _plan_find(self, slots: Slots, norm: str, now: float):
        target = slots.person
        if target is not None:
            lead, q = self._lead(slots.source or slots.destination)
            if q:
                return q
            return lead + [
                {"skill": "find", "object": _short(target, 60)}
            ], f"Looking for {target}."
        obj, q = self._object(slots, now)
        if q:
            return q
        lead, q = self._object_lead(self._where_object_is(slots))
        if q:
            return q
        return lead + [{"skill": "find", "object": obj}], f"Looking for the {obj}."

    def _plan_pick(self, slots: Slots, norm: str, now: float):
        obj, q = self._object(slots, now)
        if q:
            return q
        lead, q = self._object_lead(self._where_object_is(slots))
        if q:
            return q
        steps = lead + [{"skill": "find", "object": obj}, {"skill": "pick", "object": obj}]
        return steps, f"Picking up the {obj}."

    def _plan_bring(self, slots: Slots, norm: str, now: float):
        acts = [compose.read_clause(c, guide=False) for c in clauses(norm)]
        act = next((a for a in reversed(acts) if a is not None and a.kind == "give"), None)
        if act is not None and not act.to_person:  # the last hand-over is to a place
            return self._plan_carry(act, slots, now)
        obj, q = self._object(slots, now)
        if q:
            return q
        steps: list[dict] = []
        if self.memory.held != obj:
            lead, q = self._object_lead(slots.source or (
                slots.destination if slots.recipient is not None else None))  # fmt: skip
            if q:
                return q  # "bring me the cup from the garage": never from somewhere else
            steps = lead + [
                {"skill": "find", "object": obj},
                {"skill": "pick", "object": obj},
            ]
        rec = slots.recipient or "operator"
        if rec == "operator":
            steps += [{"skill": "navigate_to", "place": "operator"}, {"skill": "place"}]
            return steps, f"Bringing you the {obj}."
        person = _short(rec, 60)
        steps += [{"skill": "find", "object": person}, {"skill": "approach", "object": person},
                  {"skill": "place"}]  # fmt: skip
        return steps, f"Bringing the {obj} to {person}."

    def _plan_carry(self, act: compose.Act, slots: Slots, now: float):
        """ "Take the red cup to the living room": fetch it (as for "bring me"), carry it there,
        put it down. A place the world lacks is asked about, never swapped for the operator."""
        what = act.what or slots.object  # "find the cup and take it to ...": the cup
        obj, q = self._object(Slots(object=what, pronoun=what is None), now)
        if q:
            return q
        place, q = self._place_or_question(compose.np(act.to) or act.to)
        if q or place is None:
            return q or "Where should I take it?"
        steps: list[dict] = []
        if self.memory.held != obj:
            lead, q = self._object_lead(compose.np(act.where) or slots.source)
            if q:
                return q
            steps = lead + [
                {"skill": "find", "object": obj},
                {"skill": "pick", "object": obj},
            ]
        steps += [{"skill": "navigate_to", "place": place}, {"skill": "place"}]
        if place == "operator":
            return steps, f"Bringing you the {obj}."
        return steps, f"Taking the {obj} to {_the(place)}."

    def _plan_place(self, slots: Slots, norm: str, now: float):
        if not (slots.object or slots.pronoun or slots.destination) and self.memory.held is None:
            # A bare "put" with nothing in the gripper: nothing to put down, nowhere to go.
            return "I'm not holding anything. What should I put, and where?"
        obj = None
        if slots.object or slots.pronoun:
            obj, q = self._object(slots, now)
            if q and not (slots.pronoun and self.memory.held):
                return q
        steps: list[dict] = []
        if obj is not None and self.memory.held != obj:
            lead, q = self._object_lead(slots.source)
            if q:
                return q
            steps = lead + [
                {"skill": "find", "object": obj},
                {"skill": "pick", "object": obj},
            ]
        dest_phrase = slots.destination
        if dest_phrase is not None:
            place, q = self._place_or_question(dest_phrase)
            if q:
                return q
            steps += [{"skill": "navigate_to", "place": place}]
        steps += [{"skill": "place"}]
        what = f"the {obj}" if obj else "it"
        where = " here"
        if dest_phrase:
            dest = steps[-2]["place"]
            where = " by you" if dest == "operator" else f" in the {_human(dest)}"
        return steps, f"Putting {what}{where}."

    def _plan_follow(self, slots: Slots, norm: str, now: float):
        if not re.search(r"\b(?:follow|come with|go after|track|accompany)\b", norm):
            return "Whom should I follow?"
        target = slots.person or "person"
        if target == "operator":
            target = "person"
        lead, q = self._lead(slots.source or slots.destination)
        if q:
            lead = []
        if target != "person":
            lead.append({"skill": "find", "object": _short(target, 60)})
        steps = lead + [{"skill": "follow", "target": _short(target, 60)}]
        return steps, f"Following the {target}." if target == "person" else f"Following {target}."

    def _plan_guide(self, slots: Slots, norm: str, now: float):
        """ "Take him to the living room" with nobody before it: find a person, guide them."""
        last = clauses(norm)[-1] if clauses(norm) else norm
        act = compose.read_clause(last)
        if act is None or act.kind != "guide":
            return "Whom should I show the way, and to where?"
        steps = self._guide_steps(act, act.what or "person", now)
        if steps is None:
            return "Whom should I show the way, and to where?"
        if isinstance(steps, str):
            return steps
        step = steps[-1]
        find = {"skill": "find", "object": step.get("person", "person")}
        if act.what != "operator" and steps[-2:-1] != [find]:
            steps.insert(len(steps) - 1, find)  # "take him to ...": find someone first
        who = "you" if act.what == "operator" else _the(step.get("person", "person"))
        return steps, f"Showing {who} the way to {_the(step['place'])}."

    def _plan_describe(self, slots: Slots, norm: str, now: float):
        lead, q = self._lead(slots.destination or slots.source)
        if q and not lead:
            lead = []
        target = slots.person
        mid = [{"skill": "find", "object": _short(target, 60)}] if target else []
        where = f" in the {_human(lead[0]['place'])}" if lead else ""
        return lead + mid + [{"skill": "describe"}], f"I'll look{where} and tell you what I see."

    def _plan_answer(self, slots: Slots, norm: str, now: float):
        lead, q = self._lead(slots.destination or slots.source)
        if q:
            lead = []
        target = slots.person or (
            "person" if re.search(r"\bperson|people|someone\b", norm) else None
        )
        mid = [{"skill": "find", "object": _short(target, 60)}] if target else []
        return lead + mid + [{"skill": "say", "text": "Hello! What is your question?"}], (
            "I'll go and talk to them."
        )


def _describe_step(s, command: str = "") -> str:
    """One step for the operator's ear. A name the command wrote with a capital ("Anna") is
    said without "the" and with its capital."""

    def called(name: str) -> str:
        m = re.search(rf"\b({re.escape(name)})\b", command, re.IGNORECASE)
        if m and " " not in name and m.group(1)[:1].isupper():
            return m.group(1)
        return f"the {name}"

    k = s.skill
    if k == "navigate_to":
        return "come back to you" if s.place == "operator" else f"go to {_the(s.place)}"
    if k in ("find", "pick", "approach"):
        return f"{k} {called(s.object)}"
    if k == "follow":
        return f"follow {called(s.target)}"
    if k == "guide":
        who = called(s.person)  # "the visitor", "Marta"; a name typed in lower case stays bare
        if who.startswith("the ") and " " not in s.person and not compose.is_person(s.person):
            who = s.person
        return f"show {who} the way to {_the(s.place)}"
    if k == "say":
        return f"say “{_short(s.text, 40)}”"
    if k == "turn":
        return f"turn {abs(s.angle_deg):g} degrees {'left' if s.angle_deg >= 0 else 'right'}"
    if k == "drive":
        return f"drive {abs(s.distance_m):g} m {'forward' if s.distance_m >= 0 else 'backward'}"
    if k == "wait":
        return f"wait {s.seconds:g} s"
    return {"place": "put it down", "describe": "look and describe"}.get(k, k)


def keyword_intent(norm: str) -> str:
    """A crude intent when no classifier is loaded (tests, or before the model is ready)."""
    table = [
        (r"\b(?:bring|fetch|give|hand)\b", "bring"),
        (r"\b(?:put|place|drop|leave)\b", "place"),
        (r"\b(?:pick|grab|grasp|take)\b", "pick"),
        (r"\bfollow\b", "follow"),
        (r"\b(?:find|look for|search|locate)\b", "find"),
        (r"\b(?:go|navigate|move to|head|come)\b", "navigate"),
        (r"\b(?:describe|tell me|what|how many|check)\b", "describe"),
    ]
    for rx, intent in table:
        if re.search(rx, norm):
            return intent
    return "other"
