"""VGS route documents: the typed model, parsing and dumping, and matching (sans-IO).

A document is what ``vgs get routes`` prints (``version: 1``, ``data:`` a list of
``{type: rule_chain, id, attributes: {...}}``); a route is one ``rule_chain``.

- :func:`load_document` / :func:`parse_document` / :func:`parse_route`: text or data in,
  :class:`RouteDocument` / :class:`Route` out, or a :class:`RouteError` naming the place
  (``data[0].attributes.entries[2].transformer``);
- :func:`dump_yaml`, :meth:`Route.to_wire`: back out, in VGS's shape;
- ``matching``: which routes and entries apply to a request (host, phase, conditions).

The transformations themselves (redact / reveal in bodies and headers) are the proxies'.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace

from vaultswitch.proxy.routes.conditions import (
    Condition,
    Expression,
    Group,
    RequestFacts,
    holds,
)
from vaultswitch.proxy.routes.document import dump_yaml, load_document, load_text
from vaultswitch.proxy.routes.errors import RouteError, UnsupportedRouteFeature
from vaultswitch.proxy.routes.matching import (
    applicable_entries,
    client_allowed,
    entries_for,
    first_route,
    host_matches,
    host_name,
    matching_routes,
)
from vaultswitch.proxy.routes.model import (
    Classifiers,
    Entry,
    Route,
    RouteDocument,
)
from vaultswitch.proxy.routes.parse import (
    MAX_ROUTES,
    parse_attributes,
    parse_document,
    parse_route,
    parse_stored,
    route_id,
)
from vaultswitch.proxy.routes.transformers import (
    FormFieldTransformer,
    JsonPath,
    JsonPathTransformer,
    RegexTransformer,
    Transformer,
)


def new_id() -> str:
    """A new route or entry id (a random UUID, as VGS assigns them)."""
    return str(uuid.uuid4())


def with_entry_ids(route: Route, make_id: Callable[[], str] = new_id) -> Route:
    """The route with an id on every entry (entries without one get a new id)."""
    entries = tuple(e if e.id is not None else replace(e, id=make_id()) for e in route.entries)
    return replace(route, entries=entries)


__all__ = [
    "MAX_ROUTES",
    "Classifiers",
    "Condition",
    "Entry",
    "Expression",
    "FormFieldTransformer",
    "Group",
    "JsonPath",
    "JsonPathTransformer",
    "RegexTransformer",
    "RequestFacts",
    "Route",
    "RouteDocument",
    "RouteError",
    "Transformer",
    "UnsupportedRouteFeature",
    "applicable_entries",
    "client_allowed",
    "dump_yaml",
    "entries_for",
    "first_route",
    "holds",
    "host_matches",
    "host_name",
    "load_document",
    "load_text",
    "matching_routes",
    "new_id",
    "parse_attributes",
    "parse_document",
    "parse_route",
    "parse_stored",
    "route_id",
    "with_entry_ids",
]
