"""The vault work of a migration step, per phase, on the payment methods it claimed.

Everything goes through :mod:`.vaulting` (the connector and the shared client), so any two
vault connector accounts work: our vault, VGS, or one of each.

- **move**: :func:`vaulting.load_card` reads the card from the vault the payment method is
  in now (the CVC too while its VOLATILE alias lives), :func:`vaulting.save_card` writes it
  to the target exactly as saving a card there does, and one transaction switches every
  payment method of the batch that is still in the source and records the outcomes. A card
  whose keyed fingerprint does not match its payment method's is not moved.
- **verify**: both copies are revealed (without the CVC) and their keyed fingerprints
  compared; values are never returned.
- **delete the source**: the payment method gives up its rows for the source aliases in
  the alias table; those no payment method holds any more are deleted from the source
  vault (as a delete of the payment method would: the shared expiry and holder-name aliases
  of a multi-token card stay). A vault error gives the rows back.

The batch's payment methods are worked on concurrently; the connector has no flow that
reads several payment methods in one request, so each is one retrieve (two or three for a
multi-token card with a CVC).
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.engine import Connection

from vaultswitch.domain import migration as outcomes
from vaultswitch.domain.cards import Card
from vaultswitch.domain.errors import AliasNotFound, VaultswitchError
from vaultswitch.domain.migration import MigrationOutcome
from vaultswitch.domain.redaction import scrub_text

from . import vaulting
from .auth import Caller
from .context import AppContext
from .errors import ApiError
from .payment_methods import card_fingerprint
from .repos import payment_methods as pm_repo
from .repos import vault_migrations as repo
from .repos.payment_methods import PaymentMethod
from .repos.vault_migrations import Item, Migration, Outcome, Phase
from .vaulting import VaultIds, VaultTarget

#: Payment methods of one step worked on at the same time.
CONCURRENCY = 8
#: The field of the error :func:`vaulting.load_card` raises for an expired stored CVC.
_CVC_FIELD = "payment_method_data.card_token.card_cvc"


@dataclass(frozen=True)
class Vaults:
    source: VaultTarget
    target: VaultTarget


Run = Callable[[AppContext, Caller, Migration, Vaults, str, list[Item]], Awaitable[list[Outcome]]]


def failure(exc: VaultswitchError | ApiError, payment_method_id: str) -> Outcome:
    """A vault or configuration error as one payment method's failed outcome. A vault
    error's own message may name aliases (sealed everywhere else in the database): the
    outcome, which is stored, carries its class's message instead."""
    message = type(exc).default_message if isinstance(exc, VaultswitchError) else exc.message
    return Outcome(
        payment_method_id,
        repo.FAILED,
        exc.code,
        scrub_text(message)[:512],
        scrub_text(exc.hint)[:1024],
    )


def _said(pm_id: str, status: str, what: MigrationOutcome) -> Outcome:
    return Outcome(pm_id, status, what.code, what.message, what.hint)


def _without_cvc(ids: VaultIds) -> VaultIds:
    return VaultIds(ids.mode, {k: v for k, v in ids.aliases.items() if k != "card_cvc"})


def _digest_equal(ctx: AppContext, merchant_id: str, one: Card, other: Card) -> bool:
    return hmac.compare_digest(
        card_fingerprint(ctx, merchant_id, one), card_fingerprint(ctx, merchant_id, other)
    )


async def _records(
    ctx: AppContext, merchant_id: str, claimed: list[Item]
) -> dict[str, PaymentMethod | None]:
    def read(conn: Connection) -> dict[str, PaymentMethod | None]:
        return {
            item.payment_method_id: pm_repo.get(
                conn, ctx.keyring, merchant_id, item.payment_method_id
            )
            for item in claimed
        }

    return await ctx.db.read(read)


async def _each(claimed: list[Item], work: Callable[[Item], Awaitable[None]]) -> None:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(item: Item) -> None:
        async with gate:
            await work(item)

    await asyncio.gather(*(one(item) for item in claimed))


# --- move ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Copied:
    record: PaymentMethod
    saved: vaulting.SavedCard
    cvc_expires_at: datetime | None
    cvc_lost: bool


def _placement(record: PaymentMethod | None, migration: Migration, pm_id: str) -> Outcome | None:
    """Why this payment method is not (any more) one to move, if it is not."""
    if record is None:
        return _said(pm_id, repo.SKIPPED, outcomes.PAYMENT_METHOD_DELETED)
    if record.vault_connector_id == migration.to_connector_id:
        return _said(pm_id, repo.SKIPPED, outcomes.ALREADY_MOVED)
    if record.vault_connector_id != migration.from_connector_id:
        return _said(pm_id, repo.SKIPPED, outcomes.NOT_IN_SOURCE_VAULT)
    return None


