"""Vault migrations (merchant API key, or the admin key with ``X-Merchant-Id``): move the
payment methods stored through one vault connector account to another, in steps.

- ``POST /v2/vault-migrations`` starts one, or continues the open migration of the same
  two accounts and customer (``resumed: true``);
- ``POST /v2/vault-migrations/{id}/step`` moves the next batch (at most 20), ``.../verify``
  compares the copies of the next batch of moved ones, ``.../delete-source`` deletes the
  source aliases of the next batch of verified ones; each answers the batch's results and
  whether more remain (``more``), and several may run at once;
- ``GET /v2/vault-migrations/{id}`` the counts; ``GET .../items`` every payment method's
  results, page by page.

`vaultswitch migrate` drives these; see docs/migrate.md.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from vaultswitch.orchestrator import vault_migrations as service
from vaultswitch.orchestrator.auth import MerchantOrAdmin
from vaultswitch.orchestrator.context import Ctx
from vaultswitch.orchestrator.errors import invalid_value
from vaultswitch.orchestrator.repos import vault_migrations as repo
from vaultswitch.orchestrator.repos.vault_migrations import Counts, Migration, Outcome, Phase

from .common import Limit, Offset, iso

router = APIRouter(tags=["vault migrations"])

#: What an id of this API looks like (generated ids are letters, digits and ``_``): anything
#: else, a NUL character say (PostgreSQL refuses those), is a 400 naming the field.
ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,80}$"
AccountId = Annotated[
    str,
    Field(
        pattern=ID_PATTERN,
        description='A vault connector account id of this merchant, or "internal" for the '
        "internal vault.",
    ),
]
MigrationId = Annotated[str, PathParam(pattern=ID_PATTERN, description="The migration's id.")]


class VaultMigrationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_connector_id: AccountId
    to_connector_id: AccountId
    customer_id: str | None = Field(
        default=None, pattern=ID_PATTERN, description="Only this customer's cards."
    )
    limit: int | None = Field(
        default=None,
        ge=1,
        le=10_000_000,
        description="At most this many payment methods in the migration (a later start with "
        "a larger limit, or none, adds more).",
    )
    dry_run: bool = Field(
        default=False,
        description="Read every card from the source and check it, write nothing anywhere.",
    )
    token_mode: Literal["keep", "single", "multi"] = Field(
        default="keep",
        description="How the target stores the cards: keep each payment method's shape "
        "(a proxy card becomes multi-token), or all single-token, or all multi-token.",
    )


class StepRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(default=service.MAX_BATCH, ge=1, le=service.MAX_BATCH)
    restart: bool = Field(
        default=False,
        description="Begin a new pass first: move and delete-source try the payment methods "
        "they failed on again, verify verifies every moved one again.",
    )


class MoveCounts(BaseModel):
    pending: int
    moved: int
    would_move: int
    skipped: int
    failed: int


class VerifyCounts(BaseModel):
    pending: int
    ok: int
    mismatch: int
    failed: int
    skipped: int


class SourceCounts(BaseModel):
    pending: int
    deleted: int
    kept: int
    failed: int


class TodoCounts(BaseModel):
    move: int
    verify: int
    delete_source: int


class VaultMigrationResponse(BaseModel):
    id: str
    merchant_id: str
    profile_id: str
    from_connector_id: str
    to_connector_id: str
    customer_id: str | None
    limit: int | None
    dry_run: bool
    token_mode: str
    status: service.MigrationStatus
    total: int
    counts: MoveCounts
    verify: VerifyCounts = Field(description="Of the moved payment methods.")
    source: SourceCounts = Field(description="Of the moved payment methods.")
    todo: TodoCounts = Field(
        description="Per phase, the payment methods it has still to do (step: move; verify: "
        "moved, not verified; delete-source: verified ok, source aliases still there)."
    )
    created: str | None
    modified_at: str | None
    resumed: bool | None = None


class StepResult(BaseModel):
    payment_method_id: str
    status: str
    reason: str | None = Field(description="A code: `vaultswitch explain CODE` says more.")
    message: str | None
    hint: str | None


class StepResponse(BaseModel):
    migration: VaultMigrationResponse
    results: list[StepResult]
    more: bool = Field(description="Payment methods remain for this phase.")


class ItemResponse(BaseModel):
    payment_method_id: str
    status: str
    reason: str | None
    message: str | None
    verify: str | None
    verify_reason: str | None
    source: str | None
    source_reason: str | None


class ItemsResponse(BaseModel):
    count: int
    total_count: int
    data: list[ItemResponse]


def _response(
    migration: Migration, counts: Counts, resumed: bool | None = None
) -> VaultMigrationResponse:
    return VaultMigrationResponse(
        id=migration.id,
        merchant_id=migration.merchant_id,
        profile_id=migration.profile_id,
        from_connector_id=migration.from_connector_id,
        to_connector_id=migration.to_connector_id,
        customer_id=migration.customer_id,
        limit=migration.limit,
        dry_run=migration.dry_run,
        token_mode=migration.token_mode,
        status=service.status_of(migration, counts),
        total=counts.total,
        counts=MoveCounts(**counts.move),
        verify=VerifyCounts(**counts.verify),
        source=SourceCounts(**counts.source),
        todo=TodoCounts(**counts.todo),
        created=iso(migration.created_at),
        modified_at=iso(migration.modified_at),
        resumed=resumed,
    )


def _result(outcome: Outcome) -> StepResult:
    return StepResult(
        payment_method_id=outcome.payment_method_id,
        status=outcome.status,
        reason=outcome.reason,
        message=outcome.message,
        hint=outcome.hint,
    )


@router.post("/v2/vault-migrations")
async def create_migration(
    body: VaultMigrationCreate, ctx: Ctx, caller: MerchantOrAdmin
) -> VaultMigrationResponse:
    started = await service.start(
        ctx,
        caller,
        service.StartRequest(
            from_connector_id=body.from_connector_id,
            to_connector_id=body.to_connector_id,
            customer_id=body.customer_id,
            limit=body.limit,
            dry_run=body.dry_run,
            token_mode=body.token_mode,
        ),
    )
    return _response(started.migration, started.counts, started.resumed)


@router.get("/v2/vault-migrations/{migration_id}")
async def retrieve_migration(
    migration_id: MigrationId, ctx: Ctx, caller: MerchantOrAdmin
) -> VaultMigrationResponse:
    migration, counts = await service.get(ctx, caller, migration_id)
    return _response(migration, counts)


@router.get("/v2/vault-migrations/{migration_id}/items")
async def list_migration_items(
    migration_id: MigrationId,
    ctx: Ctx,
    caller: MerchantOrAdmin,
    offset: Offset = 0,
    limit: Limit = 100,
    status: Annotated[
        str | None,
        Query(description="One or several move statuses, comma-separated (failed,skipped)."),
    ] = None,
) -> ItemsResponse:
    statuses = tuple(s.strip() for s in (status or "").split(",") if s.strip())
    unknown = [s for s in statuses if s not in repo.MOVE_STATUSES]
    if unknown:
        raise invalid_value("status", f"must be one or several of {', '.join(repo.MOVE_STATUSES)}")
    total, found = await service.items(
        ctx, caller, migration_id, offset=offset, limit=limit, statuses=statuses
    )
    return ItemsResponse(
        count=len(found),
        total_count=total,
        data=[
            ItemResponse(
                payment_method_id=item.payment_method_id,
                status=item.status,
                reason=item.reason,
                message=item.message,
                verify=item.verify_status,
                verify_reason=item.verify_reason,
                source=item.source_status,
                source_reason=item.source_reason,
            )
            for item in found
        ],
    )


async def _step(
    ctx: Ctx, caller: MerchantOrAdmin, migration_id: str, phase: Phase, body: StepRequest | None
) -> StepResponse:
    options = body or StepRequest()
    stepped = await service.step(
        ctx, caller, migration_id, phase, size=options.batch_size, restart=options.restart
    )
    return StepResponse(
        migration=_response(stepped.migration, stepped.counts),
        results=[_result(outcome) for outcome in stepped.outcomes],
        more=stepped.more,
    )


@router.post("/v2/vault-migrations/{migration_id}/step")
async def step_migration(
    migration_id: MigrationId, ctx: Ctx, caller: MerchantOrAdmin, body: StepRequest | None = None
) -> StepResponse:
    """Move the next batch: reveal from the source, insert into the target, switch."""
    return await _step(ctx, caller, migration_id, Phase.MOVE, body)


@router.post("/v2/vault-migrations/{migration_id}/verify")
async def verify_migration(
    migration_id: MigrationId, ctx: Ctx, caller: MerchantOrAdmin, body: StepRequest | None = None
) -> StepResponse:
    """Compare the source and target copies of the next batch of moved payment methods."""
    return await _step(ctx, caller, migration_id, Phase.VERIFY, body)


@router.post("/v2/vault-migrations/{migration_id}/delete-source")
async def delete_migration_source(
    migration_id: MigrationId, ctx: Ctx, caller: MerchantOrAdmin, body: StepRequest | None = None
) -> StepResponse:
    """Delete the source aliases of the next batch of verified payment methods (those no
    other payment method holds)."""
    return await _step(ctx, caller, migration_id, Phase.DELETE_SOURCE, body)
