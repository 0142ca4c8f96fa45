"""The typed route model: a VGS ``rule_chain`` (a route) and its entries ("filters").

A route sends requests whose Host (inbound) or destination host (outbound) matches
``host_endpoint`` through its entries: inbound routes forward to
``destination_override_endpoint``, outbound routes (``destination_override_endpoint: '*'``)
are used by the forward proxy for the destination the client asked for. Each entry has a
``phase`` (REQUEST / RESPONSE), an ``operation`` (REDACT: store the selected values and put
aliases in their place; ENRICH: put the stored values back in place of aliases), the storage
(``token_manager``) and alias format (``public_token_generator``) of what it stores, a
``transformer`` that selects the values in its ``targets`` (``body``, ``headers``) and a
``config`` of conditions on the request.

:meth:`Route.to_wire` gives the JSON:API resource VGS's management API and ``vgs get routes``
use (``{"id", "type": "rule_chain", "attributes": {...}}``); ``parse.py`` reads it back.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from vaultswitch.proxy.routes.conditions import Condition, config_to_wire
from vaultswitch.proxy.routes.transformers import Transformer

ROUTE_TYPE = "rule_chain"
OUTBOUND = "*"
PHASES: tuple[str, ...] = ("REQUEST", "RESPONSE")
OPERATIONS: tuple[str, ...] = ("REDACT", "ENRICH")
TARGETS: tuple[str, ...] = ("body", "headers")
PROTOCOLS: tuple[str, ...] = ("http", "https")
ANY = "*"

Phase = Literal["REQUEST", "RESPONSE"]
Operation = Literal["REDACT", "ENRICH"]
Storage = Literal["PERSISTENT", "VOLATILE"]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def vgs_time(moment: datetime) -> str:
    """``2021-11-26T18:10:08``: UTC, whole seconds, no zone (as VGS prints route times)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True, slots=True)
class Classifiers:
    """An entry's ``classifiers``: ``TAGS`` put on what REDACT stores; ``INCLUDE`` /
    ``EXCLUDE`` kept as given (VGS data classification)."""

    tags: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def to_wire(self) -> dict[str, list[str]]:
        named = (("TAGS", self.tags), ("INCLUDE", self.include), ("EXCLUDE", self.exclude))
        return {key: list(values) for key, values in named if values}


@dataclass(frozen=True, slots=True)
class Entry:
    """One filter of a route."""

    id: str | None
    phase: Phase
    operation: Operation
    token_manager: Storage
    public_token_generator: str
    transformer: Transformer
    targets: tuple[str, ...] = ("body",)
    classifiers: Classifiers = Classifiers()
    condition: Condition | None = None

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {} if self.id is None else {"id": self.id}
        wire.update(
            {
                "phase": self.phase,
                "operation": self.operation,
                "token_manager": self.token_manager,
                "public_token_generator": self.public_token_generator,
                "transformer": self.transformer.name,
                "transformer_config": self.transformer.config(),
                "transformer_config_map": self.transformer.config_map(),
                "targets": list(self.targets),
                "classifiers": self.classifiers.to_wire(),
                "id_selector": None,
                "operations": None,
                "config": config_to_wire(self.condition),
            }
        )
        return wire


@dataclass(frozen=True, slots=True)
class Route:
    """A VGS route (``rule_chain``)."""

    id: str | None
    destination_override_endpoint: str
    host_endpoint: str | None
    entries: tuple[Entry, ...] = ()
    protocol: str = "http"
    source_endpoint: str = ANY
    port: int | None = None
    ordinal: int | None = None
    tags: dict[str, Any] = field(default_factory=dict)
    transport: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # derived at parse time (not part of equality)
    host_pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    sources: tuple[Network, ...] | None = field(default=None, compare=False, repr=False)

    @property
    def outbound(self) -> bool:
        """``destination_override_endpoint: '*'``: a route of the outbound (forward) proxy."""
        return self.destination_override_endpoint == OUTBOUND

    @property
    def name(self) -> str | None:
        name = self.tags.get("name")
        return name if isinstance(name, str) else None

    def with_id(self, route_id: str) -> Route:
        return replace(self, id=route_id)

    def with_times(self, created_at: datetime, updated_at: datetime) -> Route:
        return replace(self, created_at=created_at, updated_at=updated_at)

    def attributes(self, *, server_fields: bool = True) -> dict[str, Any]:
        """The ``attributes`` object; ``server_fields``: with id and timestamps (as read)."""
        wire: dict[str, Any] = {}
        if server_fields and self.id is not None:
            wire["id"] = self.id
        wire.update(
            {
                "protocol": self.protocol,
                "source_endpoint": self.source_endpoint,
                "destination_override_endpoint": self.destination_override_endpoint,
                "host_endpoint": self.host_endpoint,
                "port": self.port,
                "ordinal": self.ordinal,
                "tags": dict(self.tags),
                "entries": [entry.to_wire() for entry in self.entries],
            }
        )
        if self.transport is not None:
            wire["transport"] = self.transport
        if server_fields and self.created_at is not None:
            wire["created_at"] = vgs_time(self.created_at)
        if server_fields and self.updated_at is not None:
            wire["updated_at"] = vgs_time(self.updated_at)
        return wire

    def to_wire(self) -> dict[str, Any]:
        """The JSON:API resource: ``{"id", "type": "rule_chain", "attributes"}``."""
        wire: dict[str, Any] = {} if self.id is None else {"id": self.id}
        wire["type"] = ROUTE_TYPE
        wire["attributes"] = self.attributes()
        return wire


@dataclass(frozen=True, slots=True)
class RouteDocument:
    """``version: 1`` + ``data:`` (the routes), as ``vgs get routes`` prints them."""

    routes: tuple[Route, ...]
    version: int = 1

    def to_wire(self) -> dict[str, Any]:
        return {"version": self.version, "data": [route.to_wire() for route in self.routes]}
