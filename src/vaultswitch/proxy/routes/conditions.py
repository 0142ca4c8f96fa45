"""An entry's ``config``: conditions on the request (``PathInfo``, ``ContentType``,
``QueryString``) with ``equals``, ``matches``, ``begins_with``, ``ends_with``, combined
under ``AND`` / ``OR`` groups, as VGS writes them::

    config:
      condition: AND
      rules:
      - expression: {field: PathInfo, type: string, operator: matches, values: [/post]}
      - condition: OR
        rules:
        - expression: {field: ContentType, type: string, operator: equals, values: [text/xml]}
        - expression: {field: QueryString, type: string, operator: begins_with, values: [v=2]}

Every node carries ``condition``, ``rules`` and ``expression`` (VGS prints the unused ones
as null): a group has ``condition`` + ``rules``, a leaf has ``expression``.

Semantics (pure functions over :class:`RequestFacts`):

- an expression holds when *any* of its ``values`` satisfies the operator;
- ``equals`` compares exactly; ``begins_with`` / ``ends_with`` are prefix / suffix tests;
  ``matches`` is a regular expression that must match the *whole* field (as Java's
  ``String.matches`` does);
- ``PathInfo`` is the request path without the query string (for the inbound proxy,
  without the ``/tntxxxxxxxx`` prefix); ``QueryString`` the raw query without ``?``;
  ``ContentType`` the Content-Type header, compared case-insensitively: a value without
  parameters (``application/json``) compares with the media type alone, so
  ``application/json; charset=utf-8`` equals it; a value with parameters compares with
  the whole header (spaces around ``;`` ignored). A missing header is the empty string.
- ``AND`` of no rules holds, ``OR`` of no rules does not.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Literal

from vaultswitch.proxy.routes import fields as f
from vaultswitch.proxy.routes.errors import (
    MAX_CONDITION_DEPTH,
    MAX_CONDITION_RULES,
    RouteError,
    UnsupportedRouteFeature,
    shown,
)

FIELDS: tuple[str, ...] = ("PathInfo", "ContentType", "QueryString")
OPERATORS: tuple[str, ...] = ("equals", "matches", "begins_with", "ends_with")
GROUPS: tuple[str, ...] = ("AND", "OR")
MAX_VALUES = 100
_NODE_KEYS = ("condition", "rules", "expression")
_EXPRESSION_KEYS = ("field", "type", "operator", "values")

Field = Literal["PathInfo", "ContentType", "QueryString"]
Operator = Literal["equals", "matches", "begins_with", "ends_with"]


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What conditions look at: path (no query), raw query string, Content-Type header."""

    path: str
    query: str = ""
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class Expression:
    """``field operator values``: true when any value satisfies the operator."""

    field: Field
    operator: Operator
    values: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...] = dataclasses.field(default=(), compare=False, repr=False)

    def holds(self, facts: RequestFacts) -> bool:
        if self.field == "ContentType":
            return _content_type_holds(self, facts.content_type or "")
        subject = facts.path if self.field == "PathInfo" else facts.query
        if self.operator == "equals":
            return subject in self.values
        if self.operator == "begins_with":
            return subject.startswith(self.values)
        if self.operator == "ends_with":
            return subject.endswith(self.values)
        return any(p.fullmatch(subject) is not None for p in self.patterns)


@dataclass(frozen=True, slots=True)
class Group:
    """``AND`` / ``OR`` of rules (expressions or groups)."""

    condition: Literal["AND", "OR"]
    rules: tuple[Condition, ...]

    def holds(self, facts: RequestFacts) -> bool:
        results = (rule.holds(facts) for rule in self.rules)
        return all(results) if self.condition == "AND" else any(results)


Condition = Expression | Group


def holds(condition: Condition | None, facts: RequestFacts) -> bool:
    """Whether a request satisfies an entry's config (no config: every request does)."""
    return True if condition is None else condition.holds(facts)


def _content_type_holds(expr: Expression, header: str) -> bool:
    whole = _normalise_media(header)
    media = whole.split(";", 1)[0]
    for i, value in enumerate(expr.values):
        wanted = _normalise_media(value)
        subject = whole if ";" in wanted or expr.operator == "matches" else media
        if expr.operator == "equals" and subject == wanted:
            return True
        if expr.operator == "begins_with" and subject.startswith(wanted):
            return True
        if expr.operator == "ends_with" and subject.endswith(wanted):
            return True
        if expr.operator == "matches":
            pattern = expr.patterns[i]
            if pattern.fullmatch(whole) is not None or pattern.fullmatch(media) is not None:
                return True
    return False


