"""Reading typed fields out of a parsed YAML/JSON document, each failure naming its place."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from vaultswitch.proxy.routes.errors import (
    MAX_PATTERN_LENGTH,
    MAX_TEXT_LENGTH,
    RouteError,
    UnsupportedRouteFeature,
    shown,
    type_name,
)


def mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise RouteError(where, f"must be an object, got {type_name(value)}")
    for key in value:
        if not isinstance(key, str):
            raise RouteError(where, f"keys must be strings, got {type_name(key)}")
    return value


def no_unknown(obj: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    """Refuse fields this model does not know: a document is never half understood."""
    known = set(allowed)
    unknown = sorted(k for k in obj if k not in known)
    if unknown:
        raise RouteError(f"{where}.{unknown[0][:64]}", "unknown field (it would be ignored)")


def text(value: Any, where: str, *, limit: int = MAX_TEXT_LENGTH, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise RouteError(where, f"must be a string, got {type_name(value)}")
    if not value and not empty:
        raise RouteError(where, "must not be empty")
    if len(value) > limit:
        raise RouteError(where, f"at most {limit} characters")
    if "\x00" in value:
        raise RouteError(where, "must not contain NUL")
    return value


def choice(value: Any, where: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise RouteError(where, f"must be one of {', '.join(choices)} (got {shown(value)})")
    return value


def text_list(
    value: Any, where: str, *, limit: int, single: bool = False, empty: bool = False
) -> tuple[str, ...]:
    """A list of strings (``single``: a lone string is taken as a list of one)."""
    if single and isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise RouteError(where, f"must be an array of strings, got {type_name(value)}")
    if not value and not empty:
        raise RouteError(where, "must not be empty")
    if len(value) > limit:
        raise RouteError(where, f"at most {limit} items")
    return tuple(text(item, f"{where}[{i}]", empty=True) for i, item in enumerate(value))


def optional_int(value: Any, where: str, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RouteError(where, f"must be a whole number or null, got {type_name(value)}")
    if not low <= value <= high:
        raise RouteError(where, f"must be from {low} to {high}")
    return value


def must_be_null(value: Any, where: str, feature: str) -> None:
    """Refuse a feature this vault does not implement unless it is left empty."""
    if value is not None and value != [] and value != {}:
        raise UnsupportedRouteFeature(where, f"{feature} is not supported by this vault")


def pattern(value: Any, where: str, *, flags: int = 0) -> re.Pattern[str]:
    """A regular expression (Python syntax, which covers what VGS's Java patterns use)."""
    source = text(value, where, limit=MAX_PATTERN_LENGTH)
    try:
        return re.compile(source, flags)
    except re.error as exc:
        raise RouteError(where, f"not a valid regular expression ({exc.msg})") from None
    except (RecursionError, OverflowError, ValueError):
        raise RouteError(where, "not a valid regular expression") from None


def json_value(value: Any, where: str, depth: int = 0) -> Any:
    """A JSON value (tags): strings, finite numbers, booleans, null, arrays, objects."""
    if depth > 8:
        raise RouteError(where, "nested too deeply")
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise RouteError(where, "must be a finite number")
        return value
    if isinstance(value, str):
        return text(value, where, empty=True)
    if isinstance(value, list | tuple):
        return [json_value(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        obj = mapping(value, where)
        return {k: json_value(v, f"{where}.{k[:64]}", depth + 1) for k, v in obj.items()}
    raise RouteError(where, f"must be a JSON value, got {type_name(value)}")
