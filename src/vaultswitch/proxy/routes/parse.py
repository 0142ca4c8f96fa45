"""Parsing route documents (plain data from YAML or JSON) into the typed model.

Everything a document says is either understood or refused with the place named
(``data[0].attributes.entries[2].transformer``): unknown fields, transformers, condition
fields and operators, a Larky ``operations`` pipeline, SFTP routes. Server-managed fields
(``created_at`` / ``updated_at``) are read but the server sets them.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

from vaultswitch.proxy.routes import fields as f
from vaultswitch.proxy.routes.conditions import parse_config
from vaultswitch.proxy.routes.errors import (
    MAX_ENTRIES,
    MAX_TAGS,
    RouteError,
    UnsupportedRouteFeature,
    shown,
    type_name,
)
from vaultswitch.proxy.routes.model import (
    ANY,
    OPERATIONS,
    OUTBOUND,
    PHASES,
    PROTOCOLS,
    ROUTE_TYPE,
    TARGETS,
    Classifiers,
    Entry,
    Network,
    Route,
    RouteDocument,
)
from vaultswitch.proxy.routes.transformers import parse_transformer
from vaultswitch.vault.core.formats import SUPPORTED_FORMATS, UNSUPPORTED_FORMATS
from vaultswitch.vault.core.models import MAX_CLASSIFIER_LENGTH, MAX_CLASSIFIERS, STORAGES

MAX_ROUTES = 500  # in one document, and per vault
_ITEM_KEYS = ("id", "type", "attributes")
_ROUTE_KEYS = (
    "id",
    "protocol",
    "source_endpoint",
    "destination_override_endpoint",
    "host_endpoint",
    "port",
    "ordinal",
    "tags",
    "entries",
    "transport",
    "created_at",
    "updated_at",
)
_ENTRY_KEYS = (
    "id",
    "phase",
    "operation",
    "token_manager",
    "public_token_generator",
    "transformer",
    "transformer_config",
    "transformer_config_map",
    "targets",
    "classifiers",
    "id_selector",
    "operations",
    "operations_v2",
    "config",
    "created_at",
    "updated_at",
)
_CLASSIFIER_RE = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_.:/\-]{{0,{MAX_CLASSIFIER_LENGTH - 1}}}")


def route_id(value: Any, where: str) -> str:
    """A route or entry id: a UUID (VGS's ids are), lower-cased and hyphenated."""
    if not isinstance(value, str) or not value:
        raise RouteError(where, f"must be a UUID string, got {type_name(value)}")
    try:
        parsed = uuid.UUID(value) if len(value) <= 45 else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise RouteError(where, "must be a UUID (e.g. 04b2e1b7-fb60-472f-a79f-af7e2353f122)")
    return str(parsed)


def parse_document(value: Any) -> RouteDocument:
    """A whole document: ``{version: 1, data: [route, ...]}`` (version may be left out)."""
    obj = f.mapping(value, "document")
    f.no_unknown(obj, ("version", "data"), "document")
    version = obj.get("version", 1)
    if version != 1 or isinstance(version, bool):
        raise RouteError("version", f"must be 1 (got {shown(version)})")
    if "data" not in obj:
        raise RouteError("data", "is required: a list of routes (type: rule_chain)")
    items = obj["data"]
    if not isinstance(items, list | tuple):
        raise RouteError("data", f"must be a list of routes, got {type_name(items)}")
    if len(items) > MAX_ROUTES:
        raise RouteError("data", f"at most {MAX_ROUTES} routes in one document")
    routes = tuple(parse_route(item, f"data[{i}]") for i, item in enumerate(items))
    seen: dict[str, int] = {}
    for i, route in enumerate(routes):
        if route.id is None:
            continue
        if route.id in seen:
            raise RouteError(f"data[{i}].id", f"the same id as data[{seen[route.id]}]")
        seen[route.id] = i
    return RouteDocument(routes)


def parse_route(value: Any, where: str = "data") -> Route:
    """One route as a JSON:API resource: ``{id?, type: rule_chain, attributes: {...}}``."""
    obj = f.mapping(value, where)
    f.no_unknown(obj, _ITEM_KEYS, where)
    kind = obj.get("type", ROUTE_TYPE)
    if kind != ROUTE_TYPE:
        raise RouteError(f"{where}.type", f"must be rule_chain (got {shown(kind)})")
    outer_id = route_id(obj["id"], f"{where}.id") if obj.get("id") is not None else None
    if "attributes" not in obj:
        raise RouteError(f"{where}.attributes", "is required (the route itself)")
    return parse_attributes(obj["attributes"], f"{where}.attributes", outer_id)


def parse_attributes(value: Any, where: str, outer_id: str | None = None) -> Route:
    """A route's ``attributes``; ``outer_id`` is the resource id beside them (if any)."""
    obj = f.mapping(value, where)
    f.no_unknown(obj, _ROUTE_KEYS, where)
    inner_id = route_id(obj["id"], f"{where}.id") if obj.get("id") is not None else None
    if outer_id is not None and inner_id is not None and inner_id != outer_id:
        raise RouteError(f"{where}.id", "differs from the route's id beside the attributes")
    protocol = obj.get("protocol", "http")
    if not isinstance(protocol, str) or protocol.lower() not in PROTOCOLS:
        if isinstance(protocol, str) and protocol.lower() == "sftp":
            raise UnsupportedRouteFeature(
                f"{where}.protocol", "SFTP routes are not supported: use http"
            )
        raise RouteError(f"{where}.protocol", f"must be http or https (got {shown(protocol)})")
    source = obj.get("source_endpoint", ANY)
    sources = _sources(source, f"{where}.source_endpoint")
    destination = _destination(
        obj.get("destination_override_endpoint"), f"{where}.destination_override_endpoint"
    )
    host = obj.get("host_endpoint")
    host_pattern = None
    if host is not None and host != ANY:
        host_pattern = f.pattern(host, f"{where}.host_endpoint", flags=re.IGNORECASE)
    elif destination == OUTBOUND and host in (None, ANY):
        raise RouteError(
            f"{where}.host_endpoint",
            "an outbound route (destination_override_endpoint '*') needs the destination "
            "host pattern, e.g. api\\.stripe\\.com",
        )
    tags = f.json_value(obj.get("tags") or {}, f"{where}.tags")
    if not isinstance(tags, dict):
        raise RouteError(f"{where}.tags", f"must be an object, got {type_name(tags)}")
    if len(tags) > MAX_TAGS:
        raise RouteError(f"{where}.tags", f"at most {MAX_TAGS} tags")
    transport = obj.get("transport")
    if transport is not None and transport != "HTTP":
        raise UnsupportedRouteFeature(
            f"{where}.transport", f"only HTTP is supported (got {shown(transport)})"
        )
    raw_entries = obj.get("entries")
    if raw_entries is None:
        raise RouteError(f"{where}.entries", "is required (a list of filters; may be empty)")
    if not isinstance(raw_entries, list | tuple):
        raise RouteError(f"{where}.entries", f"must be a list, got {type_name(raw_entries)}")
    if len(raw_entries) > MAX_ENTRIES:
        raise RouteError(f"{where}.entries", f"at most {MAX_ENTRIES} entries in one route")
    entries = tuple(
        parse_entry(item, f"{where}.entries[{i}]") for i, item in enumerate(raw_entries)
    )
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        if entry.id is not None:
            if entry.id in seen:
                raise RouteError(
                    f"{where}.entries[{i}].id", f"the same id as entries[{seen[entry.id]}]"
                )
            seen[entry.id] = i
    return Route(
        id=outer_id or inner_id,
        destination_override_endpoint=destination,
        host_endpoint=host if isinstance(host, str) else None,
        entries=entries,
        protocol=protocol.lower(),
        source_endpoint=source,
        port=f.optional_int(obj.get("port"), f"{where}.port", 1, 65535),
        ordinal=f.optional_int(obj.get("ordinal"), f"{where}.ordinal", -(2**31), 2**31 - 1),
        tags=tags,
        transport=transport,
        created_at=_time(obj.get("created_at"), f"{where}.created_at"),
        updated_at=_time(obj.get("updated_at"), f"{where}.updated_at"),
        host_pattern=host_pattern,
        sources=sources,
    )


def parse_entry(value: Any, where: str) -> Entry:
    obj = f.mapping(value, where)
    f.no_unknown(obj, _ENTRY_KEYS, where)
    f.must_be_null(obj.get("operations"), f"{where}.operations", "a Larky operations pipeline")
    f.must_be_null(
        obj.get("operations_v2"), f"{where}.operations_v2", "a Larky operations pipeline"
    )
    f.must_be_null(obj.get("id_selector"), f"{where}.id_selector", "id_selector")
    entry_id = route_id(obj["id"], f"{where}.id") if obj.get("id") is not None else None
    phase = f.choice(obj.get("phase"), f"{where}.phase", PHASES)
    operation = obj.get("operation")
    if operation == "REVEAL":
        raise RouteError(f"{where}.operation", "VGS calls reveal ENRICH: use ENRICH")
    operation = f.choice(operation, f"{where}.operation", OPERATIONS)
    storage = f.choice(obj.get("token_manager", "PERSISTENT"), f"{where}.token_manager", STORAGES)
    generator = obj.get("public_token_generator", "UUID")
    if generator in UNSUPPORTED_FORMATS:
        raise UnsupportedRouteFeature(
            f"{where}.public_token_generator", f"the {generator} format is not supported"
        )
    if generator not in SUPPORTED_FORMATS:
        raise RouteError(
            f"{where}.public_token_generator",
            f"unknown alias format {shown(generator)}; use one of "
            + ", ".join(sorted(SUPPORTED_FORMATS)),
        )
    targets = _targets(obj.get("targets", ["body"]), f"{where}.targets")
    transformer = parse_transformer(obj, where, targets)
    return Entry(
        id=entry_id,
        phase=phase,  # type: ignore[arg-type]
        operation=operation,  # type: ignore[arg-type]
        token_manager=storage,  # type: ignore[arg-type]
        public_token_generator=generator,
        transformer=transformer,
        targets=targets,
        classifiers=_classifiers(obj.get("classifiers"), f"{where}.classifiers"),
        condition=parse_config(obj.get("config"), f"{where}.config"),
    )


def _targets(value: Any, where: str) -> tuple[str, ...]:
    items = f.text_list(value, where, limit=len(TARGETS), single=True)
    for i, item in enumerate(items):
        if item not in TARGETS:
            raise UnsupportedRouteFeature(
                f"{where}[{i}]", f"must be body or headers (got {shown(item)})"
            )
    if len(set(items)) != len(items):
        raise RouteError(where, "names a target twice")
    return items


def _classifiers(value: Any, where: str) -> Classifiers:
    if value is None:
        return Classifiers()
    obj = f.mapping(value, where)
    found: dict[str, tuple[str, ...]] = {}
    for key, items in obj.items():
        name = key.lower()
        if name not in ("tags", "include", "exclude"):
            raise RouteError(f"{where}.{key[:64]}", "unknown field: use TAGS, INCLUDE or EXCLUDE")
        if name in found:
            raise RouteError(f"{where}.{key[:64]}", f"{name} is given twice")
        values = f.text_list(items, f"{where}.{key}", limit=MAX_CLASSIFIERS, empty=True)
        for i, tag in enumerate(values):
            if not _CLASSIFIER_RE.fullmatch(tag):
                raise RouteError(
                    f"{where}.{key}[{i}]",
                    f"a classifier is 1-{MAX_CLASSIFIER_LENGTH} letters, digits and _ . : / -",
                )
        found[name] = tuple(dict.fromkeys(values))
    return Classifiers(found.get("tags", ()), found.get("include", ()), found.get("exclude", ()))


def _sources(value: Any, where: str) -> tuple[Network, ...] | None:
    """``*`` (any client; None) or comma-separated client addresses / CIDR networks."""
    source = f.text(value, where)
    if source == ANY:
        return None
    networks: list[Network] = []
    for part in source.split(","):
        try:
            networks.append(ipaddress.ip_network(part.strip(), strict=False))
        except ValueError:
            raise RouteError(
                where, "must be * or comma-separated client addresses or networks (10.0.0.0/8)"
            ) from None
    return tuple(networks)


def _destination(value: Any, where: str) -> str:
    """``*`` (outbound) or the inbound upstream: an http(s) URL without credentials."""
    if value is None:
        raise RouteError(where, "is required: the upstream URL (inbound) or * (outbound)")
    destination = f.text(value, where)
    if destination == OUTBOUND:
        return destination
    try:
        parts = urlsplit(destination)
        port = parts.port
    except ValueError:
        raise RouteError(where, "is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RouteError(where, "must be * (outbound) or an http(s) URL such as https://host")
    if parts.username is not None or parts.password is not None:
        raise RouteError(where, "must not hold credentials (user:password@)")
    if parts.query or parts.fragment:
        raise RouteError(where, "must not have a query or fragment")
    if port == 0:
        raise RouteError(where, "port must be from 1 to 65535")
    return destination


def _time(value: Any, where: str) -> datetime | None:
    """A server-managed timestamp (ISO 8601, or a YAML timestamp), in UTC, whole seconds."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and len(value) <= 64:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise RouteError(where, "must be an ISO 8601 time (2021-11-26T18:10:08)") from None
    else:
        raise RouteError(where, f"must be an ISO 8601 time, got {type_name(value)}")
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.replace(microsecond=0)


def parse_stored(
    route_id_: str, attributes: Mapping[str, Any], created: datetime, updated: datetime
) -> Route:
    """A route as the vault stored it (already checked on the way in)."""
    route = parse_attributes(attributes, f"route {route_id_}", route_id_)
    return route.with_times(created, updated)