def _multi_token(shape: str, record: PaymentMethod) -> bool:
    """The migration's ``token_mode``: ``single`` or ``multi``, or ``keep``: a single-token
    card stays single-token; multi-token and proxy cards (per-field aliases already) are
    stored per field."""
    if shape in (vaulting.SINGLE, vaulting.MULTI):
        return shape == vaulting.MULTI
    return record.token_mode != vaulting.SINGLE


async def _read_card(ctx: AppContext, caller: Caller, record: PaymentMethod) -> tuple[Card, bool]:
    """The card with its stored CVC if that still lives; ``True`` when it had expired."""
    try:
        return await vaulting.load_card(ctx, caller, record, None), False
    except AliasNotFound as exc:
        if record.vault_ids.cvc_alias is None or exc.field != _CVC_FIELD:
            raise
    bare = replace(record, vault_ids=_without_cvc(record.vault_ids))
    return await vaulting.load_card(ctx, caller, bare, None), True


def _fingerprint_matches(ctx: AppContext, record: PaymentMethod, card: Card) -> bool:
    if record.token_mode == vaulting.PROXY or record.fingerprint is None:
        return True  # a proxy card's fingerprint is of its alias, not of the card
    return hmac.compare_digest(card_fingerprint(ctx, record.merchant_id, card), record.fingerprint)


async def move(
    ctx: AppContext,
    caller: Caller,
    migration: Migration,
    vaults: Vaults,
    token: str,
    claimed: list[Item],
) -> list[Outcome]:
    records = await _records(ctx, caller.merchant_id, claimed)
    results: dict[str, Outcome] = {}
    copied: list[_Copied] = []

    async def work(item: Item) -> None:
        pm_id = item.payment_method_id
        record = records[pm_id]
        skip = _placement(record, migration, pm_id)
        if skip is not None:
            results[pm_id] = skip
            return
        assert record is not None
        try:
            card, cvc_lost = await _read_card(ctx, caller, record)
            if not _fingerprint_matches(ctx, record, card):
                results[pm_id] = _said(pm_id, repo.FAILED, outcomes.FINGERPRINT_MISMATCH)
                return
            if migration.dry_run:
                results[pm_id] = Outcome(pm_id, repo.WOULD_MOVE)
                return
            multi = _multi_token(migration.token_mode, record)
            saved = await vaulting.save_card(ctx, vaults.target, card, multi_token=multi)
        except (VaultswitchError, ApiError) as exc:
            results[pm_id] = failure(exc, pm_id)
            return
        expires = saved.cvc_expires_at
        if expires is not None and record.cvc_expires_at is not None:
            expires = min(expires, record.cvc_expires_at)
        copied.append(_Copied(record, saved, expires, cvc_lost))

    await _each(claimed, work)
    lost = await ctx.db.write(
        lambda conn: _switch(ctx, conn, migration, vaults, token, copied, results)
    )
    for copy in lost:  # deleted or moved meanwhile: take back what only this step wrote
        await _drop_copy(ctx, vaults.target, copy.saved.ids)
    return [results[item.payment_method_id] for item in claimed]


def _switch(
    ctx: AppContext,
    conn: Connection,
    migration: Migration,
    vaults: Vaults,
    token: str,
    copied: list[_Copied],
    results: dict[str, Outcome],
) -> list[_Copied]:
    """Switch the copied payment methods still in the source, record every outcome; answer
    the copies whose payment method had gone (or moved) meanwhile."""
    lost: list[_Copied] = []
    moved: set[str] = set()
    for copy in copied:
        record = copy.record
        ids = copy.saved.ids
        switched = pm_repo.switch_vault(
            conn,
            ctx.keyring,
            record.merchant_id,
            record.id,
            from_connector_id=migration.from_connector_id,
            to_connector_id=migration.to_connector_id,
            vault_ids=ids,
            cvc_expires_at=copy.cvc_expires_at,
            alias_refs=vaulting.alias_refs(ctx, vaults.target, ids),
        )
        if switched:
            outcome = (
                _said(record.id, repo.MOVED, outcomes.CVC_EXPIRED)
                if copy.cvc_lost
                else Outcome(record.id, repo.MOVED)
            )
            repo.record_move(conn, ctx.keyring, migration.id, token, outcome, record.vault_ids)
            results[record.id] = outcome
            moved.add(record.id)
            continue
        now = pm_repo.get(conn, ctx.keyring, record.merchant_id, record.id)
        results[record.id] = _placement(now, migration, record.id) or _said(
            record.id, repo.SKIPPED, outcomes.NOT_IN_SOURCE_VAULT
        )
        lost.append(copy)
    for pm_id, outcome in results.items():
        if pm_id not in moved:
            repo.record_move(conn, ctx.keyring, migration.id, token, outcome)
    return lost


async def _drop_copy(ctx: AppContext, target: VaultTarget, ids: VaultIds) -> None:
    """Delete a copy no payment method took; aliases someone holds stay (the vault's
    fingerprinting may have handed this copy another payment method's aliases)."""
    refs = vaulting.alias_refs(ctx, target, ids)
    held = await ctx.db.read(lambda conn: pm_repo.held_elsewhere(conn, refs))
    with suppress(VaultswitchError):  # best effort: an unreachable vault keeps an orphan
        await vaulting.delete_aliases(ctx, target, ids, held)


