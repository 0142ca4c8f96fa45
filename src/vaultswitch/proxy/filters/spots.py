"""Spots: the places in a text (a body, a header value) that entries selected, and how a
replacement is written at each one.

Every transformer turns a text into spots; the pipeline then keeps, where two entries'
spots overlap, the spot of the entry that comes first in the route, and splices all the
replacements into the text at once. Everything between spots is left exactly as it was.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from urllib.parse import quote_plus

from vaultswitch.domain.redaction import scrub_text
from vaultswitch.domain.secret import Secret

# RFC 8259 number: a revealed value written where the alias was a JSON number stays one
# only if it is a JSON number itself.
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Write(Enum):
    """How a replacement value is written in place of the selected text."""

    JSON_STRING = "json-string"  # a JSON string literal
    JSON_NUMBER = "json-number"  # a JSON number if it is one, else a JSON string literal
    FORM = "form"  # application/x-www-form-urlencoded (space as +, the rest %XX of UTF-8)
    RAW = "raw"  # as is (REGEX matches, whole header values)


@dataclass(frozen=True, slots=True)
class Spot:
    """``text[start:end]`` selected; ``value`` the data it holds (decoded: a JSON string's
    value, a form field's value). ``site`` and, in a JSON body, ``location`` (the keys and
    indexes leading to it) name it in messages: see :attr:`place` (never the value)."""

    start: int
    end: int
    value: Secret
    write: Write
    site: str
    location: tuple[str | int, ...] | None = None

    @property
    def place(self) -> str:
        """``body $.cards[1].number``, ``form field cvc``, ``header X-Card``."""
        if self.location is None:
            return self.site
        return f"{self.site} {json_place(self.location)}"


def written(write: Write, value: str) -> str:
    """The text that replaces a spot to hold ``value``."""
    if write is Write.RAW:
        return value
    if write is Write.FORM:
        return quote_plus(value, safe="")
    if write is Write.JSON_NUMBER and _JSON_NUMBER.fullmatch(value):
        return value
    return json.dumps(value, ensure_ascii=False)


def valid_text(value: str) -> bool:
    """Whether a value can be stored (UTF-8: no lone surrogates, no undecodable bytes)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def claim(
    found: Iterable[tuple[int, Spot]],
) -> list[tuple[int, Spot]]:
    """The spots kept, in text order: ``found`` is (entry number, spot) in entry order; a
    spot overlapping one of an earlier entry (or an earlier spot of its own) is dropped."""
    taken: list[tuple[int, int]] = []  # kept spans, sorted by start
    kept: list[tuple[int, Spot]] = []
    for number, spot in found:
        if _overlaps(taken, spot.start, spot.end):
            continue
        _insert(taken, (spot.start, spot.end))
        kept.append((number, spot))
    kept.sort(key=lambda pair: pair[1].start)
    return kept


def _overlaps(taken: Sequence[tuple[int, int]], start: int, end: int) -> bool:
    lo, hi = 0, len(taken)
    while lo < hi:  # first span starting at or after `end`
        mid = (lo + hi) // 2
        if taken[mid][0] < end:
            lo = mid + 1
        else:
            hi = mid
    return lo > 0 and taken[lo - 1][1] > start


def _insert(taken: list[tuple[int, int]], span: tuple[int, int]) -> None:
    lo, hi = 0, len(taken)
    while lo < hi:
        mid = (lo + hi) // 2
        if taken[mid][0] < span[0]:
            lo = mid + 1
        else:
            hi = mid
    taken.insert(lo, span)


def splice(text: str, replacements: Sequence[tuple[int, int, str]]) -> str:
    """``text`` with each ``(start, end, new)`` span replaced (spans sorted, disjoint)."""
    pieces: list[str] = []
    at = 0
    for start, end, new in replacements:
        pieces.append(text[at:start])
        pieces.append(new)
        at = end
    pieces.append(text[at:])
    return "".join(pieces)


def shown_name(name: str, limit: int = 64) -> str:
    """A field or key name from a message, for a message about its place: cut short, and
    card-number-looking digits masked (a name is the client's text too)."""
    cut = name[:limit] + ("…" if len(name) > limit else "")
    return scrub_text(cut)


def json_place(location: Sequence[str | int]) -> str:
    """``$.cards[1].number`` / ``$['a b']``: a place in a JSON document, for messages."""
    parts = ["$"]
    for step in location:
        if isinstance(step, int):
            parts.append(f"[{step}]")
        elif _PLAIN_KEY.fullmatch(step) and len(step) <= 64:
            parts.append(f".{shown_name(step)}")
        else:
            parts.append("[" + json.dumps(shown_name(step), ensure_ascii=False) + "]")
    return "".join(parts)
