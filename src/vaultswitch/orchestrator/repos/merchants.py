"""Merchant accounts, each created with its default profile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from vaultswitch.orchestrator import ids
from vaultswitch.orchestrator.db import as_utc, utcnow
from vaultswitch.orchestrator.schema import merchants

from . import profiles as profiles_repo

DEFAULT_PROFILE_NAME = "default"


@dataclass(frozen=True, slots=True)
class Merchant:
    id: str
    merchant_name: str
    organization_id: str
    publishable_key: str
    default_profile_id: str
    metadata: dict[str, Any] | None
    created_at: datetime
    modified_at: datetime


def _record(row: Any) -> Merchant:
    return Merchant(
        id=row.id,
        merchant_name=row.merchant_name,
        organization_id=row.organization_id,
        publishable_key=row.publishable_key,
        default_profile_id=row.default_profile_id,
        metadata=row.metadata,
        created_at=as_utc(row.created_at),  # type: ignore[arg-type]
        modified_at=as_utc(row.modified_at),  # type: ignore[arg-type]
    )


def create(
    conn: Connection,
    merchant_name: str,
    *,
    metadata: dict[str, Any] | None = None,
    organization_id: str | None = None,
) -> Merchant:
    """Insert a merchant and its default profile (one transaction)."""
    now = utcnow()
    merchant_id = ids.merchant_id(merchant_name)
    conn.execute(
        merchants.insert().values(
            id=merchant_id,
            merchant_name=merchant_name,
            organization_id=organization_id or ids.organization_id(),
            publishable_key=ids.publishable_key(),
            default_profile_id=None,
            metadata=metadata,
            created_at=now,
            modified_at=now,
        )
    )
    profile = profiles_repo.create(conn, merchant_id, DEFAULT_PROFILE_NAME)
    conn.execute(
        merchants.update()
        .where(merchants.c.id == merchant_id)
        .values(default_profile_id=profile.id)
    )
    found = get(conn, merchant_id)
    assert found is not None
    return found


# built once: building a statement per call costs more than running it (~100 µs)
_BY_ID = sa.select(merchants).where(merchants.c.id == sa.bindparam("merchant_id"))


def get(conn: Connection, merchant_id: str) -> Merchant | None:
    row = conn.execute(_BY_ID, {"merchant_id": merchant_id}).first()
    return None if row is None else _record(row)
