"""Merchant API keys: stored as an HMAC-SHA256 hash (see Keyring.hash_api_key) and a
display prefix; the plaintext exists only in the create response."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from vaultswitch.orchestrator import ids
from vaultswitch.orchestrator.db import as_utc, utcnow
from vaultswitch.orchestrator.schema import api_keys


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    merchant_id: str
    name: str
    description: str | None
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def usable(self, now: datetime) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now


def _record(row: Any) -> ApiKey:
    return ApiKey(
        key_id=row.key_id,
        merchant_id=row.merchant_id,
        name=row.name,
        description=row.description,
        prefix=row.prefix,
        created_at=as_utc(row.created_at),  # type: ignore[arg-type]
        expires_at=as_utc(row.expires_at),
        revoked_at=as_utc(row.revoked_at),
    )


def create(
    conn: Connection,
    merchant_id: str,
    *,
    name: str,
    description: str | None,
    expires_at: datetime | None,
    plaintext: str,
    key_hash: str,
) -> ApiKey:
    key_id = ids.prefixed_id("key")
    conn.execute(
        api_keys.insert().values(
            key_id=key_id,
            merchant_id=merchant_id,
            name=name,
            description=description,
            prefix=ids.api_key_display_prefix(plaintext),
            key_hash=key_hash,
            created_at=utcnow(),
            expires_at=expires_at,
            revoked_at=None,
        )
    )
    found = get(conn, merchant_id, key_id)
    assert found is not None
    return found


def get(conn: Connection, merchant_id: str, key_id: str) -> ApiKey | None:
    """A live (not revoked) key of this merchant."""
    row = conn.execute(
        sa.select(api_keys).where(
            api_keys.c.key_id == key_id,
            api_keys.c.merchant_id == merchant_id,
            api_keys.c.revoked_at.is_(None),
        )
    ).first()
    return None if row is None else _record(row)


def list_for_merchant(conn: Connection, merchant_id: str, *, limit: int, skip: int) -> list[ApiKey]:
    rows = conn.execute(
        sa.select(api_keys)
        .where(api_keys.c.merchant_id == merchant_id, api_keys.c.revoked_at.is_(None))
        .order_by(api_keys.c.created_at, api_keys.c.key_id)
        .limit(limit)
        .offset(skip)
    )
    return [_record(row) for row in rows]


def update(
    conn: Connection, merchant_id: str, key_id: str, changes: dict[str, object]
) -> ApiKey | None:
    """Change name / description / expires_at of a live key; None if there is none."""
    if changes:
        conn.execute(
            api_keys.update()
            .where(
                api_keys.c.key_id == key_id,
                api_keys.c.merchant_id == merchant_id,
                api_keys.c.revoked_at.is_(None),
            )
            .values(**changes)
        )
    return get(conn, merchant_id, key_id)


def revoke(conn: Connection, merchant_id: str, key_id: str) -> bool:
    result = conn.execute(
        api_keys.update()
        .where(
            api_keys.c.key_id == key_id,
            api_keys.c.merchant_id == merchant_id,
            api_keys.c.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    return result.rowcount > 0


# built once: building a statement per call costs more than running it (~100 µs)
_BY_HASH = sa.select(api_keys).where(api_keys.c.key_hash == sa.bindparam("key_hash"))


def find_by_hash(conn: Connection, key_hash: str) -> ApiKey | None:
    """The key with this hash, revoked or not (the caller decides what is usable)."""
    row = conn.execute(_BY_HASH, {"key_hash": key_hash}).first()
    return None if row is None else _record(row)
