"""Checks every request makes before its route runs (an app-wide dependency):

- Card numbers go in card fields only: a request that puts one anywhere else (metadata, a
  reference, a description, a nick name, a URL) is refused with 422 naming the field, so the
  orchestrator never stores or echoes a card number in clear.
- No NUL character in a path or query parameter or a JSON string (PostgreSQL's text cannot
  hold one): 400 naming the field, instead of a database error.

Applied to every route as an app-wide dependency; it reads the JSON body the route parses
anyway (Starlette caches it) and walks it. Allowed places: the card fields of
``payment_method_data`` (a PAN, or aliases, which are often Luhn-valid by design), the alias
fields of an import, and connector credentials (sealed at rest, never returned).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from fastapi import Request

from vaultswitch.domain.redaction import contains_card_number
from vaultswitch.orchestrator.errors import invalid_data, invalid_value

#: Dotted paths (list indices as ``[]``) where card numbers or aliases belong.
ALLOWED = (
    re.compile(r"^payment_method_data\.card\.card_number$"),
    re.compile(r"^payment_method_data\.(proxy_card|vault_data_card)\.[a-z_]+$"),
    re.compile(r"^rows\[\]\.(alias|card_number|card_exp_month|card_exp_year|card_holder_name)$"),
    re.compile(r"^connector_account_details\.[a-z_0-9]+$"),
)
_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _leaves(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _leaves(child, f"{path}.{key}" if path else str(key))
            if isinstance(key, str):
                yield (f"{path}.{key}" if path else key) + " (a key)", key
    elif isinstance(value, list):
        for child in value:
            yield from _leaves(child, path + "[]")
    elif isinstance(value, str):
        yield path, value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield path, str(value)


def nul_field(document: Any) -> str | None:
    """The first field (or key) of a JSON document holding a NUL character, or None."""
    for path, text in _leaves(document, ""):
        if "\x00" in text:
            return path or "(body)"
    return None


def misplaced_card_number(document: Any) -> str | None:
    """The first field outside the card fields holding a card number, or None."""
    for path, text in _leaves(document, ""):
        if contains_card_number(text) and not any(rule.match(path) for rule in ALLOWED):
            return path or "(body)"
    return None


def _check_parameters(request: Request) -> None:
    for name, value in [*request.path_params.items(), *request.query_params.multi_items()]:
        if "\x00" in str(value):
            raise invalid_value(name, "must not contain NUL characters")


async def check_request(request: Request) -> None:
    """App-wide dependency: 400 ``IR_07`` for a NUL, 422 ``IR_06`` for a misplaced card
    number, each naming the field; never the value."""
    _check_parameters(request)
    if request.method not in _METHODS:
        return
    if "json" not in request.headers.get("content-type", ""):
        return
    body = await request.body()
    if len(body) < 13:
        return
    try:
        document = json.loads(body)
    except ValueError:
        return  # the route's own validation answers malformed JSON
    field = nul_field(document)
    if field is not None:
        raise invalid_value(field, "must not contain NUL characters")
    field = misplaced_card_number(document)
    if field is not None:
        raise invalid_data(
            field,
            "holds what looks like a card number",
            hint="Card data goes only in the card fields (payment_method_data.card); "
            "never put a card number in metadata, references, descriptions or names.",
        )
