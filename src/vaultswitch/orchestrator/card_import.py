"""Importing cards already in the profile's vault: one batch of rows (at most 20, one
reveal-multiple request for single-alias rows) answered row by row.

For every well-formed row:

1. A row of this import (``import_id``) that already created a payment method is a
   replay (a resumed ``vaultswitch import`` re-sending the batch that was in flight): it
   is answered ``imported`` with that payment method again, without a vault call.
2. Its aliases are revealed (:mod:`.import_reveal`): an alias the vault does not have
   makes the row ``alias_not_found``. With the values, the card is rebuilt in memory:
   the fingerprint is the one a normal save computes
   (:func:`~vaultswitch.orchestrator.payment_methods.card_fingerprint`), so an imported
   card and the same card saved with ``POST /v2/payment-methods`` are duplicates; the
   display metadata comes from the card (metadata the row gives must match it). When
   the vault does not allow reveal, the row must carry ``last4``, ``expiry_month`` and
   ``expiry_year``; the fingerprint is then the alias's (as for a ``proxy_card``) and the
   alias is taken as given (the answer's reason says it was not checked).
3. In one transaction for the batch: the customer is found by its
   ``merchant_reference_id`` or created with it; a payment method of that customer that
   holds the same alias, or has the same fingerprint, makes the row ``duplicate`` (that
   payment method is answered); otherwise the payment method is stored, referencing the
   given aliases the way a card saved by the orchestrator is: a card JSON alias as
   single-token, per-field aliases as multi-token, and an alias holding only a card
   number (e.g. one VGS Collect made) as a proxy card with the row's expiry.

The revealed values never leave this module: no log line, answer or error carries them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from vaultswitch.domain.cards import Card, CardExpiry, CardNumber, detect_brand
from vaultswitch.domain.errors import InvalidCardData
from vaultswitch.domain.secret import Secret

from . import ids, vaulting
from .auth import Caller
from .context import AppContext
from .errors import ApiError
from .import_reveal import AliasCheck, check_aliases
from .import_rows import METADATA_WITHOUT_REVEAL, ImportRow, RowProblem
from .log import logger
from .payment_methods import card_fingerprint, proxy_fingerprint
from .repos import customers as customers_repo
from .repos import payment_method_imports as imports_repo
from .repos import payment_methods as pm_repo
from .repos.payment_methods import CardDisplay, NewPaymentMethod
from .routers.payment_methods import NETWORK_OF_BRAND
from .schema import payment_methods
from .vaulting import VaultIds, VaultTarget

IMPORTED = "imported"
DUPLICATE = "duplicate"
ALIAS_NOT_FOUND = "alias_not_found"
INVALID = "invalid"
STATUSES = (IMPORTED, DUPLICATE, ALIAS_NOT_FOUND, INVALID)

PAYMENT_METHOD_TYPE = "card"
PAYMENT_METHOD_SUBTYPE = "card"
DUPLICATE_REASON = "the customer already has this card (the payment method named here)"
NOT_CHECKED = (
    "not checked: the vault does not allow reveal (HTTP 403), so the alias was taken as "
    "given and the metadata from the row"
)


@dataclass(frozen=True, slots=True)
class RowResult:
    row: int
    status: str
    customer_id: str | None = None
    payment_method_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class _Plan:
    """A row ready to be stored."""

    row: ImportRow
    vault_ids: VaultIds = field(repr=False)
    fingerprint: str = field(repr=False)
    display: CardDisplay
    note: str | None


class _Invalid(Exception):
    """The row is invalid; the message names the field, never a value."""


@dataclass(frozen=True, slots=True)
class BatchResult:
    rows: list[RowResult]
    #: REVEALED, NOT_ALLOWED (the vault refused reveal: aliases not checked) or NO_CHECK
    #: (no alias needed checking: every row was invalid or a replay)
    alias_check: str


REVEALED = "revealed"
NOT_ALLOWED = "not_allowed"
NO_CHECK = "none"


async def import_batch(
    ctx: AppContext,
    caller: Caller,
    rows: Sequence[ImportRow | RowProblem],
    import_id: str | None,
) -> BatchResult:
    """The result of every row, in the order given."""
    results: dict[int, RowResult] = {
        p.row: RowResult(p.row, INVALID, reason=p.reason) for p in rows if isinstance(p, RowProblem)
    }
    valid = [r for r in rows if isinstance(r, ImportRow)]
    alias_check = NO_CHECK
    if valid:
        found, alias_check = await _import_valid(ctx, caller, valid, import_id)
        results.update(found)
    ordered = [results[r.row] for r in rows]
    counts = dict.fromkeys(STATUSES, 0)
    for result in ordered:
        counts[result.status] += 1
    logger().info("payment_method.import", rows=len(ordered), alias_check=alias_check, **counts)
    return BatchResult(ordered, alias_check)


async def _import_valid(
    ctx: AppContext, caller: Caller, rows: list[ImportRow], import_id: str | None
) -> tuple[dict[int, RowResult], str]:
    merchant_id = caller.merchant_id

    def prepare(conn: Connection) -> tuple[VaultTarget, dict[int, imports_repo.Replay]]:
        target = vaulting.profile_vault(ctx, conn, caller.profile)
        replays = (
            imports_repo.replayed(conn, merchant_id, import_id, (r.row for r in rows))
            if import_id
            else {}
        )
        return target, replays

    target, replays = await ctx.db.read(prepare)
    results = {row: _replayed(row, replay) for row, replay in replays.items()}
    pending = [r for r in rows if r.row not in replays]
    aliases = [a for r in pending for a in r.aliases.values()]
    check = await check_aliases(ctx, target, aliases)
    alias_check = NO_CHECK if not aliases else NOT_ALLOWED if check.refused else REVEALED
    today = datetime.now(UTC).date()
    plans: list[_Plan] = []
    for row in pending:
        outcome = _plan(ctx, merchant_id, row, check, today)
        if isinstance(outcome, RowResult):
            results[row.row] = outcome
        else:
            plans.append(outcome)
    if plans:
        stored = await ctx.db.write(
            lambda conn: _store(ctx, caller, conn, target, plans, import_id)
        )
        results.update((r.row, r) for r in stored)
    return results, alias_check


def _replayed(row: int, replay: imports_repo.Replay) -> RowResult:
    return RowResult(row, IMPORTED, replay.customer_id, replay.payment_method_id, replay.reason)


# --- from aliases to a card -------------------------------------------------------------------


def _plan(
    ctx: AppContext, merchant_id: str, row: ImportRow, check: AliasCheck, today: date
) -> _Plan | RowResult:
    columns = list(row.aliases.items())
    missing = [name for name, alias in columns if alias in check.missing]
    if missing:
        these = "this alias" if len(missing) == 1 else "these aliases"
        return RowResult(
            row.row,
            ALIAS_NOT_FOUND,
            reason=f"{', '.join(missing)}: the vault has no value under {these}",
        )
    rejected = [name for name, alias in columns if alias in check.rejected]
    if rejected:
        return RowResult(
            row.row, INVALID, reason=f"{rejected[0]}: the vault refuses it as a malformed alias"
        )
    try:
        if check.refused is not None:
            return _unrevealed(ctx, merchant_id, row, today)
        return _revealed(ctx, merchant_id, row, check.values, today)
    except _Invalid as exc:
        return RowResult(row.row, INVALID, reason=str(exc))


def _single_value(value: Secret) -> Card | CardNumber:
    """What a single alias holds: the card as JSON (Hyperswitch ``CardCustomData``), a card
    number as JSON without expiry, or a bare card number."""
    text = value.reveal().strip()
    try:
        if text.isdigit():
            return CardNumber(text)
        try:
            payload: object = json.loads(text)
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("card_number"), str):
            raise _Invalid(
                "alias: the vault's value under it is not a card (card JSON or a card number)"
            )
        number: str = payload["card_number"]
        month, year = payload.get("card_exp_month"), payload.get("card_exp_year")
        if month is None and year is None:
            return CardNumber(number)
        if not isinstance(month, str | int) or not isinstance(year, str | int):
            raise _Invalid("alias: the card in the vault has no valid expiry")
        holder = payload.get("card_holder_name")
        return Card.parse(number, month, year, None, holder if isinstance(holder, str) else None)
    except InvalidCardData as exc:
        raise _Invalid(f"alias: the card in the vault is not valid: {exc.message}") from None


def _field_card(row: ImportRow, values: Mapping[str, Secret]) -> Card:
    aliases = row.aliases

    def value(name: str) -> str | None:
        alias = aliases.get(name)
        return None if alias is None else values[alias].reveal()

    number, month, year = (value(n) for n in ("card_number", "card_exp_month", "card_exp_year"))
    if number is None or month is None or year is None:  # pragma: no cover - parse_row checks
        raise _Invalid("card_number: per-field aliases need number, month and year")
    try:
        return Card.parse(Secret(number), month, year, None, value("card_holder_name"))
    except InvalidCardData as exc:
        name = exc.field or "card_number"
        raise _Invalid(
            f"{name}: the vault's value under this alias is not valid: {exc.message}"
        ) from None


def _given_expiry(row: ImportRow) -> CardExpiry:
    month, year = row.given.expiry_month, row.given.expiry_year
    if month is None or year is None:  # pragma: no cover - the callers check
        raise _Invalid("expiry_month: missing")
    return CardExpiry.parse(month, year)


def _revealed(
    ctx: AppContext, merchant_id: str, row: ImportRow, values: Mapping[str, Secret], today: date
) -> _Plan:
    given = row.given
    if row.single:
        alias = row.primary_alias
        held = _single_value(values[alias])
        if isinstance(held, CardNumber):
            lacking = given.lacking(("expiry_month", "expiry_year"))
            if lacking:
                raise _Invalid(
                    f"{lacking[0]}: missing; the alias holds only a card number, so the row "
                    "must give expiry_month and expiry_year"
                )
            card = Card(held, _given_expiry(row))
            ids_ = VaultIds(vaulting.PROXY, {"card_number": alias})
        else:
            card = held
            ids_ = VaultIds(vaulting.SINGLE, {vaulting.DATA: alias})
    else:
        card = _field_card(row, values)
        ids_ = VaultIds(vaulting.MULTI, dict(row.aliases))
    if card.expiry.is_expired(today):
        raise _Invalid("the card has expired (a card is valid through its expiry month)")
    number = card.number
    checks = (
        ("last4", given.last4, lambda v: number.last4 == v),
        ("card_isin", given.card_isin, lambda v: number.reveal().startswith(v)),
        ("expiry_month", given.expiry_month, lambda v: card.expiry.month_str == v),
        ("expiry_year", given.expiry_year, lambda v: card.expiry.year_str == v),
    )
    for name, wanted, matches in checks:
        if wanted is not None and not matches(wanted):
            raise _Invalid(f"{name}: does not match the card in the vault")
    display = CardDisplay(
        card_isin=number.first6,
        last4_digits=number.last4,
        card_network=given.card_network or NETWORK_OF_BRAND.get(card.brand),
        expiry_month=card.expiry.month_str,
        expiry_year=card.expiry.year_str,
        card_holder_name=card.holder_name,
    )
    return _Plan(row, ids_, card_fingerprint(ctx, merchant_id, card), display, None)


def _unrevealed(ctx: AppContext, merchant_id: str, row: ImportRow, today: date) -> _Plan:
    given = row.given
    lacking = given.lacking(METADATA_WITHOUT_REVEAL)
    if lacking:
        raise _Invalid(
            f"{lacking[0]}: missing; the vault does not allow reveal (HTTP 403), so the row "
            f"must give {', '.join(METADATA_WITHOUT_REVEAL)} (missing: {', '.join(lacking)})"
        )
    if _given_expiry(row).is_expired(today):
        raise _Invalid("the card has expired (a card is valid through its expiry month)")
    network = given.card_network
    if network is None and given.card_isin is not None:
        network = NETWORK_OF_BRAND.get(detect_brand(given.card_isin))
    if row.single:
        ids_ = VaultIds(vaulting.SINGLE, {vaulting.DATA: row.primary_alias})
    else:
        ids_ = VaultIds(vaulting.MULTI, dict(row.aliases))
    display = CardDisplay(
        card_isin=given.card_isin[:6] if given.card_isin else None,
        last4_digits=given.last4,
        card_network=network,
        expiry_month=given.expiry_month,
        expiry_year=given.expiry_year,
    )
    fingerprint = proxy_fingerprint(ctx, merchant_id, row.primary_alias)
    return _Plan(row, ids_, fingerprint, display, NOT_CHECKED)


# --- storing --------------------------------------------------------------------------------


def _customer(
    ctx: AppContext, conn: Connection, merchant_id: str, row: ImportRow, known: dict[str, str]
) -> str:
    """The customer with this reference, created (with the row's name and email) if none."""
    reference = row.customer_reference
    found = known.get(reference)
    if found is not None:
        return found
    try:
        created = customers_repo.create(
            conn,
            ctx.keyring,
            merchant_id,
            ctx.settings.cell_id,
            name=row.customer_name,
            email=row.customer_email,
            merchant_reference_id=reference,
        )
        customer_id = created.id
    except ApiError:  # created meanwhile by a concurrent batch (PostgreSQL)
        customer_id = imports_repo.customer_ids(conn, merchant_id, [reference])[reference]
    known[reference] = customer_id
    return customer_id


def _with_fingerprint(
    conn: Connection, merchant_id: str, customer_id: str, fingerprint: str
) -> str | None:
    row = conn.execute(
        sa.select(payment_methods.c.id).where(
            payment_methods.c.merchant_id == merchant_id,
            payment_methods.c.customer_id == customer_id,
            payment_methods.c.fingerprint == fingerprint,
        )
    ).first()
    return None if row is None else str(row.id)


def _store(
    ctx: AppContext,
    caller: Caller,
    conn: Connection,
    target: VaultTarget,
    plans: list[_Plan],
    import_id: str | None,
) -> list[RowResult]:
    """Store the batch with one statement per table; if a concurrent batch got in first
    (a customer reference or a card taken meanwhile), do it row by row instead."""
    try:
        with conn.begin_nested():
            return _store_batch(ctx, caller, conn, target, plans, import_id)
    except IntegrityError:
        return _store_each(ctx, caller, conn, target, plans, import_id)


def _store_batch(
    ctx: AppContext,
    caller: Caller,
    conn: Connection,
    target: VaultTarget,
    plans: list[_Plan],
    import_id: str | None,
) -> list[RowResult]:
    merchant_id = caller.merchant_id
    replays = (
        imports_repo.replayed(conn, merchant_id, import_id, (p.row.row for p in plans))
        if import_id
        else {}
    )
    todo = [p for p in plans if p.row.row not in replays]
    customers = imports_repo.customer_ids(
        conn, merchant_id, (p.row.customer_reference for p in todo)
    )
    wanted: dict[str, tuple[str | None, str | None]] = {}
    for plan in todo:
        reference = plan.row.customer_reference
        if reference not in customers and reference not in wanted:
            wanted[reference] = (plan.row.customer_name, plan.row.customer_email)
    customers.update(
        imports_repo.create_customers(conn, ctx.keyring, merchant_id, ctx.settings.cell_id, wanted)
    )
    primary = {p.row.row: vaulting.alias_ref(ctx, target, p.row.primary_alias) for p in todo}
    holding = imports_repo.holders(conn, merchant_id, primary.values())
    fingerprints = imports_repo.with_fingerprints(conn, merchant_id, (p.fingerprint for p in todo))
    out: list[RowResult] = []
    news: list[tuple[NewPaymentMethod, set[str]]] = []
    created: list[tuple[int, str, str | None]] = []
    for plan in plans:
        number = plan.row.row
        if number in replays:
            out.append(_replayed(number, replays[number]))
            continue
        customer_id = customers[plan.row.customer_reference]
        by_alias = (customer_id, primary[number])
        by_fingerprint = (customer_id, plan.fingerprint)
        existing = holding.get(by_alias) or fingerprints.get(by_fingerprint)
        if existing is not None:
            out.append(RowResult(number, DUPLICATE, customer_id, existing, DUPLICATE_REASON))
            continue
        new = _new_payment_method(ctx, caller, target, plan, customer_id)
        holding[by_alias] = fingerprints[by_fingerprint] = new.id
        news.append((new, vaulting.alias_refs(ctx, target, plan.vault_ids)))
        created.append((number, new.id, plan.note))
        out.append(RowResult(number, IMPORTED, customer_id, new.id, plan.note))
    imports_repo.insert_payment_methods(conn, ctx.keyring, news)
    if import_id:
        imports_repo.record_many(conn, merchant_id, import_id, created)
    return out


def _new_payment_method(
    ctx: AppContext, caller: Caller, target: VaultTarget, plan: _Plan, customer_id: str
) -> NewPaymentMethod:
    return NewPaymentMethod(
        id=ids.global_id(ctx.settings.cell_id, "pm"),
        merchant_id=caller.merchant_id,
        customer_id=customer_id,
        profile_id=caller.profile_id,
        payment_method_type=PAYMENT_METHOD_TYPE,
        payment_method_subtype=PAYMENT_METHOD_SUBTYPE,
        vault_connector_id=target.connector_id,
        vault_ids=plan.vault_ids,
        fingerprint=plan.fingerprint,
        display=plan.display,
        cvc_expires_at=None,
        metadata=None,
    )


def _store_each(
    ctx: AppContext,
    caller: Caller,
    conn: Connection,
    target: VaultTarget,
    plans: list[_Plan],
    import_id: str | None,
) -> list[RowResult]:
    """Row by row (each insert in its own savepoint): the path when a concurrent batch
    wrote one of the same customers or cards while this one was being prepared."""
    merchant_id = caller.merchant_id
    known = imports_repo.customer_ids(conn, merchant_id, (p.row.customer_reference for p in plans))
    replays = (
        imports_repo.replayed(conn, merchant_id, import_id, (p.row.row for p in plans))
        if import_id
        else {}
    )
    out: list[RowResult] = []
    for plan in plans:
        number = plan.row.row
        if number in replays:  # a concurrent replay of the same row stored it first
            out.append(_replayed(number, replays[number]))
            continue
        customer_id = _customer(ctx, conn, merchant_id, plan.row, known)
        primary = vaulting.alias_ref(ctx, target, plan.row.primary_alias)
        existing = imports_repo.holding_alias(
            conn, merchant_id, customer_id, primary
        ) or _with_fingerprint(conn, merchant_id, customer_id, plan.fingerprint)
        if existing is None:
            new = _new_payment_method(ctx, caller, target, plan, customer_id)
            try:
                record = pm_repo.insert(
                    conn, ctx.keyring, new, vaulting.alias_refs(ctx, target, plan.vault_ids)
                )
            except pm_repo.FingerprintTaken:  # a concurrent batch stored the same card
                existing = _with_fingerprint(conn, merchant_id, customer_id, plan.fingerprint)
            else:
                if import_id:
                    imports_repo.record(conn, merchant_id, import_id, number, record.id, plan.note)
                out.append(RowResult(number, IMPORTED, customer_id, record.id, plan.note))
                continue
        out.append(
            RowResult(
                number,
                DUPLICATE,
                customer_id,
                existing,
                DUPLICATE_REASON,
            )
        )
    return out
