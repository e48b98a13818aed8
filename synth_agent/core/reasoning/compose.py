"""Clause-by-clause decomposition of multi-step commands ("go to the bedroom, find the cup, take
it and put it on the shelf") into a list of acts, one or two per clause.

The intent classifier and the per-intent skeletons in `reasoner.py` see a command as one goal
and lose the steps before it: "go to the bedroom then find a cup and place it on the shelf"
becomes find, pick, navigate, place without the trip to the bedroom. Here each clause (split at
punctuation, "and", "then") is read with a small grammar of its own, and the acts are chained
with what the earlier clauses established ("it" is the object just found, "them" the person just
met). Reading is all-or-nothing: one clause that fits no pattern and the whole command goes back
to the skeletons, so this can only add structure, never guess it.

Only acts the skill registry can carry out exist here: go, return (back to the operator: "come
back", "come here", "return to me"), find, approach (find, then go up to it), meet, greet (a
`say`), pick, give (to the operator, a person or a place: "move the box to the bedroom" is
fetch, carry, put down), put, follow, guide, answer (ask for the question), report (go, look,
come back, tell; a report meant for someone else comes to the operator instead, saying so) and
look (look where the robot is and say what it sees: "go to the kitchen and look around"). A
clause without a verb repeats the one before ("go to the bedroom, then the kitchen"), and
"bring the cup and the ball to X" is one carry per object. Guiding ("guide",
"escort", "lead", "accompany", "show ... the way to", and "take"/"bring" with a person, a name or
"him"/"her"/"them" before "to") becomes the `guide` skill after finding the person where the
command says they are ("from the sofa", "at the door", or a later "you can find her at the
sink" clause). "Take them to the side table" is ambiguous: `Reasoner._compose` makes it a guide
only when an earlier clause was about a person.

Names are phrases here; `Reasoner._compose` resolves them against the world and builds the steps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from synth_agent.core.reasoning.text import clauses, normalize

_LEAD = re.compile(
    r"^(?:(?:please|robot|now|also|and|then|first|next|finally|afterwards|after that|"
    r"can you|could you|would you|will you|you)\s+)*"
)
_DET = re.compile(r"^(?:the|a|an|some|my|your|one)\s+")
_PRONOUN = {"it", "them", "him", "her", "that", "this", "that one", "this one", "they"}
_PERSON_WORDS = re.compile(
    r"\b(?:person|persons|people|man|woman|lady|guy|girl|boy|child|kid|someone|somebody|"
    r"visitor|guest)\b"
)
# A trailing location: "... in the kitchen", "... at the desk lamp", "... on the shelf".
_AT = r"(?:in|at|on|inside|near|by|from|beside|next to|under)"
_WHERE = re.compile(rf"^(?P<what>.+?)\s+{_AT}\s+(?P<where>(?!the (?:left|right)\b).+)$")


@dataclass(frozen=True)
class Act:
    """One thing a clause asks for. `what` is an object or person phrase (None: a pronoun),
    `where` a place phrase, `to` where a carried object goes ("operator", a place or a person),
    `to_where` where that person is."""

    # go | return | find | approach | meet | greet | pick | give | put | follow | guide |
    # answer | report | look | stay | motion (`text` is the clause: `rules.parse_motion`
    # reads it)
    kind: str
    what: str | None = None
    where: str | None = None
    person: bool = False
    to: str | None = None
    to_person: bool = False
    to_where: str | None = None
    text: str = ""  # what a greet says
    pronoun: str = ""  # "it", "them", ... when `what` is a pronoun


def np(phrase: str | None) -> str | None:
    """A noun phrase without its determiner; None for a pronoun or nothing."""
    if phrase is None:
        return None
    p = _DET.sub("", phrase.strip(" ,.")).strip()
    if not p or p in _PRONOUN:
        return None
    return p


def is_person(phrase: str | None) -> bool:
    return bool(phrase) and bool(_PERSON_WORDS.search(phrase or ""))


def _split_where(phrase: str) -> tuple[str, str | None]:
    m = _WHERE.match(phrase)
    if m is None:
        return phrase, None
    return m.group("what"), m.group("where")


def _recipient(to: str) -> tuple[str, bool, str | None]:
    """(who or where, is a person, where the person is) for the phrase after "to"."""
    if to in ("me", "us", "me here", "us here"):
        return "operator", True, None
    who, where = _split_where(to)
    if where is not None or is_person(who):
        return who, True, where  # "to Jules in the kitchen", "to the waving person"
    if not to.startswith(("the ", "a ", "an ")) and len(to.split()) == 1:
        return to, True, None  # a bare name: "give it to Morgan"
    return to, False, None  # a place: "bring it to the kitchen"


_REPORT = re.compile(
    r"^(?:tell me|let me know|report(?: to me)?|find out(?: for me)?|count(?: for me)?)"
    r"\s+(?P<q>.+)$"
)
_REPORT_WHERE = re.compile(
    r"\b(?:in|on|at|inside)\s+(?P<where>(?!the (?:left|right)\b)(?:the |a )?[\w' ]+?)"
    r"(?=\s+(?:are|is|wearing)\b|$)"
)


def report_place(clause: str) -> str | None:
    """The place a "tell me how many cups are on the table" clause asks about, or None when
    the clause is not a report or names no place (then it is a question about here)."""
    m = _REPORT.match(_LEAD.sub("", normalize(clause)))
    if m is None:
        return None
    w = _REPORT_WHERE.search(m.group("q"))
    return w.group("where") if w else None


def _report(q: str) -> Act | None:
    if not re.match(r"(?:how many|what|which|who|the (?:\w+ ){1,3}of|if|whether)\b", q):
        return None
    w = _REPORT_WHERE.search(q)
    person = bool(re.search(r"\bof (?:the|a) (?:person|man|woman|lady|guy|girl|boy)\b", q))
    return Act("report", what="person" if person else None, where=w.group("where") if w else None)


_RELAY = re.compile(
    r"^(?:tell|say|report)\s+(?:the |what )?(?:\w+ )?(?:of |is )?(?:the|a) "
    r"(?P<about>(?:person|man|woman)\b.+?)\s+to\s+(?P<who>(?:the|a) (?:person|man|woman)\b.+)$"
)


# "come back", "come here", "return to me": the trip back to the operator. "Come" points at the
# speaker, so it needs no place; "go back" / "head back" alone are left to the trip memory
# ("go back there"), they name no one to go back to.
_RETURN = re.compile(
    r"^(?:come (?:back(?: over)?|over)(?: here| to me| to us)?|"
    r"come (?:over )?(?:here|to me|to us)|return(?: back)?(?: here| to me| to us)?|"
    r"(?:go|get|head|walk|hurry) back (?:here|to me|to us))$"
)


def is_return(clause: str) -> bool:
    """Whether a clause asks only to come back to the operator ("then come back to me")."""
    return bool(_RETURN.match(strip_lead(normalize(clause))))


def strip_lead(clause: str) -> str:
    """A clause without its leading fillers ("please", "robot", "then", "can you", ...) and a
    closing "please"."""
    return re.sub(r"\s+please$", "", _LEAD.sub("", clause).strip())


def read_clause(clause: str, guide: bool = True) -> Act | None:
    """The act one clause asks for, or None when it fits no pattern (see the module docstring).
    `guide=False`: "take them to ..." is carrying, not guiding (no person came before)."""
    c = strip_lead(clause)
    if not c:
        return None
    if _RETURN.match(c):
        return Act("return", where="operator")
    m = _REPORT.match(c)
    if m:
        return _report(m.group("q"))
    m = _RELAY.match(c)
    if m:
        # "tell the pose of the person at the door to the person at the desk": the robot can
        # look, but a `say` carries fixed text, not what it saw; it reports to the operator and
        # says so (see `Reasoner._compose`).
        _, where = _split_where(m.group("about"))
        if where is None:
            return None
        return Act("report", what="person", where=where, to=np(m.group("who")))
    m = re.match(r"^(?:(?:go|navigate|move|head|walk|drive|proceed)(?: over| back)?"
                 r" (?:to|into|towards?)|visit) (?P<where>.+)$", c)  # fmt: skip
    if m:
        return Act("go", where=m.group("where"))
    m = _LOOK.match(c)
    if m:
        return Act("look", what=np(m.group("what")))
    m = re.match(
        r"^(?P<verb>greet|salute|say (?:hello|hi) to|introduce yourself to|wave (?:to|at)|"
        r"meet)\s+(?P<who>.+)$",
        c,
    )
    if m:
        who, where = _split_where(m.group("who"))
        if re.search(r"\b(?:to|and)\b", who) and not re.search(r"pointing to the", who):
            return None
        verb = m.group("verb")
        if verb == "meet":
            return Act("meet", what=np(who), where=where, person=True)
        text = "Hello, I am the synth_agent robot." if verb.startswith("introduce") else "Hello!"
        return Act("greet", what=np(who), where=where, person=True, text=text)
    m = re.match(r"^answer (?:a |the |my |his |her |their )?(?:question|quiz)(?:zes|s)?"
                 r"(?: of (?P<who>.+))?$", c)  # fmt: skip
    if m:
        who, where = _split_where(m.group("who") or "")
        return Act("answer", what=np(who) if who else None, where=where, person=bool(who))
    m = _APPROACH.match(c)
    if m:
        what, where = _split_where(m.group("what"))
        if re.search(r"\b(?:to|and)\b", what):
            return None
        pronoun = what if what in _PRONOUN else ""
        return Act("approach", what=np(what), where=where, person=is_person(what),
                   pronoun=pronoun)  # fmt: skip
    m = re.match(r"^(?:find|locate|look for|search for|spot|seek)\s+(?P<what>.+)$", c)
    if m:
        what, where = _split_where(m.group("what"))
        if re.search(r"\bto\b", what) and not re.search(r"pointing to the", what):
            return None
        pronoun = what if what in _PRONOUN else ""
        return Act("find", what=np(what), where=where, person=is_person(what), pronoun=pronoun)
    act = _guide(c)
    if act is not None and (guide or act.pronoun != "them" or act.text not in _CARRY):
        return act
    m = re.match(
        r"^(?:bring|deliver|give|hand|carry|take|pass)\s+(?:(?P<me>me|us)\s+)?(?P<what>.+?)"
        r"(?:\s+(?:back|over|here|along))?(?:\s+(?P<prep>to|for|into|onto)\s+(?P<to>.+))?$",
        c,
    ) or _MOVE.match(c)
    me = m.groupdict().get("me") if m else None
    if m and (me or m.group("to")):
        if re.match(r"^take\b", c) and (is_person(m.group("what")) or m.group("what") in
                                        ("them", "him", "her")):  # fmt: skip
            return None  # "take them to the exit" is guiding
        what, where = m.group("what"), None
        if " from " in f" {what} ":
            what, where = what.split(" from ", 1)
        if me:
            return Act("give", what=np(what), where=where, to="operator", to_person=True)
        if m.group("prep") in ("into", "onto"):
            return Act("give", what=np(what), where=where, to=m.group("to"))  # always a place
        to, to_person, to_where = _recipient(m.group("to"))
        return Act("give", what=np(what), where=where, to=to, to_person=to_person,
                   to_where=to_where)  # fmt: skip
    m = re.match(
        r"^(?:get|take|fetch|grasp|grab|pick up|pick|collect|retrieve)\s+(?P<what>.+?)"
        r"(?:\s+up)?(?:\s+(?:from|off|in|at|on)\s+(?P<where>.+))?$",
        c,
    )
    if m:
        what = m.group("what")
        if re.search(r"\b(?:to|for)\b", what) or is_person(what):
            return None
        return Act("pick", what=np(what), where=m.group("where"))
    m = re.match(
        r"^(?:put|place|drop|leave|set|lay)\s+(?P<what>.+?)(?:\s+down)?"
        r"(?:\s+(?:on|in|into|onto|at|inside|next to|near|beside|under)\s+(?P<where>.+))?$",
        c,
    )
    if m:
        return Act("put", what=np(m.group("what")), where=m.group("where"))
    m = re.match(r"^(?:follow|go after|come with)\s+(?P<who>.+)$", c)
    if m:
        who = m.group("who")
        first = who.split()[0]
        if first in ("them", "him", "her", "me", "us"):
            return Act("follow", what=None if first not in ("me", "us") else "operator",
                       person=True)  # fmt: skip
        who = re.sub(r"\s+(?:to|until|into)\s+(?!the (?:left|right)\b).+$", "", who)
        who, where = _split_where(who)
        who = np(who)
        if who == "person" and where is None:
            return None  # "follow the person": the skeleton's plain follow
        return Act("follow", what=who, where=where, person=True)
    return None


# "look around", "take a look", "look at the window": look and say what is seen (`describe`).
_LOOK = re.compile(
    r"^(?:(?:have|take) a look(?: around)?|look around|"
    r"(?:(?:have|take) a (?:closer )?look|look) (?:at|over) (?P<what>.+))$"
)
# "approach the cup", "get close to the box": go up to a thing (find, then approach it). A bare
# "go to X" stays a `go`: there a place is meant, and an object after it is asked about.
_APPROACH = re.compile(
    r"^(?:approach|(?:go|move|drive|walk|get|come) (?:up to|near|next to|close to|closer to)|"
    r"get (?:near|close|closer) to)\s+(?P<what>.+)$"
)
# "move the box to the bedroom", "get the cup into the kitchen": relocating with a verb that is
# not a carrying verb alone ("move to ..." and "get back to ..." are trips, read before this).
_MOVE = re.compile(
    r"^(?:move|transport|relocate|get)\s+(?!(?:back|up|down|over|out|away|forward|"
    r"backwards?|closer|close|near|along|on|off|in|into|to|towards?|ahead|here|there|left|"
    r"right|around|me|us)\b)(?P<what>.+?)\s+(?P<prep>to|into|onto)\s+(?P<to>.+)$"
)
_CARRY = ("take", "bring", "walk", "show")  # verbs that guide only with a person
_GUIDE = re.compile(
    r"^(?P<verb>guide|escort|lead|accompany|show|take|bring|walk)\s+(?P<who>.+?)"
    r"(?P<way>\s+the way)?(?:\s+(?:back|over|along))?\s+(?:to|into|towards?)\s+"
    r"(?!the (?:left|right)\b)(?P<to>.+)$"
)
# "you can find her at the sink": where the person of the guide before it is.
_FOUND_AT = re.compile(
    rf"^(?:(?:you )?(?:can|may|will|could|should|might) )?(?:find|meet|see) (?:him|her|them) "
    rf"{_AT} (?P<where>.+)$"
)


def _guide(c: str) -> Act | None:
    """A guide act ("escort Ana from the sofa to the kitchen"), or None."""
    m = _GUIDE.match(c)
    if m is None:
        return None
    verb, who = m.group("verb"), m.group("who")
    where = None
    if " from " in f" {who} ":
        who, where = who.split(" from ", 1) if not who.startswith("from ") else ("", who[5:])
    else:
        who, where = _split_where(who)
    who = who.strip()
    if who in ("me", "us"):
        who = "operator"  # "take me to the kitchen": the operator is the guest
    pronoun = who if who in ("them", "him", "her") else ""
    # A bare word is a name ("take Ines to the hallway"), except after "walk" ("walk slowly").
    bare_name = verb != "walk" and re.fullmatch(r"[a-z][a-z'-]+", who) is not None
    bare_name = bare_name and who not in _PRONOUN
    if verb in _CARRY and not m.group("way"):
        # With these verbs the one taken must be a person (the guest, a name, him or her),
        # else it is carrying an object ("take the cup to the kitchen").
        if not (pronoun or is_person(who) or bare_name):
            return None
    elif not who:
        return None
    to = m.group("to")
    if re.search(r"\b(?:to|from)\b", to) or not to.strip():
        return None  # "lead them to the exit to the car": more than one destination
    return Act("guide", what=np(who), where=where, person=True, to=to, pronoun=pronoun,
               text=verb)  # fmt: skip


# "go to the bedroom, then the kitchen", "find the cup and the ball": a clause that is only a
# noun phrase repeats the verb of the clause before it, for acts whose one argument it can be.
_ELIDED = frozenset({"go", "find", "approach", "pick", "give", "put"})
_NOT_NOUN = r"(?!.*\b(?:is|are|was|were|be|been|should|will|would|can|could|must|do|does|did|has|have|had|to)\b)"  # noqa: E501
_NOUN_START = r"^(?:the|a|an|my|your|some)\s+"  # how a clause without a verb begins
_NOUN_PHRASE = re.compile(rf"{_NOUN_START}{_NOT_NOUN}[\w' -]+$")
# After a trip, a place without its article or with its preposition: "go to the kitchen and
# bedroom", "go to the bedroom then to the kitchen", "... and then in the bathroom".
_PLACE_3 = rf"{_NOT_NOUN}[\w'-]+(?: [\w'-]+){{0,2}}"  # one to three words, no verb
_NEXT_PLACE = re.compile(
    rf"^(?:(?:to|into|in|towards?) (?P<where>(?:the |a )?{_PLACE_3})|"
    rf"(?P<article>(?:the |a ){_PLACE_3})|"
    rf"(?P<bare>{_NOT_NOUN}[\w'-]+(?: [\w'-]+)?))$"
)  # a bare name has at most two words: "living room", not "juggle three oranges"
# Staying where the robot is: "wait here", "stay where you are until I'm back". The whole
# command is a stop (`rules.is_stop`); after other clauses it asks for nothing more ("go to the
# kitchen and wait there": the robot stays where the trip ends).
STAY = re.compile(
    r"^(?:(?:please|robot|just|now|ok|okay)\s+)*(?:stay|remain|wait)(?: right)?"
    r"(?P<where> here| there| where you are| put| for me)?(?: for me)?"
    r"(?: (?:until|till|til) .+)?(?:\s+please)?$"
)


def is_bare_noun_phrase(clause: str) -> bool:
    """Whether a clause is only a noun phrase ("the blue ball", "the box to the kitchen"): a
    clause that says no verb of its own."""
    return bool(re.match(_NOUN_START, strip_lead(clause)))


def elided(prev: Act, clause: str) -> Act | None:
    """The act of a verbless clause that continues `prev` ("..., then the kitchen"), or None."""
    c = strip_lead(clause)
    if prev.kind == "go":
        m = _NEXT_PLACE.match(c)
        return (
            Act("go", where=m.group("where") or m.group("article") or m.group("bare"))
            if m
            else None
        )
    if prev.kind not in _ELIDED or not _NOUN_PHRASE.match(c):
        return None
    what, where = _split_where(c)
    if prev.kind in ("give", "put"):  # "bring the cup to the kitchen, then the ball"
        return replace(prev, what=np(what), where=where)
    return replace(prev, what=np(what), where=where, person=is_person(what), pronoun="")


def _carried_list(parts: list[str], guide: bool) -> tuple[list[Act], int] | None:
    """ "bring the cup and the ball to the kitchen" (split into "bring the cup" and "the ball to
    the kitchen"): one carry per object, each to the same place, and how many parts they use;
    None when the parts joined again are no such carry. The robot holds one thing at a time, so
    the objects go one after the other."""
    for end in range(len(parts), 1, -1):  # the longest list first
        act = read_clause(" and ".join(parts[:end]), guide=guide)
        if act is None or act.kind not in ("give", "put") or act.what is None:
            continue
        items = [np(x) for x in re.split(r"\s+and\s+", act.what)]
        if len(items) != end or any(x is None or not _NOUN_PHRASE.match(f"the {x}")
                                    for x in items):  # fmt: skip
            continue
        return [replace(act, what=x) for x in items], end
    return None


def _is_motion(clause: str) -> bool:
    """Whether a clause is an exact turn, drive or wait (`rules.parse_motion`, which reads
    `is_return` from here: imported when first needed)."""
    from synth_agent.core.reasoning.rules import parse_motion, parse_sidestep

    return parse_motion(clause) is not None or parse_sidestep(clause) is not None


def read(text: str) -> list[Act] | None:
    """The acts of every clause in order, or None when any clause fits no pattern."""
    acts: list[Act] = []
    parts = clauses(text)
    i = 0
    while i < len(parts):
        clause = parts[i]
        i += 1
        found = _FOUND_AT.match(_LEAD.sub("", clause).strip())
        if found and acts and acts[-1].kind == "guide" and acts[-1].where is None:
            acts[-1] = replace(acts[-1], where=found.group("where"))
            continue
        guide = any(a.person for a in acts)
        carried = _carried_list(parts[i - 1 :], guide)
        if carried is not None:
            acts += carried[0]
            i += carried[1] - 1
            continue
        act = read_clause(clause, guide=guide)
        if act is None and _is_motion(clause):
            act = Act("motion", text=clause)  # "... and wait there 10 seconds", "turn left"
        if act is None and acts and STAY.match(strip_lead(clause)):
            act = Act("stay")  # "go to the kitchen and wait there": no step of its own
        if act is None and acts:
            act = elided(acts[-1], clause)  # last: "wait there" is no place
        if act is None:
            return None
        acts.append(act)
    return acts or None
