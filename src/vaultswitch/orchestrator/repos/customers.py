"""Customers. Name, email and phone are PII: sealed at rest (AES-256-GCM, associated data
= customer id + field), opened only to build a response; never logged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from vaultswitch.orchestrator import ids
from vaultswitch.orchestrator.crypto import Keyring
from vaultswitch.orchestrator.db import as_utc, utcnow
from vaultswitch.orchestrator.errors import duplicate
from vaultswitch.orchestrator.schema import customers

_PII = ("name", "email", "phone")


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    merchant_id: str
    merchant_reference_id: str | None
    name: str | None
    email: str | None
    phone: str | None
    phone_country_code: str | None
    description: str | None
    metadata: dict[str, Any] | None
    created_at: datetime
    modified_at: datetime

    def __repr__(self) -> str:  # PII stays out of reprs and tracebacks
        return f"Customer(id={self.id!r}, merchant_reference_id={self.merchant_reference_id!r})"


def _aad(customer_id: str, field: str) -> str:
    return f"customer:{customer_id}:{field}"


def _record(row: Any, keyring: Keyring) -> Customer:
    opened = {
        name: keyring.open_text(getattr(row, f"{name}_sealed"), _aad(row.id, name)) for name in _PII
    }
    return Customer(
        id=row.id,
        merchant_id=row.merchant_id,
        merchant_reference_id=row.merchant_reference_id,
        phone_country_code=row.phone_country_code,
        description=row.description,
        metadata=row.metadata,
        created_at=as_utc(row.created_at),  # type: ignore[arg-type]
        modified_at=as_utc(row.modified_at),  # type: ignore[arg-type]
        **opened,
    )


def create(
    conn: Connection,
    keyring: Keyring,
    merchant_id: str,
    cell_id: str,
    *,
    name: str | None,
    email: str | None,
    phone: str | None = None,
    merchant_reference_id: str | None = None,
    phone_country_code: str | None = None,
    description: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Customer:
    customer_id = ids.global_id(cell_id, "cus")
    now = utcnow()
    values = {"name": name, "email": email, "phone": phone}
    sealed = {
        f"{field}_sealed": keyring.seal_text(value, _aad(customer_id, field))
        for field, value in values.items()
    }
    try:
        with conn.begin_nested():
            conn.execute(
                customers.insert().values(
                    id=customer_id,
                    merchant_id=merchant_id,
                    merchant_reference_id=merchant_reference_id,
                    phone_country_code=phone_country_code,
                    description=description,
                    metadata=metadata,
                    created_at=now,
                    modified_at=now,
                    **sealed,
                )
            )
    except IntegrityError:
        raise duplicate(
            "customer",
            code="IR_12",
            field="merchant_reference_id",
            hint="merchant_reference_id is unique per merchant; fetch the existing customer "
            "with GET /v2/customers/reference/{merchant_reference_id}.",
        ) from None
    found = get(conn, keyring, merchant_id, customer_id)
    assert found is not None
    return found


def get(conn: Connection, keyring: Keyring, merchant_id: str, customer_id: str) -> Customer | None:
    row = conn.execute(
        sa.select(customers).where(
            customers.c.id == customer_id, customers.c.merchant_id == merchant_id
        )
    ).first()
    return None if row is None else _record(row, keyring)


# built once: building a statement per call costs more than running it (~100 µs)
_EXISTS = sa.select(customers.c.id).where(
    customers.c.id == sa.bindparam("customer_id"),
    customers.c.merchant_id == sa.bindparam("merchant_id"),
)


def exists(conn: Connection, merchant_id: str, customer_id: str) -> bool:
    """Whether the merchant has this customer (no PII is opened)."""
    row = conn.execute(_EXISTS, {"customer_id": customer_id, "merchant_id": merchant_id}).first()
    return row is not None


def get_by_reference(
    conn: Connection, keyring: Keyring, merchant_id: str, reference: str
) -> Customer | None:
    row = conn.execute(
        sa.select(customers).where(
            customers.c.merchant_reference_id == reference,
            customers.c.merchant_id == merchant_id,
        )
    ).first()
    return None if row is None else _record(row, keyring)


def list_for_merchant(
    conn: Connection, keyring: Keyring, merchant_id: str, *, limit: int, offset: int
) -> list[Customer]:
    rows = conn.execute(
        sa.select(customers)
        .where(customers.c.merchant_id == merchant_id)
        .order_by(customers.c.created_at.desc(), customers.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_record(row, keyring) for row in rows]


def count_for_merchant(conn: Connection, merchant_id: str) -> int:
    value = conn.execute(
        sa.select(sa.func.count())
        .select_from(customers)
        .where(customers.c.merchant_id == merchant_id)
    ).scalar_one()
    return int(value)
