"""Saving and deleting payment methods: fingerprints, duplicates, shared vault aliases.

- Fingerprint: HMAC-SHA256 under a key derived for the merchant
  (``keyring.derive("fingerprint:" + merchant_id)``) over the card number and its expiry
  month and year: the same number with a new expiry (a reissued card) is a new payment
  method. A proxy card is fingerprinted by its card-number alias.
- A customer saving a card it already has gets the existing payment method back
  (``duplicate: true``), without a vault write. Two concurrent saves of the same card
  both write to the vault; the unique index on (merchant, customer, fingerprint) lets
  one row in, and the other deletes the aliases it wrote unless a payment method holds
  them (the vault's fingerprinting usually hands both the same alias).
- Vault aliases can be shared: the vault gives a value one alias, so two customers (or
  merchants, in the internal vault) saving the same card, or the same CVC, hold the same
  alias. Deleting a payment method deletes only the aliases no other payment method
  holds.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.engine import Connection

from vaultswitch.domain.cards import Card

from . import ids, vaulting
from .auth import Caller
from .context import AppContext
from .errors import ApiError, not_found
from .repos import customers as customers_repo
from .repos import payment_methods as repo
from .repos.payment_methods import CardDisplay, NewPaymentMethod, PaymentMethod
from .vaulting import VaultIds, VaultTarget

log = structlog.get_logger("vaultswitch.orchestrator")


@dataclass(frozen=True, slots=True)
class Saved:
    record: PaymentMethod
    duplicate: bool


@dataclass(frozen=True, slots=True)
class PaymentMethodKind:
    """The request's type fields and metadata, common to cards and proxy cards."""

    customer_id: str
    payment_method_type: str
    payment_method_subtype: str
    metadata: dict[str, Any] | None


def _fingerprint(ctx: AppContext, merchant_id: str, text: str) -> str:
    key = ctx.keyring.derive("fingerprint:" + merchant_id)
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def card_fingerprint(ctx: AppContext, merchant_id: str, card: Card) -> str:
    """Same number and expiry → same fingerprint, within one merchant only."""
    return _fingerprint(
        ctx,
        merchant_id,
        f"card|{card.number.reveal()}|{card.expiry.month_str}|{card.expiry.year_str}",
    )


def proxy_fingerprint(ctx: AppContext, merchant_id: str, card_number_alias: str) -> str:
    return _fingerprint(ctx, merchant_id, f"proxy_card|{card_number_alias}")


def _customer_check(conn: Connection, caller: Caller, customer_id: str) -> None:
    if not customers_repo.exists(conn, caller.merchant_id, customer_id):
        raise not_found(
            "Customer", "Check customer_id: create the customer with POST /v2/customers."
        )


async def save_card(
    ctx: AppContext, caller: Caller, kind: PaymentMethodKind, card: Card, display: CardDisplay
) -> Saved:
    """Save a card in the profile's vault, or answer the customer's existing copy of it."""
    merchant_id = caller.merchant_id
    fingerprint = card_fingerprint(ctx, merchant_id, card)

    def prepare(conn: Connection) -> PaymentMethod | VaultTarget:
        _customer_check(conn, caller, kind.customer_id)
        existing = repo.find_by_fingerprint(
            conn, ctx.keyring, merchant_id, kind.customer_id, fingerprint
        )
        return (
            existing if existing is not None else vaulting.profile_vault(ctx, conn, caller.profile)
        )

    found = await ctx.db.read(prepare)
    if isinstance(found, PaymentMethod):
        return Saved(found, duplicate=True)
    target = found
    saved = await vaulting.save_card(ctx, target, card, multi_token=caller.profile.multi_token)
    new = NewPaymentMethod(
        id=ids.global_id(ctx.settings.cell_id, "pm"),
        merchant_id=merchant_id,
        customer_id=kind.customer_id,
        profile_id=caller.profile_id,
        payment_method_type=kind.payment_method_type,
        payment_method_subtype=kind.payment_method_subtype,
        vault_connector_id=target.connector_id,
        vault_ids=saved.ids,
        fingerprint=fingerprint,
        display=display,
        cvc_expires_at=saved.cvc_expires_at,
        metadata=kind.metadata,
    )
    return await _store(ctx, caller, new, target)


