"""Slot filling: the objects, places and people a command names, read with patterns.

The classifier says *what kind* of plan is wanted; these patterns say *with what*. They are
deliberately simple (verb, then a noun phrase up to the next preposition) because every value
they produce is checked against the world afterwards: a wrong guess becomes a question to the
operator, never a motion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from synth_agent.core.reasoning.text import normalize

_STOPWORDS = (
    r"from|in|on|at|to|near|next|under|behind|beside|besides|inside|into|onto|by|with|for|and|"
    r"then|please|which|that|who|where|so|of the|located|placed|lying|sitting|standing|"
    r"there|here|now|again|,|\.|;|!|\?"
)
_NP = rf"((?:(?!\b(?:{_STOPWORDS})\b)[\w'-]+\s?){{1,5}})"
_DET = r"(?:(?:the|a|an|some|my|your|this|that|one|any)\s+)?"
_OBJECT_VERBS = (
    r"bring|get|fetch|grab|grasp|take|pick up|pick|give|hand|find|look for|search for|locate|"
    r"put|place|drop|leave|carry|deliver|release|hold|spot|seek|collect|retrieve|"
    r"approach|pass|check for"
)
_PERSON_RX = re.compile(
    r"\b(?:person|people|man|woman|lady|guy|girl|boy|child|kid|someone|somebody|him|her|"
    r"them|me|us)\b"
)
_PLACE_PREP = r"(?:to|into|in|at|inside|towards?|toward|near|by|from|on|onto|next to)"


@dataclass(frozen=True)
class Slots:
    """What a command names. Place and destination are raw phrases (checked later)."""

    object: str | None = None
    source: str | None = None  # where the object or person is ("from the kitchen")
    destination: str | None = None  # where to go or put ("to the kitchen", "on the shelf")
    recipient: str | None = None  # "operator" or a person description
    person: str | None = None  # a person to find / follow
    pronoun: bool = False  # "it", "that", "them" stand for an earlier object


def _clean(np_: str | None) -> str | None:
    if not np_:
        return None
    toks = [t for t in np_.split() if t not in ("the", "a", "an", "some", "my", "your")]
    text = " ".join(toks).strip(" ,.")
    return text or None


def extract(text: str) -> Slots:
    """Fill the slots of one command (see the module docstring)."""
    t = normalize(text)
    obj = None
    pronoun = False
    m = re.search(rf"\b(?:{_OBJECT_VERBS})\s+(?:me\s+|us\s+|him\s+|her\s+)?{_DET}{_NP}", t)
    if m:
        obj = _clean(m.group(1))
        if obj in ("it", "that", "this", "them", "this one", "that one", "one"):
            obj, pronoun = None, True
        elif obj and obj.split()[0] in ("up", "down", "out", "back"):
            obj = _clean(" ".join(obj.split()[1:]))
    elif re.search(r"\b(?:it|that one|this one)\b", t):
        pronoun = True
    recipient = None
    if re.search(r"\b(?:to me|me the|give me|bring me|hand me|fetch me|get me|pass me)\b", t):
        recipient = "operator"
    elif re.search(r"\b(?:bring|give|hand|deliver|take)\b.*\bto (?:me|us)\b", t):
        recipient = "operator"
    else:
        r = re.search(r"\b(?:give|hand|deliver|bring|take)\b.*\bto\s+" + _DET + _NP, t)
        if r and _PERSON_RX.search(r.group(1) or ""):
            recipient = _clean(r.group(1))
    source = None
    s = re.search(rf"\bfrom\s+{_DET}{_NP}", t)
    if s:
        source = _clean(s.group(1))
    dest = None
    d = re.findall(rf"\b(?:to|into|onto|on|in|at|inside|towards?)\s+{_DET}{_NP}", t)
    # The last place-like phrase after the object is where to go or put.
    for cand in reversed(d):
        c = _clean(cand)
        if c and c not in ("me", "us", "it", "him", "her", "them") and c != obj:
            dest = c
            break
    if dest is None and re.search(r"\b(?:come here|come to me|come back|to me|over here)\b", t):
        dest = "operator"
    person = None
    p = re.search(r"\b(?:follow|find|locate|look for|meet|search for|approach)\s+" + _DET + _NP, t)
    if p and _PERSON_RX.search(p.group(1) or ""):
        person = _clean(p.group(1))
    if person is None:
        p = re.search(r"\b(?:follow|meet)\s+([a-z]+)\b", t)
        if p and p.group(1) not in ("the", "a", "an", "it"):
            person = p.group(1)
    if person in ("me", "us"):
        person = "operator"
    return Slots(obj, source, dest, recipient, person, pronoun)
