"""Helpers shared by routers: timestamps as Hyperswitch writes them, pagination."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query
from pydantic import WithJsonSchema

from vaultswitch.domain.secret import Secret
from vaultswitch.orchestrator.errors import invalid_value

#: A request field holding a card number, CVC or secret: a :class:`Secret` from parsing on,
#: a write-only string in the OpenAPI document (a bare ``Secret`` has no JSON schema and
#: breaks ``/openapi.json``).
SecretText = Annotated[Secret, WithJsonSchema({"type": "string", "writeOnly": True})]


def iso(moment: datetime | None) -> str | None:
    """``2025-01-31T12:00:00.123Z`` (UTC, milliseconds)."""
    if moment is None:
        return None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


MAX_LIMIT = 100

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (1-100).")]
Offset = Annotated[int, Query(ge=0, description="Items to skip.")]


def parse_datetime(value: str, field: str) -> datetime:
    """An ISO-8601 date-time; naive values are taken as UTC."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid_value(field, 'must be "never" or an ISO-8601 date-time') from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
