"""Why a route document was refused, and where: ``data[0].attributes.entries[2].transformer``.

Messages name the place and what is wrong with it; they quote only names the document
uses for enumerations (a transformer, an operator), cut short, never a value a condition
or a transformer would select.
"""

from __future__ import annotations

from typing import ClassVar

#: Limits of one route (the management API and ``vaultswitch routes apply`` enforce them).
MAX_ENTRIES = 100
MAX_EXPRESSIONS = 100  # transformer_config items of one entry
MAX_CONDITION_RULES = 100  # expressions and groups in one entry's config, all levels
MAX_CONDITION_DEPTH = 8
MAX_PATTERN_LENGTH = 1000  # a regular expression (host_endpoint, matches, REGEX)
MAX_TEXT_LENGTH = 2048  # any other string
MAX_TAGS = 50


class RouteError(ValueError):
    """A route document is invalid; ``where`` is the place, ``problem`` what is wrong."""

    code: ClassVar[str] = "INVALID_ROUTE"

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")

    @property
    def detail(self) -> str:
        return str(self)


class UnsupportedRouteFeature(RouteError):
    """A valid VGS route feature this vault does not implement (a Larky pipeline, XPATH, ...)."""

    code: ClassVar[str] = "UNSUPPORTED_ROUTE_FEATURE"


def type_name(value: object) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def shown(value: object, limit: int = 40) -> str:
    """A short quoted form of an enumeration-like value the document gave (for messages)."""
    if isinstance(value, str):
        return repr(value[:limit] + ("…" if len(value) > limit else ""))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)[:limit]
    return type_name(value)
