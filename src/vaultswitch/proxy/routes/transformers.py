"""What an entry's transformer selects: its configuration, parsed and checked.

Only the *configuration* lives here (the proxies apply it to bodies and headers):

- ``JSON_PATH``: ``transformer_config`` holds JSONPath expressions, of the subset
  ``$`` followed by ``.name``, ``['name']`` / ``["name"]``, ``[n]`` (``n`` may be negative:
  from the end), ``[*]`` / ``.*`` (every member or element) and ``..name`` (``name`` at any
  depth), e.g. ``$.card.number``, ``$.cards[*].number``, ``$..cvc``. Filters, slices and
  unions are refused.
- ``FORM_FIELD``: ``transformer_config`` holds field names of an
  ``application/x-www-form-urlencoded`` body (target ``body``), or header names (target
  ``headers``, compared case-insensitively); the whole value is the data.
- ``REGEX``: regular expressions (``transformer_config``, or VGS's
  ``transformer_config_map: {patterns: [...]}``, optionally with ``charset``) searched in
  the body text or in each header value: a pattern with a capture group selects its first
  group, one without selects the whole match; empty matches select nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vaultswitch.proxy.routes import fields as f
from vaultswitch.proxy.routes.errors import (
    MAX_EXPRESSIONS,
    RouteError,
    UnsupportedRouteFeature,
    shown,
)

TRANSFORMERS: tuple[str, ...] = ("JSON_PATH", "FORM_FIELD", "REGEX")
#: Transformers VGS documents that this vault refuses (named in the refusal).
VGS_ONLY_TRANSFORMERS = ("XPATH", "HTML", "MAPPING_REGEX", "CSV", "PDF", "ZIP", "MAPPING")


# --- JSONPath --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Key:
    """``.name`` or ``['name']``: a member of an object."""

    name: str


@dataclass(frozen=True, slots=True)
class Index:
    """``[n]``: an element of an array (negative: from the end)."""

    index: int


@dataclass(frozen=True, slots=True)
class Every:
    """``[*]`` or ``.*``: every member of an object or element of an array."""


@dataclass(frozen=True, slots=True)
class Descendant:
    """``..name``: the member ``name`` of any object at any depth below."""

    name: str


Segment = Key | Index | Every | Descendant

_NAME = re.compile(r"[A-Za-z0-9_$@\-]+")
_INDEX = re.compile(r"-?[0-9]{1,9}")


@dataclass(frozen=True, slots=True)
class JsonPath:
    """A parsed JSONPath expression; ``text`` is what the route document says."""

    text: str
    segments: tuple[Segment, ...] = field(compare=False)


def parse_json_path(source: str, where: str) -> JsonPath:
    """``$``-rooted path of the supported subset (see the module docstring)."""
    if not source.startswith("$"):
        raise RouteError(where, "a JSONPath starts with $ (e.g. $.card.number)")
    segments: list[Segment] = []
    i, n = 1, len(source)
    while i < n:
        if source.startswith("..", i):
            match = _NAME.match(source, i + 2)
            if match is None:
                raise UnsupportedRouteFeature(where, "after .. give a member name ($..number)")
            segments.append(Descendant(match.group()))
            i = match.end()
        elif source[i] == ".":
            if source.startswith(".*", i):
                segments.append(Every())
                i += 2
                continue
            match = _NAME.match(source, i + 1)
            if match is None:
                raise RouteError(where, f"a member name is expected at position {i + 1}")
            segments.append(Key(match.group()))
            i = match.end()
        elif source[i] == "[":
            segment, i = _bracket(source, i, where)
            segments.append(segment)
        else:
            raise RouteError(where, f"unexpected {source[i]!r} at position {i}")
    if not segments:
        raise RouteError(where, "$ alone selects the whole body: name a field ($.field)")
    return JsonPath(source, tuple(segments))


def _bracket(source: str, i: int, where: str) -> tuple[Segment, int]:
    close = source.find("]", i)
    inner = source[i + 1 : close] if close != -1 else ""
    if inner[:1] in ("'", '"'):
        quote = inner[0]
        j, name = i + 2, []
        while j < len(source) and source[j] != quote:
            if source[j] == "\\" and j + 1 < len(source):
                j += 1
            name.append(source[j])
            j += 1
        if j + 1 >= len(source) or source[j] != quote or source[j + 1] != "]":
            raise RouteError(where, f"unterminated quoted name at position {i}")
        if not name:
            raise RouteError(where, f"empty member name at position {i}")
        return Key("".join(name)), j + 2
    if close == -1:
        raise RouteError(where, f"unclosed [ at position {i}")
    if inner == "*":
        return Every(), close + 1
    if _INDEX.fullmatch(inner):
        return Index(int(inner)), close + 1
    if inner.startswith("?") or ":" in inner or "," in inner or inner.startswith("("):
        raise UnsupportedRouteFeature(
            where, f"JSONPath filters, slices and unions are not supported ([{inner[:20]}])"
        )
    raise RouteError(where, f"[{inner[:20]}] is not an index, * or a quoted name")


# --- the transformer of an entry -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JsonPathTransformer:
    """``JSON_PATH``: the values at these paths of a JSON body."""

    paths: tuple[JsonPath, ...]
    name: str = field(default="JSON_PATH", init=False)

    def config(self) -> list[str]:
        return [p.text for p in self.paths]

    def config_map(self) -> dict[str, Any] | None:
        return None


@dataclass(frozen=True, slots=True)
class FormFieldTransformer:
    """``FORM_FIELD``: the values of these form fields (or headers)."""

    fields: tuple[str, ...]
    name: str = field(default="FORM_FIELD", init=False)

    def config(self) -> list[str]:
        return list(self.fields)

    def config_map(self) -> dict[str, Any] | None:
        return None


@dataclass(frozen=True, slots=True)
class RegexTransformer:
    """``REGEX``: what these patterns match (first capture group, else the whole match).

    ``patterns`` come from ``transformer_config``; ``map_patterns`` and ``charset`` from
    ``transformer_config_map`` (kept apart so the document reads back as it was written).
    """

    patterns: tuple[str, ...]
    map_patterns: tuple[str, ...] | None = None
    charset: str | None = None
    compiled: tuple[re.Pattern[str], ...] = field(default=(), compare=False, repr=False)
    name: str = field(default="REGEX", init=False)

    def config(self) -> list[str]:
        return list(self.patterns)

    def config_map(self) -> dict[str, Any] | None:
        if self.map_patterns is None:
            return None
        body: dict[str, Any] = {"patterns": list(self.map_patterns)}
        if self.charset is not None:
            body["charset"] = self.charset
        return body


Transformer = JsonPathTransformer | FormFieldTransformer | RegexTransformer


def parse_transformer(obj: Mapping[str, Any], where: str, targets: tuple[str, ...]) -> Transformer:
    """The ``transformer``, ``transformer_config`` and ``transformer_config_map`` of an entry."""
    name = obj.get("transformer")
    if name is None:
        raise RouteError(f"{where}.transformer", f"is required: {', '.join(TRANSFORMERS)}")
    if name in VGS_ONLY_TRANSFORMERS:
        raise UnsupportedRouteFeature(
            f"{where}.transformer",
            f"{name} is a VGS transformer this vault does not implement; "
            f"use one of {', '.join(TRANSFORMERS)}",
        )
    if name not in TRANSFORMERS:
        raise RouteError(
            f"{where}.transformer",
            f"unknown transformer {shown(name)}; use one of {', '.join(TRANSFORMERS)}",
        )
    raw_config = obj.get("transformer_config")
    raw_map = obj.get("transformer_config_map")
    config_where = f"{where}.transformer_config"
    if name == "REGEX":
        return _regex(raw_config, raw_map, where)
    if raw_map is not None:
        raise UnsupportedRouteFeature(
            f"{where}.transformer_config_map", f"is only used with REGEX, not with {name}"
        )
    if raw_config is None:
        raise RouteError(config_where, "is required (a list of expressions)")
    items = f.text_list(raw_config, config_where, limit=MAX_EXPRESSIONS, single=True)
    if name == "JSON_PATH":
        if "headers" in targets:
            raise UnsupportedRouteFeature(
                f"{where}.targets", "JSON_PATH works on bodies only: use targets [body]"
            )
        return JsonPathTransformer(
            tuple(parse_json_path(p, f"{config_where}[{i}]") for i, p in enumerate(items))
        )
    for i, item in enumerate(items):
        if not item.strip():
            raise RouteError(f"{config_where}[{i}]", "a field name must not be blank")
    return FormFieldTransformer(items)


def _regex(raw_config: Any, raw_map: Any, where: str) -> RegexTransformer:
    config_where = f"{where}.transformer_config"
    patterns: tuple[str, ...] = ()
    if raw_config is not None:
        patterns = f.text_list(
            raw_config, config_where, limit=MAX_EXPRESSIONS, single=True, empty=True
        )
    map_patterns: tuple[str, ...] | None = None
    charset: str | None = None
    if raw_map is not None:
        map_where = f"{where}.transformer_config_map"
        body = f.mapping(raw_map, map_where)
        f.no_unknown(body, ("patterns", "charset"), map_where)
        map_patterns = f.text_list(
            body.get("patterns"), f"{map_where}.patterns", limit=MAX_EXPRESSIONS, single=True
        )
        if body.get("charset") is not None:
            charset = f.text(body["charset"], f"{map_where}.charset", limit=64)
            if charset.lower().replace("_", "-") not in ("utf-8", "utf8", "us-ascii", "ascii"):
                raise UnsupportedRouteFeature(
                    f"{map_where}.charset", f"only UTF-8 is supported (got {shown(charset)})"
                )
    compiled = [f.pattern(p, f"{config_where}[{i}]") for i, p in enumerate(patterns)]
    compiled += [
        f.pattern(p, f"{where}.transformer_config_map.patterns[{i}]")
        for i, p in enumerate(map_patterns or ())
    ]
    if not compiled:
        raise RouteError(config_where, "REGEX needs at least one pattern")
    if len(compiled) > MAX_EXPRESSIONS:
        raise RouteError(config_where, f"at most {MAX_EXPRESSIONS} patterns")
    return RegexTransformer(patterns, map_patterns, charset, tuple(compiled))


def regex_value(match: re.Match[str]) -> tuple[int, int] | None:
    """The span a REGEX match selects (first group, else all); None for an empty one."""
    if match.re.groups:
        start, end = match.span(1)
    else:
        start, end = match.span()
    if start < 0 or start == end:
        return None
    return start, end


def field_names_match(configured: str, actual: str, *, headers: bool) -> bool:
    """FORM_FIELD names: exact for form fields, case-insensitive for headers."""
    return configured.lower() == actual.lower() if headers else configured == actual