async def save_proxy_card(
    ctx: AppContext,
    caller: Caller,
    kind: PaymentMethodKind,
    aliases: VaultIds,
    display: CardDisplay,
) -> Saved:
    """Record a card whose fields are already aliases in the profile's vault (no vault
    write). Deduplicated on the card-number alias."""
    merchant_id = caller.merchant_id
    fingerprint = proxy_fingerprint(ctx, merchant_id, aliases.aliases["card_number"])

    def prepare(conn: Connection) -> PaymentMethod | VaultTarget:
        _customer_check(conn, caller, kind.customer_id)
        existing = repo.find_by_fingerprint(
            conn, ctx.keyring, merchant_id, kind.customer_id, fingerprint
        )
        return (
            existing if existing is not None else vaulting.profile_vault(ctx, conn, caller.profile)
        )

    found = await ctx.db.read(prepare)
    if isinstance(found, PaymentMethod):
        return Saved(found, duplicate=True)
    new = NewPaymentMethod(
        id=ids.global_id(ctx.settings.cell_id, "pm"),
        merchant_id=merchant_id,
        customer_id=kind.customer_id,
        profile_id=caller.profile_id,
        payment_method_type=kind.payment_method_type,
        payment_method_subtype=kind.payment_method_subtype,
        vault_connector_id=found.connector_id,
        vault_ids=aliases,
        fingerprint=fingerprint,
        display=display,
        cvc_expires_at=None,
        metadata=kind.metadata,
    )
    return await _store(ctx, caller, new, found)


@dataclass(frozen=True, slots=True)
class _Stored:
    record: PaymentMethod | None
    duplicate: bool
    held: frozenset[str]  # of our aliases, those another payment method holds


async def _store(
    ctx: AppContext, caller: Caller, new: NewPaymentMethod, target: VaultTarget
) -> Saved:
    """Insert the row; if a concurrent save of the same card won, delete what this save
    wrote to the vault (aliases no payment method holds) and answer the winner."""
    refs = vaulting.alias_refs(ctx, target, new.vault_ids)
    fingerprint = new.fingerprint
    merchant_id = caller.merchant_id

    def winner(conn: Connection) -> PaymentMethod | None:
        if fingerprint is None:
            return None
        return repo.find_by_fingerprint(
            conn, ctx.keyring, merchant_id, new.customer_id, fingerprint
        )

    def store(conn: Connection) -> _Stored:
        existing = winner(conn)
        if existing is None and customers_repo.exists(conn, merchant_id, new.customer_id):
            try:
                return _Stored(repo.insert(conn, ctx.keyring, new, refs), False, frozenset())
            except repo.FingerprintTaken:
                existing = winner(conn)
        return _Stored(existing, existing is not None, frozenset(repo.held_elsewhere(conn, refs)))

    stored = await ctx.db.write(store)
    if stored.record is not None and not stored.duplicate:
        return Saved(stored.record, duplicate=False)
    if new.vault_ids.mode != vaulting.PROXY:
        await vaulting.delete_aliases(ctx, target, new.vault_ids, set(stored.held))
        log.info(
            "payment_method.concurrent_duplicate",
            payment_method_id=stored.record.id if stored.record else None,
        )
    if stored.record is None:  # the customer was deleted meanwhile
        raise not_found(
            "Customer", "Check customer_id: create the customer with POST /v2/customers."
        )
    return Saved(stored.record, duplicate=True)


async def delete(ctx: AppContext, caller: Caller, pm_id: str) -> None:
    """Delete the aliases only this payment method holds from its vault, then the row.

    The payment method first releases its aliases (learning which no one else holds); a
    vault error (unreachable, credentials, rate limit) gives them back, keeps the row and
    is answered as such, so the delete can be retried; an alias the vault no longer has
    counts as deleted. A payment method whose vault connector account has been deleted
    loses only its row: there is no vault left to reach.
    """
    merchant_id = caller.merchant_id

    def load(conn: Connection) -> tuple[PaymentMethod, VaultTarget | None]:
        record = repo.get(conn, ctx.keyring, merchant_id, pm_id)
        if record is None:
            raise not_found("Payment method")
        if record.vault_ids.mode == vaulting.PROXY:
            return record, None
        try:
            target = vaulting.stored_vault(ctx, conn, merchant_id, record.vault_connector_id)
        except ApiError as exc:
            if exc.code != vaulting.VAULT_CONNECTOR_NOT_FOUND:
                raise
            return record, None
        return record, target

    record, target = await ctx.db.read(load)
    if target is not None:
        refs = vaulting.alias_refs(ctx, target, record.vault_ids)
        mine = await ctx.db.write(lambda conn: repo.release_aliases(conn, record.id, refs))
        try:
            await vaulting.delete_aliases(ctx, target, record.vault_ids, refs - mine)
        except Exception:
            await ctx.db.write(lambda conn: repo.restore_aliases(conn, record.id, refs))
            raise
    await ctx.db.write(lambda conn: repo.delete(conn, merchant_id, pm_id))
