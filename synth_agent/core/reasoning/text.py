"""Text helpers shared by the reasoning stages: normalisation, clauses, spoken numbers.

Every stage sees the same normalised text (lower case, NFKC, punctuation that carries no
meaning removed, at most `MAX_CHARS` characters), so a rule and the classifier can never
disagree about what was said. Numbers are read here once, in words or digits ("ninety",
"forty five", "half a metre", "1.5"), because turns and drives must be exact and must not depend
on a model.
"""

from __future__ import annotations

import re
import unicodedata

MAX_CHARS = 500

_ONES = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "a": 1, "an": 1,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_FRACTIONS = {"half": 0.5, "quarter": 0.25, "third": 1.0 / 3.0}


def normalize(text: str) -> str:
    """Lower-cased, NFKC, quotes and most punctuation removed, whitespace collapsed, bounded."""
    t = unicodedata.normalize("NFKC", str(text))[:MAX_CHARS].lower()
    t = t.replace("’", "'").replace("‘", "'").replace("°", " degrees ")
    t = re.sub(r"[\x00-\x1f\x7f]", " ", t)
    # Keep letters, digits, apostrophes, decimal points/minus inside numbers, clause marks.
    t = re.sub(r"(?<!\d)[.](?!\d)", " . ", t)
    t = re.sub(r"[^\w\s'.,;:!?-]", " ", t)
    t = re.sub(r"(?<![\d\s])-|-(?![\d])", " ", t)
    t = re.sub(r"([,;:!?])", r" \1 ", t)
    return " ".join(t.split())


def words(text: str) -> list[str]:
    """The normalised text's word tokens (punctuation dropped)."""
    return re.findall(r"[a-z0-9][a-z0-9'.-]*", normalize(text))


_CLAUSE_SPLIT = re.compile(
    r"\s*(?:[,;:!?]|(?<!\d)\.(?!\d)|\bthen\b|\band then\b|\bafter that\b|"
    r"\band\b(?! an? (?:half|quarter|third)\b))\s*"
)


def clauses(text: str) -> list[str]:
    """The normalised text split at punctuation, 'and' and 'then' (empty parts dropped)."""
    return [c.strip() for c in _CLAUSE_SPLIT.split(normalize(text)) if c and c.strip()]


def parse_number(tokens: list[str]) -> tuple[float, int] | None:
    """Read a number at the start of `tokens`: digits ('90', '1.5', '-2'), words ('ninety',
    'forty five', 'one hundred'), fractions ('half', 'a half', 'one and a half',
    'a quarter'). Returns (value, tokens used) or None."""
    if not tokens:
        return None
    t0 = tokens[0]
    if re.fullmatch(r"[-+]?\d+(?:\.\d+)?|[-+]?\.\d+", t0):
        value = float(t0)
        if tokens[1:3] in (["and", "a"], ["and", "one"]) and len(tokens) > 3:
            if tokens[3] in _FRACTIONS:
                return value + _FRACTIONS[tokens[3]], 4
        return value, 1
    i = 0
    if t0 in ("a", "an") and len(tokens) > 1 and tokens[1] in _FRACTIONS:
        return _FRACTIONS[tokens[1]], 2
    if t0 in _FRACTIONS:
        return _FRACTIONS[t0], 1
    value = 0.0
    seen = False
    prev = ""
    while i < len(tokens):
        tok = tokens[i]
        if tok in _TENS:
            if prev in _ONES and prev not in ("a", "an") and 0 < value < 10:
                value = value * 100 + _TENS[tok]  # spoken hundreds: "one eighty" is 180
            else:
                value += _TENS[tok]
            seen = True
        elif tok in _ONES and (tok not in ("a", "an") or not seen):
            if tok in ("a", "an"):
                # "a hundred", "a metre": a counts as one only before a unit or hundred.
                if i + 1 < len(tokens) and tokens[i + 1] in ("hundred",):
                    value += 1
                    seen = True
                else:
                    break
            else:
                value += _ONES[tok]
                seen = True
        elif tok == "hundred" and seen:
            value = (value or 1) * 100
        elif tok == "hundred" and not seen:
            break
        else:
            break
        prev = tok
        i += 1
    if not seen:
        return None
    if i + 2 < len(tokens) and tokens[i] == "and" and tokens[i + 1] in ("a", "one"):
        if tokens[i + 2] in _FRACTIONS:
            return value + _FRACTIONS[tokens[i + 2]], i + 3
    return value, i
