"""Payment methods: the vault aliases of a card (sealed), its display metadata, its
fingerprint, and which aliases it holds (for deletes that leave shared aliases alone);
payment-method sessions.

The aliases and the holder name are sealed at rest (associated data = the payment method
id + field); the alias table holds only HMACs of (vault, alias).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from vaultswitch.orchestrator.crypto import Keyring
from vaultswitch.orchestrator.db import as_utc, utcnow
from vaultswitch.orchestrator.schema import (
    payment_method_aliases,
    payment_method_sessions,
    payment_methods,
)
from vaultswitch.orchestrator.vaulting import VaultIds


class FingerprintTaken(Exception):
    """Another payment method of this customer has the fingerprint (a concurrent save)."""


def _aad(pm_id: str, name: str) -> str:
    return f"payment_method:{pm_id}:{name}"


@dataclass(frozen=True, slots=True)
class CardDisplay:
    """What a response shows of a card (never the number)."""

    card_isin: str | None = None
    last4_digits: str | None = None
    card_network: str | None = None
    card_type: str | None = None
    card_issuer: str | None = None
    issuer_country: str | None = None
    expiry_month: str | None = None
    expiry_year: str | None = None
    nick_name: str | None = None
    card_holder_name: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class NewPaymentMethod:
    id: str
    merchant_id: str
    customer_id: str
    profile_id: str
    payment_method_type: str
    payment_method_subtype: str
    vault_connector_id: str
    vault_ids: VaultIds = field(repr=False)
    fingerprint: str | None
    display: CardDisplay
    cvc_expires_at: datetime | None
    metadata: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class PaymentMethod:
    id: str
    merchant_id: str
    customer_id: str
    profile_id: str
    payment_method_type: str
    payment_method_subtype: str
    vault_connector_id: str
    vault_ids: VaultIds = field(repr=False)
    fingerprint: str | None = field(repr=False)
    display: CardDisplay
    cvc_expires_at: datetime | None
    metadata: dict[str, Any] | None
    last_used_at: datetime | None
    created_at: datetime
    modified_at: datetime

    @property
    def token_mode(self) -> str:
        return self.vault_ids.mode

    @property
    def card_holder_name(self) -> str | None:
        return self.display.card_holder_name

    @property
    def expiry_month(self) -> str | None:
        return self.display.expiry_month

    @property
    def expiry_year(self) -> str | None:
        return self.display.expiry_year


def _record(row: Any, keyring: Keyring) -> PaymentMethod:
    ids = VaultIds.from_json(
        keyring.open_json(bytes(row.vault_ids_sealed), _aad(row.id, "vault_ids"))
    )
    holder = keyring.open_text(row.card_holder_name_sealed, _aad(row.id, "card_holder_name"))
    display = CardDisplay(
        card_isin=row.card_isin,
        last4_digits=row.last4_digits,
        card_network=row.card_network,
        card_type=row.card_type,
        card_issuer=row.card_issuer,
        issuer_country=row.issuer_country,
        expiry_month=row.expiry_month,
        expiry_year=row.expiry_year,
        nick_name=row.nick_name,
        card_holder_name=holder,
    )
    return PaymentMethod(
        id=row.id,
        merchant_id=row.merchant_id,
        customer_id=row.customer_id,
        profile_id=row.profile_id,
        payment_method_type=row.payment_method_type,
        payment_method_subtype=row.payment_method_subtype,
        vault_connector_id=row.vault_connector_id,
        vault_ids=ids,
        fingerprint=row.fingerprint,
        display=display,
        cvc_expires_at=as_utc(row.cvc_expires_at),
        metadata=row.metadata,
        last_used_at=as_utc(row.last_used_at),
        created_at=as_utc(row.created_at),  # type: ignore[arg-type]
        modified_at=as_utc(row.modified_at),  # type: ignore[arg-type]
    )


_INSERT = payment_methods.insert()
_INSERT_ALIASES = payment_method_aliases.insert()


def insert(
    conn: Connection, keyring: Keyring, new: NewPaymentMethod, alias_refs: Iterable[str]
) -> PaymentMethod:
    """Insert the payment method and the aliases it holds; FingerprintTaken when this
    customer already has a payment method with the same fingerprint."""
    now = utcnow()
    display = new.display
    values = {
        "id": new.id,
        "merchant_id": new.merchant_id,
        "customer_id": new.customer_id,
        "profile_id": new.profile_id,
        "payment_method_type": new.payment_method_type,
        "payment_method_subtype": new.payment_method_subtype,
        "token_mode": new.vault_ids.mode,
        "vault_connector_id": new.vault_connector_id,
        "vault_ids_sealed": keyring.seal_json(new.vault_ids.to_json(), _aad(new.id, "vault_ids")),
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
            display.card_holder_name, _aad(new.id, "card_holder_name")
        ),
        "cvc_expires_at": new.cvc_expires_at,
        "metadata": new.metadata,
        "last_used_at": None,
        "created_at": now,
        "modified_at": now,
    }
    try:
        with conn.begin_nested():
            conn.execute(_INSERT, values)  # the statement is built once
    except IntegrityError:
        raise FingerprintTaken from None
    refs = sorted(set(alias_refs))
    if refs:
        conn.execute(
            _INSERT_ALIASES, [{"payment_method_id": new.id, "alias_ref": ref} for ref in refs]
        )
    found = get(conn, keyring, new.merchant_id, new.id)
    assert found is not None
    return found


# built once: building a statement per call costs more than running it (~100 µs)
_BY_ID = sa.select(payment_methods).where(
    payment_methods.c.id == sa.bindparam("pm_id"),
    payment_methods.c.merchant_id == sa.bindparam("merchant_id"),
)
_BY_FINGERPRINT = sa.select(payment_methods).where(
    payment_methods.c.merchant_id == sa.bindparam("merchant_id"),
    payment_methods.c.customer_id == sa.bindparam("customer_id"),
    payment_methods.c.fingerprint == sa.bindparam("fingerprint"),
)


def get(conn: Connection, keyring: Keyring, merchant_id: str, pm_id: str) -> PaymentMethod | None:
    """The payment method, only if it belongs to ``merchant_id``."""
    row = conn.execute(_BY_ID, {"pm_id": pm_id, "merchant_id": merchant_id}).first()
    return None if row is None else _record(row, keyring)


def find_by_fingerprint(
    conn: Connection, keyring: Keyring, merchant_id: str, customer_id: str, fingerprint: str
) -> PaymentMethod | None:
    params = {"merchant_id": merchant_id, "customer_id": customer_id, "fingerprint": fingerprint}
    row = conn.execute(_BY_FINGERPRINT, params).first()
    return None if row is None else _record(row, keyring)


def list_for_customer(
    conn: Connection, keyring: Keyring, merchant_id: str, customer_id: str
) -> list[PaymentMethod]:
    """Newest first."""
    rows = conn.execute(
        sa.select(payment_methods)
        .where(
            payment_methods.c.merchant_id == merchant_id,
            payment_methods.c.customer_id == customer_id,
        )
        .order_by(payment_methods.c.created_at.desc(), payment_methods.c.id.desc())
    )
    return [_record(row, keyring) for row in rows]


def held_elsewhere(conn: Connection, refs: Iterable[str], pm_id: str | None = None) -> set[str]:
    """Which of ``refs`` a payment method other than ``pm_id`` holds (any merchant: the
    internal vault, and a VGS vault configured twice, are shared)."""
    wanted = sorted(set(refs))
    if not wanted:
        return set()
    query = sa.select(payment_method_aliases.c.alias_ref).where(
        payment_method_aliases.c.alias_ref.in_(wanted)
    )
    if pm_id is not None:
        query = query.where(payment_method_aliases.c.payment_method_id != pm_id)
    return {str(ref) for ref in conn.execute(query).scalars()}


def release_aliases(conn: Connection, pm_id: str, refs: Iterable[str]) -> set[str]:
    """Drop the alias rows of ``pm_id`` and answer which of ``refs`` no other payment method
    holds (those the caller may delete from the vault). On PostgreSQL the rows of every
    holder are locked first, so two releases of one shared alias see each other's result
    (SQLite serialises writers anyway)."""
    wanted = sorted(set(refs))
    holders = sa.select(
        payment_method_aliases.c.payment_method_id, payment_method_aliases.c.alias_ref
    ).where(payment_method_aliases.c.alias_ref.in_(wanted))
    if conn.dialect.name == "postgresql":
        holders = holders.with_for_update()
    rows = conn.execute(holders).all() if wanted else []
    conn.execute(
        payment_method_aliases.delete().where(payment_method_aliases.c.payment_method_id == pm_id)
    )
    held = {str(row.alias_ref) for row in rows if row.payment_method_id != pm_id}
    return set(wanted) - held


def restore_aliases(conn: Connection, pm_id: str, refs: Iterable[str]) -> None:
    """Undo :func:`release_aliases` after a failed vault delete (if the row still exists)."""
    exists = conn.execute(
        sa.select(payment_methods.c.id).where(payment_methods.c.id == pm_id)
    ).first()
    wanted = sorted(set(refs))
    if exists is None or not wanted:
        return
    present = set(
        conn.execute(
            sa.select(payment_method_aliases.c.alias_ref).where(
                payment_method_aliases.c.payment_method_id == pm_id
            )
        ).scalars()
    )
    missing = [ref for ref in wanted if ref not in present]
    if missing:
        conn.execute(
            payment_method_aliases.insert(),
            [{"payment_method_id": pm_id, "alias_ref": ref} for ref in missing],
        )


def delete(conn: Connection, merchant_id: str, pm_id: str) -> bool:
    owned = sa.select(payment_methods.c.id).where(
        payment_methods.c.id == pm_id, payment_methods.c.merchant_id == merchant_id
    )
    conn.execute(
        payment_method_aliases.delete().where(payment_method_aliases.c.payment_method_id.in_(owned))
    )
    result = conn.execute(
        payment_methods.delete().where(
            payment_methods.c.id == pm_id, payment_methods.c.merchant_id == merchant_id
        )
    )
    return result.rowcount > 0


_MARK_USED = payment_methods.update().where(
    payment_methods.c.id == sa.bindparam("b_id"),
    payment_methods.c.merchant_id == sa.bindparam("b_merchant_id"),
)


def mark_used(conn: Connection, merchant_id: str, pm_id: str, at: datetime | None = None) -> None:
    """Record that a payment used the payment method (``last_used_at``)."""
    params = {"b_id": pm_id, "b_merchant_id": merchant_id, "last_used_at": at or utcnow()}
    conn.execute(_MARK_USED, params)  # built once; SET comes from the parameters


# --- sessions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaymentMethodSession:
    id: str
    merchant_id: str
    profile_id: str
    customer_id: str | None
    vault_connector_id: str
    client_secret_hash: str = field(repr=False)
    return_url: str | None
    expires_at: datetime
    created_at: datetime


def _session(row: Any) -> PaymentMethodSession:
    return PaymentMethodSession(
        id=row.id,
        merchant_id=row.merchant_id,
        profile_id=row.profile_id,
        customer_id=row.customer_id,
        vault_connector_id=row.vault_connector_id,
        client_secret_hash=row.client_secret_hash,
        return_url=row.return_url,
        expires_at=as_utc(row.expires_at),  # type: ignore[arg-type]
        created_at=as_utc(row.created_at),  # type: ignore[arg-type]
    )


def create_session(conn: Connection, values: Mapping[str, Any]) -> PaymentMethodSession:
    conn.execute(payment_method_sessions.insert().values(**values, created_at=utcnow()))
    found = get_session(conn, values["merchant_id"], values["id"])
    assert found is not None
    return found


def get_session(conn: Connection, merchant_id: str, session_id: str) -> PaymentMethodSession | None:
    row = conn.execute(
        sa.select(payment_method_sessions).where(
            payment_method_sessions.c.id == session_id,
            payment_method_sessions.c.merchant_id == merchant_id,
        )
    ).first()
    return None if row is None else _session(row)


# --- vault migrations ----------------------------------------------------------------------


def switch_vault(
    conn: Connection,
    keyring: Keyring,
    merchant_id: str,
    pm_id: str,
    *,
    from_connector_id: str,
    to_connector_id: str,
    vault_ids: VaultIds,
    cvc_expires_at: datetime | None,
    alias_refs: Iterable[str],
) -> bool:
    """Point the payment method at its copy in another vault, if it is still in
    ``from_connector_id`` (False otherwise: deleted, or moved by someone else). The aliases
    it held stay in the alias table until the source is cleaned up
    (:func:`release_migrated_aliases`), so nothing deletes them while a payment that read
    the old reference may still use them."""
    result = conn.execute(
        payment_methods.update()
        .where(
            payment_methods.c.id == pm_id,
            payment_methods.c.merchant_id == merchant_id,
            payment_methods.c.vault_connector_id == from_connector_id,
        )
        .values(
            vault_connector_id=to_connector_id,
            token_mode=vault_ids.mode,
            vault_ids_sealed=keyring.seal_json(vault_ids.to_json(), _aad(pm_id, "vault_ids")),
            cvc_expires_at=cvc_expires_at,
            modified_at=utcnow(),
        )
    )
    if result.rowcount == 0:
        return False
    present = set(
        conn.execute(
            sa.select(payment_method_aliases.c.alias_ref).where(
                payment_method_aliases.c.payment_method_id == pm_id
            )
        ).scalars()
    )
    missing = sorted(set(alias_refs) - present)
    if missing:
        conn.execute(
            payment_method_aliases.insert(),
            [{"payment_method_id": pm_id, "alias_ref": ref} for ref in missing],
        )
    return True


def release_migrated_aliases(
    conn: Connection, pm_id: str, release: Iterable[str], watched: Iterable[str]
) -> set[str]:
    """Drop the rows of ``pm_id`` for the aliases in ``release`` (its old vault's, after a
    migration) and answer which of ``watched`` some payment method still holds. On
    PostgreSQL every holder's row is locked first, as :func:`release_aliases` does; a failed
    vault delete puts the rows back with :func:`restore_aliases`."""
    wanted = sorted(set(watched) | set(release))
    if not wanted:
        return set()
    holders = sa.select(
        payment_method_aliases.c.payment_method_id, payment_method_aliases.c.alias_ref
    ).where(payment_method_aliases.c.alias_ref.in_(wanted))
    if conn.dialect.name == "postgresql":
        holders = holders.with_for_update()
    rows = conn.execute(holders).all()
    dropped = sorted(set(release))
    if dropped:
        conn.execute(
            payment_method_aliases.delete().where(
                payment_method_aliases.c.payment_method_id == pm_id,
                payment_method_aliases.c.alias_ref.in_(dropped),
            )
        )
    gone, seen = set(dropped), set(watched)
    return {
        str(row.alias_ref)
        for row in rows
        if row.alias_ref in seen and not (row.payment_method_id == pm_id and row.alias_ref in gone)
    }


def ids_in_vault(
    conn: Connection,
    merchant_id: str,
    vault_connector_id: str,
    *,
    customer_id: str | None,
    exclude: sa.Select[Any] | None,
    limit: int | None,
) -> list[str]:
    """Ids of the merchant's payment methods stored through ``vault_connector_id``, oldest
    first (optionally one customer's, leaving out the ids ``exclude`` selects)."""
    query = sa.select(payment_methods.c.id).where(
        payment_methods.c.merchant_id == merchant_id,
        payment_methods.c.vault_connector_id == vault_connector_id,
    )
    if customer_id is not None:
        query = query.where(payment_methods.c.customer_id == customer_id)
    if exclude is not None:
        query = query.where(payment_methods.c.id.not_in(exclude))
    query = query.order_by(payment_methods.c.created_at, payment_methods.c.id)
    if limit is not None:
        query = query.limit(limit)
    return [str(pm_id) for pm_id in conn.execute(query).scalars()]
