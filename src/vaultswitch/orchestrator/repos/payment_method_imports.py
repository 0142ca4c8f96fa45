"""Card imports: the rows that created a payment method, customers found by the merchant's
reference (ids only, no PII opened), and the payment method of a customer that holds an
alias; and the same for a whole batch at once (one statement per table), sealing rows
exactly as the customers and payment methods repos do (their associated-data functions)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from vaultswitch.orchestrator import ids
from vaultswitch.orchestrator.crypto import Keyring
from vaultswitch.orchestrator.db import utcnow
from vaultswitch.orchestrator.repos.customers import _aad as customer_aad
from vaultswitch.orchestrator.repos.payment_methods import NewPaymentMethod
from vaultswitch.orchestrator.repos.payment_methods import _aad as pm_aad
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


# --- a batch at once (one statement per table) ----------------------------------------------


def create_customers(
    conn: Connection,
    keyring: Keyring,
    merchant_id: str,
    cell_id: str,
    wanted: Mapping[str, tuple[str | None, str | None]],
) -> dict[str, str]:
    """Create a customer (name, email sealed as the customers repo does) for every
    reference of ``wanted`` (reference -> (name, email)); IntegrityError when one exists."""
    if not wanted:
        return {}
    now = utcnow()
    created: dict[str, str] = {}
    values = []
    for reference, (name, email) in sorted(wanted.items()):  # one lock order for all
        customer_id = ids.global_id(cell_id, "cus")
        created[reference] = customer_id
        sealed = {
            f"{field}_sealed": keyring.seal_text(value, customer_aad(customer_id, field))
            for field, value in (("name", name), ("email", email), ("phone", None))
        }
        values.append(
            {
                "id": customer_id,
                "merchant_id": merchant_id,
                "merchant_reference_id": reference,
                "phone_country_code": None,
                "description": None,
                "metadata": None,
                "created_at": now,
                "modified_at": now,
                **sealed,
            }
        )
    conn.execute(customers.insert(), values)
    return created


def holders(
    conn: Connection, merchant_id: str, alias_refs: Iterable[str]
) -> dict[tuple[str, str], str]:
    """(customer id, alias ref) -> the first payment method of that customer holding it."""
    wanted = sorted(set(alias_refs))
    if not wanted:
        return {}
    rows = conn.execute(
        sa.select(
            payment_methods.c.id, payment_methods.c.customer_id, payment_method_aliases.c.alias_ref
        )
        .select_from(
            payment_method_aliases.join(
                payment_methods, payment_methods.c.id == payment_method_aliases.c.payment_method_id
            )
        )
        .where(
            payment_method_aliases.c.alias_ref.in_(wanted),
            payment_methods.c.merchant_id == merchant_id,
        )
        .order_by(payment_methods.c.created_at.desc())
    )
    return {(str(r.customer_id), str(r.alias_ref)): str(r.id) for r in rows}


def with_fingerprints(
    conn: Connection, merchant_id: str, fingerprints: Iterable[str]
) -> dict[tuple[str, str], str]:
    """(customer id, fingerprint) -> payment method id."""
    wanted = sorted(set(fingerprints))
    if not wanted:
        return {}
    rows = conn.execute(
        sa.select(
            payment_methods.c.id, payment_methods.c.customer_id, payment_methods.c.fingerprint
        ).where(
            payment_methods.c.merchant_id == merchant_id,
            payment_methods.c.fingerprint.in_(wanted),
        )
    )
    return {(str(r.customer_id), str(r.fingerprint)): str(r.id) for r in rows}


def insert_payment_methods(
    conn: Connection,
    keyring: Keyring,
    news: Sequence[tuple[NewPaymentMethod, Iterable[str]]],
) -> None:
    """Insert payment methods and the alias refs they hold, sealed as the payment methods
    repo does (IntegrityError when a fingerprint is taken)."""
    if not news:
        return
    now = utcnow()
    rows: list[dict[str, object]] = []
    aliases: list[dict[str, str]] = []
    # one lock order (the unique customer + fingerprint index) for concurrent batches
    ordered = sorted(news, key=lambda item: (item[0].customer_id, item[0].fingerprint or ""))
    for new, refs in ordered:
        display = new.display
        rows.append(
            {
                "id": new.id,
                "merchant_id": new.merchant_id,
                "customer_id": new.customer_id,
                "profile_id": new.profile_id,
                "payment_method_type": new.payment_method_type,
                "payment_method_subtype": new.payment_method_subtype,
                "token_mode": new.vault_ids.mode,
                "vault_connector_id": new.vault_connector_id,
                "vault_ids_sealed": keyring.seal_json(
                    new.vault_ids.to_json(), pm_aad(new.id, "vault_ids")
                ),
                "fingerprint": new.fingerprint,
                "card_isin": display.card_isin,
                "last4_digits": display.last4_digits,
                "card_network": display.card_network,
                "card_type": display.card_type,
                "card_issuer": display.card_issuer,
                "issuer_country": display.issuer_country,
                "expiry_month": display.expiry_month,
                "expiry_year": display.expiry_year,
                "nick_name": display.nick_name,
                "card_holder_name_sealed": keyring.seal_text(
                    display.card_holder_name, pm_aad(new.id, "card_holder_name")
                ),
                "cvc_expires_at": new.cvc_expires_at,
                "metadata": new.metadata,
                "last_used_at": None,
                "created_at": now,
                "modified_at": now,
            }
        )
        aliases.extend({"payment_method_id": new.id, "alias_ref": ref} for ref in sorted(set(refs)))
    conn.execute(payment_methods.insert(), rows)
    if aliases:
        conn.execute(payment_method_aliases.insert(), aliases)


def record_many(
    conn: Connection,
    merchant_id: str,
    import_id: str,
    created: Sequence[tuple[int, str, str | None]],
) -> None:
    """Remember the rows (row, payment method id, reason) of this import that created a
    payment method (IntegrityError when one is recorded already)."""
    if not created:
        return
    now = utcnow()
    conn.execute(
        payment_method_imports.insert(),
        [
            {
                "merchant_id": merchant_id,
                "import_id": import_id,
                "row_number": row,
                "payment_method_id": pm_id,
                "reason": reason,
                "created_at": now,
            }
            for row, pm_id, reason in created
        ],
    )
