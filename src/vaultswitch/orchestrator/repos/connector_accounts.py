"""Connector accounts (Hyperswitch "merchant connector accounts"): vault and processor
accounts of a profile. Credentials and metadata are one sealed blob (``secrets_sealed``,
associated data = the account id); this module never opens it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from vaultswitch.orchestrator.db import as_utc, utcnow
from vaultswitch.orchestrator.errors import duplicate
from vaultswitch.orchestrator.schema import connector_accounts

VAULT_PROCESSOR = "vault_processor"
PAYMENT_PROCESSOR = "payment_processor"
ACTIVE = "active"
INACTIVE = "inactive"

UPDATABLE = frozenset(
    {
        "connector_label",
        "auth_type",
        "secrets_sealed",
        "disabled",
        "status",
        "verification",
        "verified_at",
    }
)


@dataclass(frozen=True, slots=True)
class ConnectorAccount:
    id: str
    merchant_id: str
    profile_id: str
    connector_type: str
    connector_name: str
    connector_label: str
    auth_type: str
    secrets_sealed: bytes
    disabled: bool
    status: str
    verification: dict[str, Any] | None
    verified_at: datetime | None
    created_at: datetime
    modified_at: datetime

    def __repr__(self) -> str:
        return (
            f"ConnectorAccount(id={self.id!r}, connector={self.connector_name!r}, "
            f"status={self.status!r})"
        )

    @property
    def usable(self) -> bool:
        """Active and not disabled: payments and payment methods may use it."""
        return self.status == ACTIVE and not self.disabled


def _record(row: Any) -> ConnectorAccount:
    return ConnectorAccount(
        id=row.id,
        merchant_id=row.merchant_id,
        profile_id=row.profile_id,
        connector_type=row.connector_type,
        connector_name=row.connector_name,
        connector_label=row.connector_label,
        auth_type=row.auth_type,
        secrets_sealed=bytes(row.secrets_sealed),
        disabled=bool(row.disabled),
        status=row.status,
        verification=row.verification,
        verified_at=as_utc(row.verified_at),
        created_at=as_utc(row.created_at),  # type: ignore[arg-type]
        modified_at=as_utc(row.modified_at),  # type: ignore[arg-type]
    )


def _duplicate_label() -> Exception:
    return duplicate(
        "connector account",
        field="connector_label",
        hint="connector_label is unique per profile; choose another label or update the "
        "existing account with PUT /v2/connector-accounts/{id}.",
    )


def create(conn: Connection, values: Mapping[str, Any]) -> ConnectorAccount:
    """Insert an account; ``values`` holds every column except the timestamps."""
    now = utcnow()
    try:
        with conn.begin_nested():
            conn.execute(
                connector_accounts.insert().values(**values, created_at=now, modified_at=now)
            )
    except IntegrityError:
        raise _duplicate_label() from None
    found = get(conn, values["merchant_id"], values["id"])
    assert found is not None
    return found


# built once: building a statement per call costs more than running it (~100 µs)
_BY_ID = sa.select(connector_accounts).where(
    connector_accounts.c.id == sa.bindparam("account_id"),
    connector_accounts.c.merchant_id == sa.bindparam("merchant_id"),
)
_FOR_PROFILE = (
    sa.select(connector_accounts)
    .where(
        connector_accounts.c.merchant_id == sa.bindparam("merchant_id"),
        connector_accounts.c.profile_id == sa.bindparam("profile_id"),
    )
    .order_by(connector_accounts.c.created_at, connector_accounts.c.id)
)


def get(conn: Connection, merchant_id: str, account_id: str) -> ConnectorAccount | None:
    """The account, only if it belongs to ``merchant_id``."""
    row = conn.execute(_BY_ID, {"account_id": account_id, "merchant_id": merchant_id}).first()
    return None if row is None else _record(row)


def list_for_profile(conn: Connection, merchant_id: str, profile_id: str) -> list[ConnectorAccount]:
    rows = conn.execute(_FOR_PROFILE, {"merchant_id": merchant_id, "profile_id": profile_id})
    return [_record(row) for row in rows]


def update(
    conn: Connection, merchant_id: str, account_id: str, changes: Mapping[str, Any]
) -> ConnectorAccount | None:
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    try:
        with conn.begin_nested():
            result = conn.execute(
                connector_accounts.update()
                .where(
                    connector_accounts.c.id == account_id,
                    connector_accounts.c.merchant_id == merchant_id,
                )
                .values(**changes, modified_at=utcnow())
            )
    except IntegrityError:
        raise _duplicate_label() from None
    if result.rowcount == 0:
        return None
    return get(conn, merchant_id, account_id)


def delete(conn: Connection, merchant_id: str, account_id: str) -> bool:
    result = conn.execute(
        connector_accounts.delete().where(
            connector_accounts.c.id == account_id,
            connector_accounts.c.merchant_id == merchant_id,
        )
    )
    return result.rowcount > 0
