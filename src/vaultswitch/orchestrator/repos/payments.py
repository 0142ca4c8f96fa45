"""Payments and their idempotency keys.

A payment row is Hyperswitch's intent and its one attempt together. ``attempt_state``
records what the processor may know about the attempt:

- ``none``: not confirmed yet (an intent waiting for a payment method);
- ``started``: a request holds the lease and is running the attempt; the processor may
  already have received it;
- ``not_authorized``: the attempt ended before the processor authorized anything (a vault
  error, the processor unreachable before a byte was sent, the processor refusing the
  request); the payment is ``failed`` and a retry with the same Idempotency-Key runs it again;
- ``unknown``: the request may have reached the processor but no usable answer came back;
  the payment is ``processing`` until a retry with the same Idempotency-Key asks again;
- ``completed``: the processor's answer is recorded (succeeded, declined or processing).

A running attempt holds a lease (``lease_token`` until ``lease_until``): writes of its
outcome only land while the token still matches, so a request that lost its lease (it
hung past the lease and another took over) cannot overwrite a newer outcome.
No card data is ever stored here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from vaultswitch.orchestrator.db import as_utc, utcnow
from vaultswitch.orchestrator.schema import payment_idempotency_keys, payments

# payment statuses (Hyperswitch's IntentStatus values used here)
REQUIRES_PAYMENT_METHOD = "requires_payment_method"
PROCESSING = "processing"
SUCCEEDED = "succeeded"
FAILED = "failed"
STATUSES = (REQUIRES_PAYMENT_METHOD, PROCESSING, SUCCEEDED, FAILED)

# attempt states
NONE = "none"
STARTED = "started"
NOT_AUTHORIZED = "not_authorized"
UNKNOWN = "unknown"
COMPLETED = "completed"
#: an attempt in one of these states may be run again (with the same processor key)
RERUNNABLE = (NOT_AUTHORIZED, UNKNOWN)

UPDATABLE = frozenset(
    {
        "status",
        "customer_id",
        "payment_method_id",
        "payment_method_type",
        "payment_method_subtype",
        "connector_id",
        "connector",
        "connector_transaction_id",
        "attempt_id",
        "attempt_state",
        "error_code",
        "error_message",
        "error_reason",
        "failure",
    }
)


@dataclass(frozen=True, slots=True)
class Payment:
    id: str
    merchant_id: str
    profile_id: str
    customer_id: str | None
    status: str
    amount: int
    currency: str
    merchant_reference_id: str | None
    description: str | None
    return_url: str | None
    metadata: dict[str, Any] | None
    payment_method_id: str | None
    payment_method_type: str | None
    payment_method_subtype: str | None
    connector_id: str | None
    connector: str | None
    connector_transaction_id: str | None
    attempt_id: str | None
    attempt_state: str
    attempt_count: int
    lease_token: str | None
    lease_until: datetime | None
    error_code: str | None
    error_message: str | None
    error_reason: str | None
    failure: dict[str, Any] | None
    created_at: datetime
    modified_at: datetime

    def __repr__(self) -> str:
        return f"Payment(id={self.id!r}, status={self.status!r}, attempt={self.attempt_state!r})"

    def leased(self, now: datetime) -> bool:
        """A request is running the attempt right now (its lease has not run out)."""
        return (
            self.attempt_state == STARTED
            and self.lease_until is not None
            and self.lease_until > now
        )


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    merchant_id: str
    idempotency_key: str
    request_hash: str
    operation: str
    payment_id: str
    created_at: datetime

    def __repr__(self) -> str:
        return f"IdempotencyKey(operation={self.operation!r}, payment_id={self.payment_id!r})"


def _record(row: Any) -> Payment:
    return Payment(
        id=row.id,
        merchant_id=row.merchant_id,
        profile_id=row.profile_id,
        customer_id=row.customer_id,
        status=row.status,
        amount=int(row.amount),
        currency=row.currency,
        merchant_reference_id=row.merchant_reference_id,
        description=row.description,
        return_url=row.return_url,
        metadata=row.metadata,
        payment_method_id=row.payment_method_id,
        payment_method_type=row.payment_method_type,
        payment_method_subtype=row.payment_method_subtype,
        connector_id=row.connector_id,
        connector=row.connector,
        connector_transaction_id=row.connector_transaction_id,
        attempt_id=row.attempt_id,
        attempt_state=row.attempt_state,
        attempt_count=int(row.attempt_count),
        lease_token=row.lease_token,
        lease_until=as_utc(row.lease_until),
        error_code=row.error_code,
        error_message=row.error_message,
        error_reason=row.error_reason,
        failure=row.failure,
        created_at=as_utc(row.created_at),  # type: ignore[arg-type]
        modified_at=as_utc(row.modified_at),  # type: ignore[arg-type]
    )


def _check(changes: Mapping[str, Any]) -> None:
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")


_INSERT = payments.insert()


def create(conn: Connection, values: Mapping[str, Any]) -> Payment:
    """Insert a payment; ``values`` holds the columns to set (timestamps and attempt
    bookkeeping default here)."""
    now = utcnow()
    row = {
        "attempt_state": NONE,
        "attempt_count": 0,
        "created_at": now,
        "modified_at": now,
        **values,
    }
    conn.execute(_INSERT, row)  # the statement is built once; values go as parameters
    found = get(conn, row["merchant_id"], row["id"])
    assert found is not None
    return found


# built once: building a statement per call costs more than running it (~100 µs)
_BY_ID = sa.select(payments).where(
    payments.c.id == sa.bindparam("payment_id"),
    payments.c.merchant_id == sa.bindparam("merchant_id"),
)


def get(conn: Connection, merchant_id: str, payment_id: str) -> Payment | None:
    """The payment, only if it belongs to ``merchant_id``."""
    row = conn.execute(_BY_ID, {"payment_id": payment_id, "merchant_id": merchant_id}).first()
    return None if row is None else _record(row)


def _filters(
    merchant_id: str,
    customer_id: str | None,
    statuses: Collection[str] | None,
    profile_id: str | None,
) -> list[Any]:
    where: list[Any] = [payments.c.merchant_id == merchant_id]
    if customer_id is not None:
        where.append(payments.c.customer_id == customer_id)
    if statuses:
        where.append(payments.c.status.in_(sorted(statuses)))
    if profile_id is not None:
        where.append(payments.c.profile_id == profile_id)
    return where


def list_for_merchant(
    conn: Connection,
    merchant_id: str,
    *,
    customer_id: str | None = None,
    statuses: Collection[str] | None = None,
    profile_id: str | None = None,
    limit: int,
    offset: int,
) -> list[Payment]:
    """Newest first (ids are time-ordered: they break ties of equal timestamps)."""
    rows = conn.execute(
        sa.select(payments)
        .where(*_filters(merchant_id, customer_id, statuses, profile_id))
        .order_by(payments.c.created_at.desc(), payments.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_record(row) for row in rows]


def count_for_merchant(
    conn: Connection,
    merchant_id: str,
    *,
    customer_id: str | None = None,
    statuses: Collection[str] | None = None,
    profile_id: str | None = None,
) -> int:
    value = conn.execute(
        sa.select(sa.func.count())
        .select_from(payments)
        .where(*_filters(merchant_id, customer_id, statuses, profile_id))
    ).scalar_one()
    return int(value)


def start_attempt(
    conn: Connection,
    merchant_id: str,
    payment_id: str,
    *,
    from_states: Collection[str],
    expected_token: str | None,
    token: str,
    until: datetime,
    changes: Mapping[str, Any] | None = None,
) -> bool:
    """Take the lease and mark the attempt ``started`` (status ``processing``), only if the
    attempt is in one of ``from_states`` and the lease token is still ``expected_token``
    (compare-and-set: of two concurrent takers exactly one wins)."""
    values = dict(changes or {})
    _check(values)
    token_matches = (
        payments.c.lease_token.is_(None)
        if expected_token is None
        else payments.c.lease_token == expected_token
    )
    result = conn.execute(
        payments.update()
        .where(
            payments.c.id == payment_id,
            payments.c.merchant_id == merchant_id,
            payments.c.attempt_state.in_(sorted(from_states)),
            token_matches,
        )
        .values(
            **values,
            status=PROCESSING,
            attempt_state=STARTED,
            attempt_count=payments.c.attempt_count + 1,
            lease_token=token,
            lease_until=until,
            modified_at=utcnow(),
        )
    )
    return result.rowcount == 1


#: built once (building it with .values() per call cost several times running it); SET
#: comes from the parameters
_FINISH = payments.update().where(
    payments.c.id == sa.bindparam("b_id"),
    payments.c.merchant_id == sa.bindparam("b_merchant_id"),
    payments.c.lease_token == sa.bindparam("b_token"),
)


def finish_attempt(
    conn: Connection,
    merchant_id: str,
    payment_id: str,
    token: str,
    changes: Mapping[str, Any],
) -> bool:
    """Record an attempt's outcome and give the lease back, if ``token`` still holds it.
    The lease token is kept (not cleared) so that a later taker compares against it."""
    _check(changes)
    params = {"b_id": payment_id, "b_merchant_id": merchant_id, "b_token": token}
    result = conn.execute(
        _FINISH, {**params, **changes, "lease_until": None, "modified_at": utcnow()}
    )
    return result.rowcount == 1


# --- idempotency keys ------------------------------------------------------------------------


def claim_key(
    conn: Connection,
    merchant_id: str,
    key: str,
    *,
    request_hash: str,
    operation: str,
    payment_id: str,
) -> bool:
    """Insert the key; False when this merchant already used it (the row is left as is)."""
    try:
        with conn.begin_nested():
            conn.execute(
                payment_idempotency_keys.insert().values(
                    merchant_id=merchant_id,
                    idempotency_key=key,
                    request_hash=request_hash,
                    operation=operation,
                    payment_id=payment_id,
                    created_at=utcnow(),
                )
            )
    except IntegrityError:
        return False
    return True


def find_key(conn: Connection, merchant_id: str, key: str) -> IdempotencyKey | None:
    row = conn.execute(
        sa.select(payment_idempotency_keys).where(
            payment_idempotency_keys.c.merchant_id == merchant_id,
            payment_idempotency_keys.c.idempotency_key == key,
        )
    ).first()
    if row is None:
        return None
    return IdempotencyKey(
        merchant_id=row.merchant_id,
        idempotency_key=row.idempotency_key,
        request_hash=row.request_hash,
        operation=row.operation,
        payment_id=row.payment_id,
        created_at=as_utc(row.created_at),  # type: ignore[arg-type]
    )