# --- verify --------------------------------------------------------------------------------


async def verify(
    ctx: AppContext,
    caller: Caller,
    migration: Migration,
    vaults: Vaults,
    token: str,
    claimed: list[Item],
) -> list[Outcome]:
    records = await _records(ctx, caller.merchant_id, claimed)
    results: dict[str, Outcome] = {}

    async def work(item: Item) -> None:
        pm_id = item.payment_method_id
        record = records[pm_id]
        if record is None:
            results[pm_id] = _said(pm_id, repo.SKIPPED, outcomes.PAYMENT_METHOD_DELETED)
            return
        if record.vault_connector_id != migration.to_connector_id or item.source_ids is None:
            results[pm_id] = _said(pm_id, repo.SKIPPED, outcomes.NOT_IN_TARGET_VAULT)
            return
        source_view = replace(
            record,
            vault_connector_id=migration.from_connector_id,
            vault_ids=_without_cvc(item.source_ids),
        )
        target_view = replace(record, vault_ids=_without_cvc(record.vault_ids))
        try:
            source_card = await vaulting.load_card(ctx, caller, source_view, None)
            target_card = await vaulting.load_card(ctx, caller, target_view, None)
        except (VaultswitchError, ApiError) as exc:
            results[pm_id] = failure(exc, pm_id)
            return
        if _digest_equal(ctx, caller.merchant_id, source_card, target_card):
            results[pm_id] = Outcome(pm_id, repo.OK)
        else:
            results[pm_id] = _said(pm_id, repo.MISMATCH, outcomes.FINGERPRINT_MISMATCH)

    await _each(claimed, work)

    def record(conn: Connection) -> None:
        for outcome in results.values():
            repo.record_verify(conn, migration.id, token, outcome)

    await ctx.db.write(record)
    return [results[item.payment_method_id] for item in claimed]


# --- delete the source ---------------------------------------------------------------------


async def _current_refs(
    ctx: AppContext, migration: Migration, vaults: Vaults, record: PaymentMethod | None
) -> set[str]:
    """The alias refs of the vault copy the payment method uses now (none if deleted)."""
    if record is None:
        return set()
    if record.vault_connector_id == migration.to_connector_id:
        where = vaults.target
    elif record.vault_connector_id == migration.from_connector_id:
        where = vaults.source
    else:
        try:
            where = await ctx.db.read(
                lambda conn: vaulting.stored_vault(
                    ctx, conn, record.merchant_id, record.vault_connector_id
                )
            )
        except ApiError:
            return set()
    return vaulting.alias_refs(ctx, where, record.vault_ids)


async def delete_source(
    ctx: AppContext,
    caller: Caller,
    migration: Migration,
    vaults: Vaults,
    token: str,
    claimed: list[Item],
) -> list[Outcome]:
    records = await _records(ctx, caller.merchant_id, claimed)
    results: dict[str, Outcome] = {}
    source = vaults.source

    async def work(item: Item) -> None:
        pm_id = item.payment_method_id
        ids = item.source_ids
        if ids is None:  # pragma: no cover - a moved item always has them
            results[pm_id] = Outcome(pm_id, repo.KEPT)
            return
        refs = vaulting.alias_refs(ctx, source, ids)
        # never the aliases the payment method uses now (two accounts on one vault)
        release = refs - await _current_refs(ctx, migration, vaults, records[pm_id])
        held = await ctx.db.write(
            lambda conn: pm_repo.release_migrated_aliases(conn, pm_id, release, refs)
        )
        if ids.mode == vaulting.PROXY:
            results[pm_id] = _said(pm_id, repo.KEPT, outcomes.PROXY_CARD_KEPT)
            return
        try:
            await vaulting.delete_aliases(ctx, source, ids, held)
        except (VaultswitchError, ApiError) as exc:
            await ctx.db.write(lambda conn: pm_repo.restore_aliases(conn, pm_id, release))
            results[pm_id] = failure(exc, pm_id)
            return
        main = ids.aliases.get(vaulting.DATA if ids.mode == vaulting.SINGLE else "card_number")
        if main is not None and vaulting.alias_ref(ctx, source, main) in held:
            results[pm_id] = _said(pm_id, repo.KEPT, outcomes.ALIAS_SHARED)
        else:
            results[pm_id] = Outcome(pm_id, repo.DELETED)

    await _each(claimed, work)

    def record(conn: Connection) -> None:
        for outcome in results.values():
            repo.record_source(conn, migration.id, token, outcome)

    await ctx.db.write(record)
    return [results[item.payment_method_id] for item in claimed]


PHASES: Mapping[Phase, Run] = {
    Phase.MOVE: move,
    Phase.VERIFY: verify,
    Phase.DELETE_SOURCE: delete_source,
}
