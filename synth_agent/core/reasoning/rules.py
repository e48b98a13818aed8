"""Deterministic rules that run before (and instead of) any model.

- `is_stop`: stop / halt / freeze / cancel and their kin. It only looks at words, never at a
  model, so a stop is recognised in microseconds even while a model is loading or busy. A clause
  that is nothing but a stop phrase (after fillers such as "please", "robot", "now") stops the
  robot wherever it is in the sentence ("no no, stop!"); "stop by the kitchen" is not a stop.
- `parse_motion`: turns and drives with numbers and units ("turn left 90 degrees", "back up half
  a metre", "drive forward 2 m"), which must be exact; signs follow REP 103 (left and forward
  positive).
- `safety_violation` and `out_of_skill`: requests to exceed or disable safety, and verbs the robot
  has no skill for; both become refusals with a reason.
These read the command text only: text the robot reads from the world never reaches them as a
command, and nothing in the command can switch them off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from synth_agent.core.reasoning.compose import STAY, is_return
from synth_agent.core.reasoning.text import clauses, normalize, parse_number

_FILLER = {
    "please", "robot", "now", "right", "immediately", "hey", "hi", "ok", "okay", "oh", "no",
    "just", "you", "all", "everything", "the", "it", "that", "this", "at", "once", "dammit",
    "damn", "quickly", "fast", "asap", "god", "wait", "hold", "guys", "sir",
    "there", "again", "yes", "i", "said", "say", "to", "your", "current", "task", "plan",
    "command", "action", "mission", "motion", "movement", "moving", "robots", "emergency",
    "buddy", "up", "over", "go", "my", "order", "request",
}  # fmt: skip
_STOP_CORE = {
    "stop", "halt", "freeze", "cancel", "abort", "stopp", "stahp", "estop", "e-stop",
    "nevermind", "cease", "desist", "quit", "terminate", "kill", "whoa", "woah",
}  # fmt: skip
_STOP_PHRASES = re.compile(
    r"^(?:(?:please|robot|hey|now|just)\s+)*(?:"
    r"don'?t move|do not move|stand still|stay still|hold still|keep still|stay put|"
    r"never ?mind|stop (?:moving|driving|turning|now|there|what you'?re doing|it|that|all|"
    r"everything|the robot|right there|immediately|at once)|hold it|hold on|"
    r"that'?s enough|enough|stop stop|whoa|woah|emergency stop|e stop"
    r")(?:\s+(?:please|robot|now|right now|immediately|at once|it|there))*$"
)
_NOT_STOP = re.compile(r"\b(?:don'?t|do not|never|without)\s+(?:stop|halt|cancel)\b|\bstop by\b")


def is_stop(text: str) -> bool:
    """True when the command asks the robot to stop (see the module docstring)."""
    norm = normalize(text)
    if not norm or _NOT_STOP.search(norm):
        return False
    # Staying is a stop when it is the whole command ("wait here", "stay where you are until
    # I'm back"); a bare "wait" is not ("wait, go to the kitchen instead" changes the command).
    parts = clauses(text)
    said = [c for c in parts if c not in _FILLER]
    stay = STAY.match(said[0]) if len(said) == 1 else None
    if stay and (stay.group("where") or said[0].split()[-1] != "wait"):
        return True
    for clause in parts or [norm]:
        if _STOP_PHRASES.match(clause):
            return True
        toks = clause.split()
        if toks and any(t in _STOP_CORE for t in toks):
            rest = [t for t in toks if t not in _STOP_CORE and t not in _FILLER]
            if not rest:
                return True
    return False


@dataclass(frozen=True)
class Motion:
    """An exact turn or drive read from the words."""

    skill: str  # "turn" | "drive" | "wait"
    value: float  # degrees (left +), metres (forward +), seconds
    explicit: bool  # a number was given (else a default was used)


_UNITS_M = {
    "m": 1.0, "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0, "cm": 0.01,
    "centimeter": 0.01, "centimeters": 0.01, "centimetre": 0.01, "centimetres": 0.01,
    "mm": 0.001, "millimeters": 0.001, "millimetres": 0.001, "ft": 0.3048, "foot": 0.3048,
    "feet": 0.3048, "in": 0.0254, "inch": 0.0254, "inches": 0.0254, "yard": 0.9144,
    "yards": 0.9144, "km": 1000.0, "kilometers": 1000.0, "kilometres": 1000.0, "step": 0.5,
    "steps": 0.5,
}  # fmt: skip
_UNITS_DEG = {
    "degree": 1.0, "degrees": 1.0, "deg": 1.0, "degs": 1.0, "radian": 57.29577951308232,
    "radians": 57.29577951308232, "rad": 57.29577951308232, "turn": 360.0, "turns": 360.0,
    "revolution": 360.0, "revolutions": 360.0, "rotations": 360.0, "rotation": 360.0,
}  # fmt: skip
_UNITS_S = {
    "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0, "min": 60.0,
    "minute": 60.0, "minutes": 60.0, "moment": 3.0,
}  # fmt: skip
# Every word a motion's quantity may be measured in ("30 centimeters", "90 degrees").
UNIT_WORDS: frozenset[str] = frozenset(_UNITS_M) | frozenset(_UNITS_DEG) | frozenset(_UNITS_S)
_TURN_VERB = re.compile(r"^(?:turn|rotate|spin|pivot|swivel|face|yaw)\b")
_DRIVE_VERB = re.compile(
    r"^(?:drive|move|go|roll|head|back up|back off|reverse|advance|step|come|get)\b"
)
_PLACE_WORDS = re.compile(r"\b(?:to|into|towards?|the|a|an|through)\b")


def _quantity(toks: list[str], units: dict[str, float]) -> float | None:
    """The first '<number> <unit>' in toks, converted; '2m' and '90deg' also read."""
    for i in range(len(toks)):
        m = re.fullmatch(r"([-+]?\d+(?:\.\d+)?)([a-z]+)", toks[i])
        if m and m.group(2) in units:
            return float(m.group(1)) * units[m.group(2)]
        num = parse_number(toks[i:])
        if num is None:
            continue
        value, used = num
        j = i + used
        if j < len(toks) and toks[j] in ("of", "a") and j + 1 < len(toks):
            j += 1  # "half a metre", "a quarter of a turn"
            if toks[j] in ("a", "an") and j + 1 < len(toks):
                j += 1
        if j < len(toks) and toks[j] in units:
            return value * units[toks[j]]
    return None


SMALL_TURN_DEG = 20.0  # "turn left a little"
_TIMES = {"once": 1, "twice": 2, "thrice": 3}


def _times(toks: list[str]) -> int:
    """How many times a motion is asked for: "twice", "three times", "3x" (1 when not said;
    any count: the motion's limit then refuses what is too much)."""
    for i, t in enumerate(toks):
        if t in _TIMES:
            return _TIMES[t]
        m = re.fullmatch(r"(\d+)x", t)
        if m:
            return max(1, int(m.group(1)))
        if t == "times" and i > 0:
            j = i - 1
            while j > 0 and parse_number(toks[j - 1 : i]) is not None:
                j -= 1  # "twenty five times"
            num = parse_number(toks[j:i])
            if num is not None and num[0] == int(num[0]) and num[0] >= 1:
                return int(num[0])
    return 1


_SIDE_VERB = re.compile(r"^(?:move|step|go|shift|slide|strafe|sidestep|side step|scoot|drive)\b")


def _lead_stripped(clause: str) -> list[str]:
    toks = normalize(clause).split()
    while toks and toks[0] in ("please", "robot", "now", "then", "and", "could", "can", "would"):
        toks = toks[1:]
    if toks[:1] == ["you"]:
        toks = toks[1:]
    if toks[:1] == ["please"]:
        toks = toks[1:]
    return toks


def parse_sidestep(clause: str, default_drive_m: float = 0.5) -> float | None:
    """Metres to move sideways (left +) for "move 30 cm to the left", "strafe right", or None.
    A differential-drive base cannot: the caller turns, drives and turns back."""
    toks = _lead_stripped(clause)
    text = " ".join(toks)
    if not _SIDE_VERB.match(text) or _TURN_VERB.match(text):
        return None
    side = re.search(r"\b(?:to (?:the|your) |towards? (?:the |your )?)?(left|right)\b", text)
    if side is None or re.search(r"\b(?:forward|forwards|ahead|back|backwards?)\b", text):
        return None
    dist = _quantity(toks, _UNITS_M)
    if dist is None:
        if not re.match(r"^(?:strafe|sidestep|side step|step|shift|slide|scoot)\b", text):
            return None  # "go left" is a turn-and-go left to the planner, not a sidestep
        dist = default_drive_m
    return abs(dist) if side.group(1) == "left" else -abs(dist)


def parse_motion(clause: str, default_drive_m: float = 0.5) -> Motion | None:
    """An exact turn/drive/wait in one clause, or None when the clause is not one (a sideways
    move is not: `parse_sidestep`)."""
    if parse_sidestep(clause, default_drive_m) is not None:
        return None
    toks = _lead_stripped(clause)
    text = " ".join(toks)
    if not text:
        return None
    if _TURN_VERB.match(text) and not re.match(r"^turn\s+(?:on|off)\b", text):
        times = _times(toks)
        if re.search(r"\baround\b|\babout face\b|\bother way\b|\bopposite\b|\bback\b", text):
            deg = _quantity(toks, _UNITS_DEG)
            if deg is None:  # "spin around" is a whole turn, "turn around" a half
                deg = 360.0 if text.startswith(("spin", "pivot", "swivel")) else 180.0
                return Motion("turn", deg * times, times > 1)
            return Motion("turn", deg * times, True)
        sign = 1.0
        if re.search(r"\bright\b|\bclockwise\b(?<!counter)", text) and not re.search(
            r"counter ?clockwise|anti ?clockwise", text
        ):
            sign = -1.0
        deg = _quantity(toks, _UNITS_DEG)
        has_dir = re.search(
            r"\b(?:left|right|clockwise|counter ?clockwise|anti ?clockwise)\b", text
        )
        if deg is None:
            bare = re.fullmatch(r"\w+ (?:\w+ )?(?:by )?([-+]?\d+(?:\.\d+)?)", text)
            if bare:
                deg = float(bare.group(1))
        if deg is None and not has_dir:
            return None
        if deg is None:
            small = re.search(r"\b(?:a (?:little|bit|tad)|slightly|a little bit|a touch)\b", text)
            return Motion("turn", sign * (SMALL_TURN_DEG if small else 90.0) * times, False)
        return Motion("turn", sign * deg * times, True)
    # A bare "back" is too little to move on ("come back"? "go back"?): it needs a verb or a
    # distance ("back up", "back 2 m").
    if _DRIVE_VERB.match(text) or (text.startswith("back") and text != "back"):
        backward = bool(re.search(r"\b(?:back|backwards?|reverse|in reverse)\b", text))
        forward = bool(re.search(r"\b(?:forward|forwards|ahead|straight|on)\b", text))
        dist = _quantity(toks, _UNITS_M)
        if dist is None and not (backward or forward):
            return None
        rest = re.sub(
            r"\b(?:drive|move|go|roll|head|back|up|off|reverse|advance|step|come|get|forwards?|"
            r"backwards?|ahead|straight|on|please|a|bit|little|slowly|carefully|by|for|in|"
            r"and|then|now|robot)\b",
            " ",
            text,
        )
        if dist is None and _PLACE_WORDS.search(rest):
            return None  # "go back to the kitchen" is a navigation, not a drive
        if dist is None and toks[0] == "come":
            return None  # "come back": "come" points at the speaker, a return, not a reverse
        if dist is None:
            dist = default_drive_m
            explicit = False
        else:
            explicit = True
        dist *= _times(toks)  # "drive forward 1 meter three times"
        return Motion("drive", -abs(dist) if backward else dist, explicit)
    if re.match(r"^(?:wait|pause|stay|hold on|sit tight)\b", text):
        secs = _quantity(toks, _UNITS_S)
        if secs is not None:
            return Motion("wait", secs, True)
    return None


_SAFETY = re.compile(
    r"\b(?:disable|deactivate|turn off|switch off|ignore|override|bypass|skip|remove|"
    r"circumvent|defeat|cheat|without|suspend|shut off|shut down|unlock|reset)\b"
    r"[\w\s']{0,30}?\b(?:safety|safeties|safe|limits?|limiters?|speed limits?|collisions?|"
    r"obstacles?|bumpers?|e ?stop|emergency|estop|geofence|fence|watchdog|gate|sensors?|lidar|"
    r"rules?)\b"
    r"|\b(?:full|max|maximum|top) (?:speed|throttle|power)\b|\bas fast as\b|\bfaster than\b"
    r"|\b(?:run over|crash into|ram|ramming|hit|bump into|smash|collide with|attack|hurt|"
    r"injure|kill|push over|knock over|chase)\b"
)


def safety_violation(text: str) -> str | None:
    """The reason a command asks to exceed or disable safety, or None."""
    m = _SAFETY.search(normalize(text))
    if m is None:
        return None
    return f"I won't do that: “{m.group(0)}” would bypass or exceed my safety limits"


# Verbs with no skill behind them; the match is on a clause's first words.
_OUT_OF_SKILL = re.compile(
    r"^(?:(?:please|robot|can you|could you|would you|will you|you|now|and|then|also|go and|"
    r"kindly|i want you to|i need you to)\s+)*"
    r"(?P<verb>open|close|shut|switch|turn on|turn off|turn the \w+ (?:on|off)|activate|"
    r"deactivate|power|plug|unplug|connect|disconnect|attach|detach|call|phone|text|email|"
    r"cook|clean|wash|wipe|sweep|vacuum|mop|iron|fold|pour|fill|empty|cut|chop|dance|sing|"
    r"play|water|feed|lock|unlock|press|push|pull|kick|throw|climb|fly|jump|buy|order|pay|"
    r"make(?! (?:your|my|his|her|our|their|its) way)|set the table|hug|greet|salute|introduce|"
    r"wave|shake|"
    r"charge|repair|fix|build|write|draw|paint|print|laugh|smile|tell (?:a )?(?:joke|story)|"
    r"dim|brighten|unfold|mount|unmount|load|unload|"
    r"spray|sort|arrange|tidy|organize|organise|help (?:me|him|her))\b"
)
_CAPABILITIES = (
    "I can go to a named place, find, pick up, bring and put down objects, follow a person, "
    "show a person the way to a place, turn, drive, and tell you what I see"
)


def out_of_skill(text: str) -> str | None:
    """The reason a command's goal (its last clause, a trip back to the operator after it
    aside: "open the door and come back") needs a skill the robot lacks, or None."""
    parts = clauses(text)
    while len(parts) > 1 and is_return(parts[-1]):
        parts.pop()
    m = _OUT_OF_SKILL.match(parts[-1]) if parts else None
    if m:
        verb = m.group("verb").split()[0]
        return f"I can't {verb} things; {_CAPABILITIES}."
    return None


def skipped_verbs(text: str) -> list[str]:
    """Verbs without a skill in the clauses before the last (they are left out of the plan and
    the operator is told so)."""
    out = []
    for clause in clauses(text)[:-1]:
        m = _OUT_OF_SKILL.match(clause)
        if m:
            out.append(m.group("verb").split()[0])
    return out


def capabilities() -> str:
    """The sentence that says what the robot can do."""
    return _CAPABILITIES + "."


_INJECTION = re.compile(
    # The gap may not cross into another clause: "follow me and put it in the bedroom" is two
    # commands, not an instruction to obey what "it" says.
    r"\b(?:do|follow|obey|execute|carry out)\b(?:(?!\b(?:and|then)\b)[\w\s']){0,20}"
    r"\b(?:what|the instructions?|"
    r"commands?|it) (?:it |they |that |is |was )?(?:says?|written|on the|in the|from the)\b"
    r"|\bignore (?:all |your |the |any )?(?:previous |prior |above |earlier )?"
    r"(?:instructions|rules|commands|prompts?|programming|orders)\b"
    r"|\b(?:system prompt|developer mode|jailbreak|you are now|new instructions)\b"
)


def injection(text: str) -> str | None:
    """The reason a command tries to change the robot's rules, or None."""
    m = _INJECTION.search(normalize(text))
    if m is None:
        return None
    return "I don't take new rules from a command or from text I read; tell me directly what to do"
