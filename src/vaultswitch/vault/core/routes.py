"""Routes (VGS rule chains) of a vault: stored, listed, replaced and deleted, each change audited.

The core stores a route as the JSON document its caller checked (the management API and
``vaultswitch routes`` parse it with ``vaultswitch.proxy.routes``, which the core does not
import): the route's ``attributes`` without ``id``, ``created_at`` and ``updated_at``, which
are the row's. Every change writes an audit row in the same transaction
(``admin.route.create`` / ``admin.route.update`` / ``admin.route.delete``, the route id as
detail), so a change and its record commit together.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from vaultswitch.vault.core.audit import audit_row
from vaultswitch.vault.core.base import ServiceCore
from vaultswitch.vault.core.errors import BadRequest, Conflict, VaultApiError
from vaultswitch.vault.core.models import AuditContext
from vaultswitch.vault.core.store import as_utc, utcnow
from vaultswitch.vault.core.store import routes as route_table

#: Per vault; a route document (its attributes as JSON) at most this many bytes.
MAX_ROUTES_PER_VAULT = 500
MAX_ROUTE_BYTES = 262_144

ROUTE_CREATE = "admin.route.create"
ROUTE_UPDATE = "admin.route.update"
ROUTE_DELETE = "admin.route.delete"

_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


class RouteNotFoundError(VaultApiError):
    default_status = 404
    default_title = "Not found"
    default_code = "ROUTE_NOT_FOUND"


@dataclass(frozen=True, slots=True)
class StoredRoute:
    """A route as the vault keeps it: its id, its attributes (without id and times), times."""

    route_id: str
    document: dict[str, Any]
    created_at: datetime
    updated_at: datetime


def check_route_id(route_id: str) -> str:
    """The canonical form of a route id (a UUID); BadRequest INVALID_ROUTE otherwise."""
    if len(route_id) <= 45:
        try:
            return str(uuid.UUID(route_id))
        except ValueError:
            pass
    raise BadRequest("the route id must be a UUID", code="INVALID_ROUTE")


def _encode(document: Mapping[str, Any]) -> str:
    try:
        text = _ENCODE(dict(document))
    except (TypeError, ValueError):
        raise BadRequest("the route is not a JSON document", code="INVALID_ROUTE") from None
    if len(text.encode("utf-8", "surrogatepass")) > MAX_ROUTE_BYTES:
        raise BadRequest(
            f"the route is larger than {MAX_ROUTE_BYTES} bytes", code="ROUTE_TOO_LARGE"
        )
    return text


def _stored(row: Row[Any]) -> StoredRoute:
    created, updated = as_utc(row.created_at), as_utc(row.updated_at)
    assert created is not None
    assert updated is not None
    return StoredRoute(row.id, json.loads(row.document), created, updated)


_SEL = sa.select(route_table).where(
    route_table.c.vault_id == sa.bindparam("vid"), route_table.c.id == sa.bindparam("rid")
)
_LIST = (
    sa.select(route_table)
    .where(route_table.c.vault_id == sa.bindparam("vid"))
    .order_by(route_table.c.created_at, route_table.c.id)
)
_COUNT = (
    sa.select(sa.func.count())
    .select_from(route_table)
    .where(route_table.c.vault_id == sa.bindparam("vid"))
)


class RoutesMixin(ServiceCore):
    """``list_routes``, ``get_route``, ``create_route``, ``put_route``, ``apply_routes``,
    ``delete_route``."""

    def list_routes(self, vault_id: str) -> list[StoredRoute]:
        """The vault's routes, oldest first (the order the proxies try them in)."""
        with self._read() as conn:
            self._vault(conn, vault_id)
            return [_stored(row) for row in conn.execute(_LIST, {"vid": vault_id})]

    def get_route(self, vault_id: str, route_id: str) -> StoredRoute:
        rid = check_route_id(route_id)
        with self._read() as conn:
            self._vault(conn, vault_id)
            row = conn.execute(_SEL, {"vid": vault_id, "rid": rid}).first()
        if row is None:
            raise RouteNotFoundError(f"route {rid} not found in vault {vault_id}")
        return _stored(row)

    def create_route(
        self,
        vault_id: str,
        document: Mapping[str, Any],
        ctx: AuditContext,
        route_id: str | None = None,
    ) -> StoredRoute:
        """A new route (a new random id unless ``route_id``; Conflict if that one exists)."""
        rid = check_route_id(route_id) if route_id is not None else str(uuid.uuid4())
        text = _encode(document)

        def run(conn: Connection) -> StoredRoute:
            self._vault(conn, vault_id, lock=True)
            if conn.execute(_SEL, {"vid": vault_id, "rid": rid}).first() is not None:
                raise Conflict(f"route {rid} already exists", code="ROUTE_EXISTS")
            return self._write(conn, vault_id, rid, text, ctx, existing=None)

        return self._run(run)

    def put_route(
        self, vault_id: str, route_id: str, document: Mapping[str, Any], ctx: AuditContext
    ) -> tuple[StoredRoute, bool]:
        """Replace the route with this id, or create it with this id; (route, created)."""
        (result,) = self.apply_routes(vault_id, [(route_id, document)], ctx)
        return result

    def apply_routes(
        self,
        vault_id: str,
        changes: Sequence[tuple[str | None, Mapping[str, Any]]],
        ctx: AuditContext,
    ) -> list[tuple[StoredRoute, bool]]:
        """Several routes in one transaction: all are written or none. A change with an id
        replaces that route (or creates it with that id), one without creates a route with
        a new id. Returns (route, created) per change, in order."""
        prepared = [
            (check_route_id(rid) if rid is not None else None, _encode(doc)) for rid, doc in changes
        ]

        def run(conn: Connection) -> list[tuple[StoredRoute, bool]]:
            self._vault(conn, vault_id, lock=True)
            results = []
            for rid, text in prepared:
                existing = None
                if rid is not None:
                    existing = conn.execute(_SEL, {"vid": vault_id, "rid": rid}).first()
                route = self._write(
                    conn, vault_id, rid or str(uuid.uuid4()), text, ctx, existing=existing
                )
                results.append((route, existing is None))
            return results

        return self._run(run)

    def delete_route(self, vault_id: str, route_id: str, ctx: AuditContext) -> None:
        rid = check_route_id(route_id)

        def run(conn: Connection) -> None:
            self._vault(conn, vault_id, lock=True)
            deleted = conn.execute(
                route_table.delete().where(
                    route_table.c.vault_id == vault_id, route_table.c.id == rid
                )
            ).rowcount
            if not deleted:
                raise RouteNotFoundError(f"route {rid} not found in vault {vault_id}")
            self._insert_audit(
                conn, [audit_row(ctx, utcnow(), vault_id, ROUTE_DELETE, None, detail=rid)]
            )

        self._run(run)

    def _write(
        self,
        conn: Connection,
        vault_id: str,
        rid: str,
        text: str,
        ctx: AuditContext,
        *,
        existing: Row[Any] | None,
    ) -> StoredRoute:
        now = utcnow()
        if existing is None:
            count = conn.execute(_COUNT, {"vid": vault_id}).scalar_one()
            if count >= MAX_ROUTES_PER_VAULT:
                raise Conflict(
                    f"vault {vault_id} has {MAX_ROUTES_PER_VAULT} routes already (the limit)",
                    code="TOO_MANY_ROUTES",
                )
            conn.execute(
                route_table.insert().values(
                    vault_id=vault_id, id=rid, document=text, created_at=now, updated_at=now
                )
            )
            created = now
        else:
            conn.execute(
                route_table.update()
                .where(route_table.c.vault_id == vault_id, route_table.c.id == rid)
                .values(document=text, updated_at=now)
            )
            created_at = as_utc(existing.created_at)
            assert created_at is not None
            created = created_at
        action = ROUTE_CREATE if existing is None else ROUTE_UPDATE
        self._insert_audit(conn, [audit_row(ctx, now, vault_id, action, None, detail=rid)])
        return StoredRoute(rid, json.loads(text), created, now)
