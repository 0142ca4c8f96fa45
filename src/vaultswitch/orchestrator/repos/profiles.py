"""Business profiles: the vault settings (external vault on/off, which connector account)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from vaultswitch.orchestrator import ids
from vaultswitch.orchestrator.db import as_utc, utcnow
from vaultswitch.orchestrator.errors import duplicate
from vaultswitch.orchestrator.schema import profiles

UPDATABLE = frozenset(
    {
        "profile_name",
        "return_url",
        "metadata",
        "is_external_vault_enabled",
        "external_vault_connector_details",
    }
)


@dataclass(frozen=True, slots=True)
class Profile:
    id: str
    merchant_id: str
    profile_name: str
    return_url: str | None
    metadata: dict[str, Any] | None
    is_external_vault_enabled: bool
    external_vault_connector_details: dict[str, Any] | None
    created_at: datetime
    modified_at: datetime

    @property
    def vault_connector_id(self) -> str | None:
        """The vault connector account cards go to, when the external vault is enabled."""
        if not self.is_external_vault_enabled or not self.external_vault_connector_details:
            return None
        value = self.external_vault_connector_details.get("vault_connector_id")
        return value if isinstance(value, str) else None

    @property
    def multi_token(self) -> bool:
        details = self.external_vault_connector_details or {}
        return bool(details.get("multi_token"))


def _record(row: Any) -> Profile:
    return Profile(
        id=row.id,
        merchant_id=row.merchant_id,
        profile_name=row.profile_name,
        return_url=row.return_url,
        metadata=row.metadata,
        is_external_vault_enabled=bool(row.is_external_vault_enabled),
        external_vault_connector_details=row.external_vault_connector_details,
        created_at=as_utc(row.created_at),  # type: ignore[arg-type]
        modified_at=as_utc(row.modified_at),  # type: ignore[arg-type]
    )


def _duplicate_name() -> Exception:
    return duplicate(
        "profile",
        field="profile_name",
        hint="Profile names are unique per merchant; choose another profile_name.",
    )


def create(
    conn: Connection,
    merchant_id: str,
    profile_name: str,
    *,
    return_url: str | None = None,
    metadata: dict[str, Any] | None = None,
    is_external_vault_enabled: bool = False,
    external_vault_connector_details: dict[str, Any] | None = None,
) -> Profile:
    now = utcnow()
    profile_id = ids.prefixed_id("pro")
    try:
        with conn.begin_nested():
            conn.execute(
                profiles.insert().values(
                    id=profile_id,
                    merchant_id=merchant_id,
                    profile_name=profile_name,
                    return_url=return_url,
                    metadata=metadata,
                    is_external_vault_enabled=is_external_vault_enabled,
                    external_vault_connector_details=external_vault_connector_details,
                    created_at=now,
                    modified_at=now,
                )
            )
    except IntegrityError:
        raise _duplicate_name() from None
    found = get(conn, merchant_id, profile_id)
    assert found is not None
    return found


# built once: building a statement per call costs more than running it (~100 µs)
_BY_ID = sa.select(profiles).where(
    profiles.c.id == sa.bindparam("profile_id"),
    profiles.c.merchant_id == sa.bindparam("merchant_id"),
)


def get(conn: Connection, merchant_id: str, profile_id: str) -> Profile | None:
    """The profile, only if it belongs to ``merchant_id``."""
    row = conn.execute(_BY_ID, {"profile_id": profile_id, "merchant_id": merchant_id}).first()
    return None if row is None else _record(row)


def list_for_merchant(conn: Connection, merchant_id: str) -> list[Profile]:
    rows = conn.execute(
        sa.select(profiles)
        .where(profiles.c.merchant_id == merchant_id)
        .order_by(profiles.c.created_at, profiles.c.id)
    )
    return [_record(row) for row in rows]


def update(
    conn: Connection, merchant_id: str, profile_id: str, changes: Mapping[str, Any]
) -> Profile | None:
    """Apply ``changes`` (keys from UPDATABLE); None if there is no such profile."""
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    values = {**changes, "modified_at": utcnow()}
    try:
        with conn.begin_nested():
            result = conn.execute(
                profiles.update()
                .where(profiles.c.id == profile_id, profiles.c.merchant_id == merchant_id)
                .values(**values)
            )
    except IntegrityError:
        raise _duplicate_name() from None
    if result.rowcount == 0:
        return None
    return get(conn, merchant_id, profile_id)


def referencing_connector(conn: Connection, merchant_id: str, connector_id: str) -> list[str]:
    """Ids of this merchant's profiles whose external vault is ``connector_id``."""
    return [
        p.id for p in list_for_merchant(conn, merchant_id) if p.vault_connector_id == connector_id
    ]
