"""Card imports: the rows that created a payment method, customers found by the merchant's
reference (ids only, no PII opened), and the payment method of a customer that holds an
alias."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from vaultswitch.orchestrator.db import utcnow
from vaultswitch.orchestrator.schema import (
    customers,
    payment_method_aliases,
    payment_method_imports,
    payment_methods,
)


@dataclass(frozen=True, slots=True)
class Replay:
    """A row of an import that created a payment method (which still exists)."""

    payment_method_id: str
    customer_id: str
    reason: str | None


def replayed(
    conn: Connection, merchant_id: str, import_id: str, rows: Iterable[int]
) -> dict[int, Replay]:
    """The rows of this import that created a payment method that still exists."""
    wanted = sorted(set(rows))
    if not wanted:
        return {}
    query = (
        sa.select(
            payment_method_imports.c.row_number,
            payment_method_imports.c.reason,
            payment_methods.c.id,
            payment_methods.c.customer_id,
        )
        .select_from(
            payment_method_imports.join(
                payment_methods,
                sa.and_(
                    payment_methods.c.id == payment_method_imports.c.payment_method_id,
                    payment_methods.c.merchant_id == payment_method_imports.c.merchant_id,
                ),
            )
        )
        .where(
            payment_method_imports.c.merchant_id == merchant_id,
            payment_method_imports.c.import_id == import_id,
            payment_method_imports.c.row_number.in_(wanted),
        )
    )
    return {
        int(r.row_number): Replay(str(r.id), str(r.customer_id), r.reason)
        for r in conn.execute(query)
    }


def record(
    conn: Connection, merchant_id: str, import_id: str, row: int, pm_id: str, reason: str | None
) -> None:
    """Remember that this row of this import created ``pm_id``, and what it was answered."""
    try:
        with conn.begin_nested():
            conn.execute(
                payment_method_imports.insert().values(
                    merchant_id=merchant_id,
                    import_id=import_id,
                    row_number=row,
                    payment_method_id=pm_id,
                    reason=reason,
                    created_at=utcnow(),
                )
            )
    except IntegrityError:
        conn.execute(
            payment_method_imports.update()
            .where(
                payment_method_imports.c.merchant_id == merchant_id,
                payment_method_imports.c.import_id == import_id,
                payment_method_imports.c.row_number == row,
            )
            .values(payment_method_id=pm_id, reason=reason, created_at=utcnow())
        )


def customer_ids(conn: Connection, merchant_id: str, references: Iterable[str]) -> dict[str, str]:
    """merchant_reference_id -> customer id, for those that exist."""
    wanted = sorted(set(references))
    if not wanted:
        return {}
    rows = conn.execute(
        sa.select(customers.c.merchant_reference_id, customers.c.id).where(
            customers.c.merchant_id == merchant_id,
            customers.c.merchant_reference_id.in_(wanted),
        )
    )
    return {str(r.merchant_reference_id): str(r.id) for r in rows}


def holding_alias(
    conn: Connection, merchant_id: str, customer_id: str, alias_ref: str
) -> str | None:
    """The id of a payment method of this customer that holds the alias (by its ref)."""
    row = conn.execute(
        sa.select(payment_methods.c.id)
        .select_from(
            payment_method_aliases.join(
                payment_methods, payment_methods.c.id == payment_method_aliases.c.payment_method_id
            )
        )
        .where(
            payment_method_aliases.c.alias_ref == alias_ref,
            payment_methods.c.merchant_id == merchant_id,
            payment_methods.c.customer_id == customer_id,
        )
        .order_by(payment_methods.c.created_at)
        .limit(1)
    ).first()
    return None if row is None else str(row.id)
