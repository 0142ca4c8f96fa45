"""Moving a merchant's payment methods from one vault connector account to another.

A migration covers the payment methods stored through its source account (optionally one
customer's, at most ``limit``) and goes through three phases, each driven by steps of at
most 20 payment methods (:mod:`.vault_migration_phases` does the vault work):

1. **move**: reveal the card from the source vault, insert it into the target vault as a
   save into that vault does (:func:`vaulting.save_card`), and switch the payment method
   to the target copy in one transaction (conditional on it still being in the source).
   The source aliases stay: a payment that read the old reference still works.
2. **verify**: reveal both copies and compare their keyed fingerprints.
3. **delete the source**: for verified payment methods, delete the source aliases no other
   payment method holds.

Starting a migration of the same two accounts (and customer) again continues the open
one: claims of a run that was killed are released, what failed is tried again, payment
methods saved into the source since are added. A migration is over once the source
aliases of everything it moved are dealt with; the next start begins a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy.engine import Connection

from . import ids, vaulting
from .auth import Caller
from .context import AppContext
from .db import utcnow
from .errors import ApiError, invalid_data, not_found
from .log import logger
from .repos import connector_accounts as accounts_repo
from .repos import customers as customers_repo
from .repos import vault_migrations as repo
from .repos.vault_migrations import Counts, Migration, Outcome, Phase
from .vault_migration_phases import PHASES, Vaults

TokenMode = Literal["keep", "single", "multi"]
#: Payment methods per step.
MAX_BATCH = 20

MigrationStatus = Literal["running", "completed", "source_deleted"]
RUNNING: MigrationStatus = "running"
COMPLETED: MigrationStatus = "completed"
SOURCE_DELETED: MigrationStatus = "source_deleted"


@dataclass(frozen=True, slots=True)
class StartRequest:
    from_connector_id: str
    to_connector_id: str
    customer_id: str | None
    limit: int | None
    dry_run: bool
    token_mode: TokenMode


@dataclass(frozen=True, slots=True)
class Started:
    migration: Migration
    counts: Counts
    resumed: bool


@dataclass(frozen=True, slots=True)
class Stepped:
    migration: Migration
    counts: Counts
    outcomes: list[Outcome]
    more: bool


def status_of(migration: Migration, counts: Counts) -> MigrationStatus:
    if counts.move[repo.PENDING]:
        return RUNNING
    return SOURCE_DELETED if migration.source_deleted_at is not None else COMPLETED


# --- which vaults ----------------------------------------------------------------------------


def _check_account(conn: Connection, caller: Caller, field: str, account_id: str) -> None:
    """A vault connector account of this merchant (or ``internal``, the internal vault)."""
    if account_id == vaulting.INTERNAL:
        return
    account = accounts_repo.get(conn, caller.merchant_id, account_id)
    if account is None:
        raise ApiError(
            404,
            "HE_02",
            "Vault connector account does not exist in our records",
            hint=f"Check {field}: GET /v2/connector-accounts/{{id}} shows an account; use the "
            'id of a connector_type "vault_processor" account of this merchant, or '
            '"internal" for the internal vault.',
            type_="object_not_found",
            field=field,
        )
    if account.connector_type != accounts_repo.VAULT_PROCESSOR:
        raise invalid_data(
            field,
            f"is a {account.connector_type} account, not a vault connector account",
            hint=f'Use the id of a connector_type "vault_processor" account in {field}.',
        )


def _vaults(
    ctx: AppContext, conn: Connection, merchant_id: str, from_id: str, to_id: str
) -> Vaults:
    """The two vaults, each usable (424 naming the fix otherwise)."""
    return Vaults(
        vaulting.stored_vault(ctx, conn, merchant_id, from_id),
        vaulting.stored_vault(ctx, conn, merchant_id, to_id),
    )


async def _check_tokens(ctx: AppContext, vaults: Vaults) -> None:
    """Fetch an access token from each vault, so that wrong credentials fail the start
    (with the vault's own error and hint) rather than every payment method."""
    for target in (vaults.source, vaults.target):
        if target.connector.requires_access_token(target.credentials):
            await ctx.vault_client.access_token(target.connector, target.credentials)


# --- start ---------------------------------------------------------------------------------


async def start(ctx: AppContext, caller: Caller, request: StartRequest) -> Started:
    """Create a migration, or continue the open one of the same accounts and customer."""
    if request.from_connector_id == request.to_connector_id:
        raise invalid_data(
            "to_connector_id",
            "is the same account as from_connector_id",
            hint="Name two different vault connector accounts: the one the payment methods "
            "are in (from_connector_id) and the one to move them to (to_connector_id).",
        )
    merchant_id = caller.merchant_id

    def prepare(conn: Connection) -> Vaults:
        _check_account(conn, caller, "from_connector_id", request.from_connector_id)
        _check_account(conn, caller, "to_connector_id", request.to_connector_id)
        if request.customer_id is not None and not customers_repo.exists(
            conn, merchant_id, request.customer_id
        ):
            raise not_found("Customer", "Check customer_id, or leave it out to move every card.")
        return _vaults(ctx, conn, merchant_id, request.from_connector_id, request.to_connector_id)

    vaults = await ctx.db.read(prepare)
    await _check_tokens(ctx, vaults)

    def begin(conn: Connection) -> Started:
        existing = None
        if not request.dry_run:
            existing = repo.find_open(
                conn,
                merchant_id,
                request.from_connector_id,
                request.to_connector_id,
                request.customer_id,
            )
        if existing is not None:
            repo.update(conn, existing.id, limit_count=request.limit, token_mode=request.token_mode)
            repo.restart(conn, existing.id, Phase.MOVE)
            migration = repo.get(conn, merchant_id, existing.id)
            assert migration is not None
        else:
            migration = repo.create(
                conn,
                {
                    "id": ids.prefixed_id("vmig"),
                    "merchant_id": merchant_id,
                    "profile_id": caller.profile_id,
                    "from_connector_id": request.from_connector_id,
                    "to_connector_id": request.to_connector_id,
                    "customer_id": request.customer_id,
                    "limit_count": request.limit,
                    "dry_run": request.dry_run,
                    "token_mode": request.token_mode,
                },
            )
        added = repo.add_items(conn, migration)
        logger().info(
            "vault_migration.start",
            migration_id=migration.id,
            resumed=existing is not None,
            added=added,
            dry_run=migration.dry_run,
        )
        return Started(migration, repo.counts(conn, migration.id), existing is not None)

    return await ctx.db.write(begin)


# --- read ----------------------------------------------------------------------------------


def _load(conn: Connection, caller: Caller, migration_id: str) -> Migration:
    migration = repo.get(conn, caller.merchant_id, migration_id)
    if migration is None:
        raise not_found(
            "Vault migration", "Check the migration id (POST /v2/vault-migrations answers it)."
        )
    return migration


async def get(ctx: AppContext, caller: Caller, migration_id: str) -> tuple[Migration, Counts]:
    def read(conn: Connection) -> tuple[Migration, Counts]:
        migration = _load(conn, caller, migration_id)
        return migration, repo.counts(conn, migration.id)

    return await ctx.db.read(read)


async def items(
    ctx: AppContext,
    caller: Caller,
    migration_id: str,
    *,
    offset: int,
    limit: int,
    statuses: tuple[str, ...],
) -> tuple[int, list[repo.Item]]:
    def read(conn: Connection) -> tuple[int, list[repo.Item]]:
        migration = _load(conn, caller, migration_id)
        return repo.list_items(
            conn, ctx.keyring, migration.id, offset=offset, limit=limit, statuses=statuses
        )

    return await ctx.db.read(read)


# --- steps ---------------------------------------------------------------------------------


async def step(
    ctx: AppContext,
    caller: Caller,
    migration_id: str,
    phase: Phase,
    *,
    size: int = MAX_BATCH,
    restart: bool = False,
) -> Stepped:
    """Run ``phase`` on the next ``size`` payment methods no other step is working on.
    ``restart``: begin a new pass first (see :func:`repo.restart`)."""

    def prepare(conn: Connection) -> tuple[Migration, Vaults]:
        migration = _load(conn, caller, migration_id)
        if phase is not Phase.MOVE and migration.dry_run:
            raise invalid_data(
                "dry_run",
                "a dry run moved nothing, so there is nothing to verify or delete",
                hint="Run the migration without dry_run (POST /v2/vault-migrations), then "
                "verify it.",
            )
        vaults = _vaults(
            ctx, conn, caller.merchant_id, migration.from_connector_id, migration.to_connector_id
        )
        return migration, vaults

    migration, vaults = await ctx.db.read(prepare)

    def claim(conn: Connection) -> tuple[str, list[repo.Item]]:
        if restart:
            repo.restart(conn, migration.id, phase)
        return repo.claim(conn, ctx.keyring, migration.id, phase, size)

    token, claimed = await ctx.db.write(claim)
    outcomes: list[Outcome] = []
    try:
        if claimed:
            run = PHASES[phase]
            outcomes = await run(ctx, caller, migration, vaults, token, claimed)
    finally:
        if claimed:
            await ctx.db.write(lambda conn: repo.release(conn, migration.id, token))

    def after(conn: Connection) -> tuple[Migration, Counts, bool]:
        more = repo.has_work(conn, migration.id, phase)
        if phase is Phase.DELETE_SOURCE and not more:
            _finish_if_over(conn, migration)
        current = repo.get(conn, caller.merchant_id, migration.id)
        assert current is not None
        return current, repo.counts(conn, migration.id), more

    current, counts, more = await ctx.db.write(after)
    _log_step(migration.id, phase, outcomes)
    return Stepped(current, counts, outcomes, more)


def _finish_if_over(conn: Connection, migration: Migration) -> None:
    """Mark the migration over when everything it covers is moved (or skipped) and every
    moved payment method's source aliases are deleted or deliberately kept."""
    counts = repo.counts(conn, migration.id)
    unfinished = (
        counts.move[repo.PENDING]
        + counts.move[repo.FAILED]
        + counts.source[repo.PENDING]
        + counts.source[repo.FAILED]
    )
    if unfinished == 0 and migration.source_deleted_at is None:
        repo.update(conn, migration.id, source_deleted_at=utcnow())


def _log_step(migration_id: str, phase: Phase, outcomes: list[Outcome]) -> None:
    tally: dict[str, int] = {}
    for outcome in outcomes:
        tally[outcome.status] = tally.get(outcome.status, 0) + 1
    logger().info("vault_migration.step", migration_id=migration_id, phase=phase.value, **tally)