def _normalise_media(value: str) -> str:
    return ";".join(part.strip() for part in value.strip().lower().split(";"))


# --- parsing ----------------------------------------------------------------------------------


class _Budget:
    """Counts the nodes of one config (MAX_CONDITION_RULES in all)."""

    def __init__(self) -> None:
        self.left = MAX_CONDITION_RULES

    def take(self, where: str) -> None:
        self.left -= 1
        if self.left < 0:
            raise RouteError(where, f"at most {MAX_CONDITION_RULES} rules in one config")


def parse_config(value: Any, where: str) -> Condition | None:
    """An entry's ``config`` (null: no condition, the entry applies to every request)."""
    if value is None:
        return None
    return _node(value, where, 0, _Budget())


def _node(value: Any, where: str, depth: int, budget: _Budget) -> Condition:
    if depth > MAX_CONDITION_DEPTH:
        raise RouteError(where, f"conditions nest at most {MAX_CONDITION_DEPTH} levels deep")
    budget.take(where)
    obj = f.mapping(value, where)
    f.no_unknown(obj, _NODE_KEYS, where)
    expression, rules, condition = obj.get("expression"), obj.get("rules"), obj.get("condition")
    if expression is not None:
        if rules not in (None, [], ()) or condition is not None:
            raise RouteError(
                where, "give either expression, or condition with rules (a group), not both"
            )
        return _expression(expression, f"{where}.expression")
    if condition is None:
        raise RouteError(
            f"{where}.condition", "a group needs condition AND or OR (or give an expression)"
        )
    if condition not in GROUPS:
        raise UnsupportedRouteFeature(
            f"{where}.condition", f"must be AND or OR (got {shown(condition)})"
        )
    if rules is None:
        raise RouteError(f"{where}.rules", "a group needs a list of rules")
    if not isinstance(rules, list | tuple):
        raise RouteError(f"{where}.rules", "must be an array of rules")
    parsed = tuple(
        _node(rule, f"{where}.rules[{i}]", depth + 1, budget) for i, rule in enumerate(rules)
    )
    return Group(condition, parsed)


def _expression(value: Any, where: str) -> Expression:
    obj = f.mapping(value, where)
    f.no_unknown(obj, _EXPRESSION_KEYS, where)
    name = obj.get("field")
    if name == "filePath":
        raise UnsupportedRouteFeature(
            f"{where}.field", "filePath conditions belong to SFTP routes, which are not supported"
        )
    if name not in FIELDS:
        raise UnsupportedRouteFeature(
            f"{where}.field", f"must be one of {', '.join(FIELDS)} (got {shown(name)})"
        )
    kind = obj.get("type", "string")
    if kind != "string":
        raise UnsupportedRouteFeature(f"{where}.type", f"must be string (got {shown(kind)})")
    operator = obj.get("operator")
    if operator not in OPERATORS:
        raise UnsupportedRouteFeature(
            f"{where}.operator", f"must be one of {', '.join(OPERATORS)} (got {shown(operator)})"
        )
    if "values" not in obj:
        raise RouteError(f"{where}.values", "is required (a list of strings)")
    values = f.text_list(obj["values"], f"{where}.values", limit=MAX_VALUES, single=True)
    patterns: tuple[re.Pattern[str], ...] = ()
    if operator == "matches":
        flags = re.IGNORECASE if name == "ContentType" else 0
        patterns = tuple(
            f.pattern(v, f"{where}.values[{i}]", flags=flags) for i, v in enumerate(values)
        )
    return Expression(name, operator, values, patterns)


# --- wire form --------------------------------------------------------------------------------


def config_to_wire(condition: Condition | None) -> dict[str, Any] | None:
    """The ``config`` VGS prints: every node with condition, rules and expression."""
    if condition is None:
        return None
    if isinstance(condition, Expression):
        return {
            "condition": None,
            "rules": None,
            "expression": {
                "field": condition.field,
                "type": "string",
                "operator": condition.operator,
                "values": list(condition.values),
            },
        }
    return {
        "condition": condition.condition,
        "rules": [config_to_wire(rule) for rule in condition.rules],
        "expression": None,
    }


def expressions(condition: Condition | None) -> list[Expression]:
    """Every expression of a config, depth first (for tests and diagnostics)."""
    if condition is None:
        return []
    if isinstance(condition, Expression):
        return [condition]
    found: list[Expression] = []
    for rule in condition.rules:
        found.extend(expressions(rule))
    return found
