"""JSON_PATH: the string and number values at an entry's paths in a JSON body.

The body is not parsed into objects and dumped again: a walker follows the document only
where a path can still lead (reading keys with the json module's C string scanner) and
skips every other value with the C decoder, which also checks it. It yields the exact span
of each selected value, so the body is rewritten only there; key order, white space,
number text, escapes and duplicate keys elsewhere stay as they were, byte for byte.

What is selected: a JSON **string** (its decoded value is the data) or a JSON **number**
(its text, e.g. ``4111111111111111``, is the data) at a path. ``true``, ``false``,
``null``, objects and arrays at a path are left alone. A replacement is written as a JSON
string, except where a number was selected and the replacement is itself a JSON number
(digit-only aliases such as ``FPE_SIX_T_FOUR``, and their revealed values): there it stays a
number. So a numeric PAN redacted with a ``UUID`` format becomes a string alias, and an
ENRICH of that alias writes the PAN back as a string.

Paths are matched as the route model defines them (``Key``, ``Index`` (negative: from the
end), ``Every``, ``Descendant``); a ``Descendant`` (``$..cvc``) walks the whole document.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any

from vaultswitch.domain.secret import Secret
from vaultswitch.proxy.filters.spots import Spot, Write
from vaultswitch.proxy.routes.transformers import Descendant, Every, Index, JsonPath, Key, Segment

#: Containers nested deeper than this along a path make the body "not JSON" to the filters.
MAX_DEPTH = 200

_WS = re.compile(r"[ \t\n\r]*")
_WS_CHARS = frozenset(" \t\n\r")
_COLON = re.compile(r"[ \t\n\r]*:[ \t\n\r]*")
_AFTER_MEMBER = re.compile(r"[ \t\n\r]*([,}])[ \t\n\r]*")
_AFTER_ELEMENT = re.compile(r"[ \t\n\r]*([,\]])[ \t\n\r]*")
_NUMBER_START = frozenset("-0123456789")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")

State = tuple[int, int]  # (path number, segments matched so far)


class NotJson(ValueError):
    """The body is not a JSON text (RFC 8259, UTF-8)."""


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


# The C scanner skips values; with the default int and float it is twice as fast as with
# hooks, so numbers Python will not convert (over 4,300 digits) are rescanned as text.
_Scanner = Callable[[str, int], tuple[Any, int]]
_SCAN: _Scanner = json.JSONDecoder(parse_constant=_no_constants).scan_once  # type: ignore[attr-defined]
_SCAN_AS_TEXT: _Scanner = json.JSONDecoder(  # type: ignore[attr-defined]
    parse_int=str, parse_float=str, parse_constant=_no_constants
).scan_once


def _scan(text: str, i: int) -> tuple[Any, int]:
    """The value at ``text[i]`` and where it ends (NotJson if there is none)."""
    try:
        try:
            return _SCAN(text, i)
        except StopIteration:
            raise NotJson("a value is expected") from None
        except ValueError:  # a number too long for int(): scan it as text
            return _SCAN_AS_TEXT(text, i)
    except StopIteration:
        raise NotJson("a value is expected") from None


def select_json(text: str, paths: Sequence[tuple[int, JsonPath]]) -> list[tuple[int, Spot]]:
    """Spots of every string / number at ``paths`` (``(tag, path)``), tagged, in text order.

    Raises :class:`NotJson` when ``text`` is not one JSON value (white space around it and
    a leading byte order mark allowed).
    """
    walker = _Walker(text, [path.segments for _, path in paths], [tag for tag, _ in paths])
    try:
        start = walker.ws(1 if text.startswith("\ufeff") else 0)
        if start >= len(text):
            raise NotJson("empty")
        end = walker.value(start, [(p, 0) for p in range(len(paths))], (), 0)
        if walker.ws(end) != len(text):
            raise NotJson("text after the JSON value")
    except (ValueError, IndexError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        if isinstance(exc, NotJson):
            raise
        raise NotJson("not JSON") from None
    return walker.found


class _Walker:
    def __init__(self, text: str, paths: list[tuple[Segment, ...]], tags: list[int]) -> None:
        self.text = text
        self.paths = paths
        self.ends = [len(path) for path in paths]
        self.tags = tags
        self.found: list[tuple[int, Spot]] = []

    def ws(self, i: int) -> int:
        if self.text[i : i + 1] not in _WS_CHARS:
            return i
        return _WS.match(self.text, i).end()  # type: ignore[union-attr]  # matches ""

    def step(
        self, states: Sequence[State], key: str | None, index: int | None, length: int | None
    ) -> list[State]:
        """The states of a child (object member ``key`` or array element ``index``)."""
        out: list[State] = []
        for path, at in states:
            segment = self.paths[path][at]
            if isinstance(segment, Key):
                if key is not None and key == segment.name:
                    out.append((path, at + 1))
            elif isinstance(segment, Descendant):
                out.append((path, at))  # keep looking further down
                if key == segment.name:
                    out.append((path, at + 1))
            elif isinstance(segment, Every):
                out.append((path, at + 1))
            elif isinstance(segment, Index) and index is not None:
                wanted = segment.index
                if wanted < 0 and length is not None:
                    wanted += length
                if index == wanted:
                    out.append((path, at + 1))
        return list(dict.fromkeys(out)) if len(out) > 1 else out

    def value(
        self, i: int, states: list[State], location: tuple[str | int, ...], depth: int
    ) -> int:
        """Walk the value at ``text[i]`` (no white space before it); return where it ends."""
        text = self.text
        ends = self.ends
        done = [path for path, at in states if at == ends[path]]
        live = [state for state in states if state[1] < ends[state[0]]] if done else states
        char = text[i : i + 1]
        if live and char in ("{", "["):
            if depth >= MAX_DEPTH:
                raise NotJson("nested too deeply")
            if char == "{":
                return self.object(i, live, location, depth + 1)
            return self.array(i, live, location, depth + 1)
        if done and char == '"':
            data, end = scanstring(text, i + 1, True)
            self.add(done, i, end, data, Write.JSON_STRING, location)
            return int(end)
        if done and char in _NUMBER_START:
            match = _NUMBER.match(text, i)
            if match is None:
                raise NotJson("bad number")
            self.add(done, i, match.end(), match.group(), Write.JSON_NUMBER, location)
            return match.end()
        return _scan(text, i)[1]

    def add(
        self,
        done: list[int],
        start: int,
        end: int,
        data: str,
        write: Write,
        location: tuple[str | int, ...],
    ) -> None:
        if not data:
            return  # an empty string holds nothing to redact or reveal
        secret = Secret(data)
        for path in done:
            spot = Spot(start, end, secret, write, "body", location)
            self.found.append((self.tags[path], spot))

    def object(
        self, i: int, states: list[State], location: tuple[str | int, ...], depth: int
    ) -> int:
        text = self.text
        # the common case, only member names to follow: other members are skipped unread
        names = self._names(states)
        i = self.ws(i + 1)
        if text[i : i + 1] == "}":
            return i + 1
        while True:
            if text[i : i + 1] != '"':
                raise NotJson("a member name is expected")
            key, i = scanstring(text, i + 1, True)
            colon = _COLON.match(text, i)
            if colon is None:
                raise NotJson(": is expected")
            i = colon.end()
            if names is None or key in names:
                child = self.step(states, key, None, None)
                i = self.value(i, child, (*location, key), depth) if child else _scan(text, i)[1]
            else:
                i = _scan(text, i)[1]
            after = _AFTER_MEMBER.match(text, i)
            if after is None:
                raise NotJson(", or } is expected")
            if after.group(1) == "}":
                return after.end()
            i = after.end()

    def array(
        self, i: int, states: list[State], location: tuple[str | int, ...], depth: int
    ) -> int:
        text = self.text
        length: int | None = None
        if any(self._negative(state) for state in states):
            length = len(_scan(text, i)[0])
        i = self.ws(i + 1)
        if text[i : i + 1] == "]":
            return i + 1
        index = 0
        while True:
            child = self.step(states, None, index, length)
            i = self.value(i, child, (*location, index), depth) if child else _scan(text, i)[1]
            after = _AFTER_ELEMENT.match(text, i)
            if after is None:
                raise NotJson(", or ] is expected")
            if after.group(1) == "]":
                return after.end()
            i = after.end()
            index += 1

    def _names(self, states: Sequence[State]) -> frozenset[str] | None:
        """The member names that can lead somewhere, when every state wants a named member."""
        names: set[str] = set()
        for path, at in states:
            segment = self.paths[path][at]
            if not isinstance(segment, Key):
                return None
            names.add(segment.name)
        return frozenset(names)

    def _negative(self, state: State) -> bool:
        segment = self.paths[state[0]][state[1]]
        return isinstance(segment, Index) and segment.index < 0
