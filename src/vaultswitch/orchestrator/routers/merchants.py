"""``POST /v2/merchant-accounts`` (admin) and ``GET /v2/merchant-accounts/{id}``.

Unlike Hyperswitch v2, creating a merchant also creates its default profile (answered as
``default_profile``), so a new merchant can work at once; ``X-Organization-Id`` is optional.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.engine import Connection

from vaultswitch.orchestrator.auth import Admin
from vaultswitch.orchestrator.context import Ctx
from vaultswitch.orchestrator.errors import not_found
from vaultswitch.orchestrator.repos import merchants as repo
from vaultswitch.orchestrator.repos.merchants import Merchant

from .common import iso

router = APIRouter(tags=["merchant accounts"])


class MerchantAccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    merchant_name: str = Field(min_length=1, max_length=64)
    metadata: dict[str, Any] | None = None

    @field_validator("merchant_name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class MerchantAccountResponse(BaseModel):
    id: str
    merchant_name: str
    merchant_details: dict[str, Any] | None = None
    publishable_key: str
    metadata: dict[str, Any] | None = None
    organization_id: str
    recon_status: str = "not_requested"
    product_type: str = "orchestration"
    default_profile: str
    created_at: str | None
    modified_at: str | None


def merchant_response(merchant: Merchant) -> MerchantAccountResponse:
    return MerchantAccountResponse(
        id=merchant.id,
        merchant_name=merchant.merchant_name,
        publishable_key=merchant.publishable_key,
        metadata=merchant.metadata,
        organization_id=merchant.organization_id,
        default_profile=merchant.default_profile_id,
        created_at=iso(merchant.created_at),
        modified_at=iso(merchant.modified_at),
    )


@router.post("/v2/merchant-accounts")
async def create_merchant_account(
    body: MerchantAccountCreate,
    ctx: Ctx,
    _: Admin,
    x_organization_id: str | None = Header(default=None, max_length=80),
) -> MerchantAccountResponse:
    """Create a merchant and its default profile."""

    def create(conn: Connection) -> Merchant:
        return repo.create(
            conn,
            body.merchant_name,
            metadata=body.metadata,
            organization_id=(x_organization_id or "").strip() or None,
        )

    return merchant_response(await ctx.db.write(create))


@router.get("/v2/merchant-accounts/{merchant_id}")
async def retrieve_merchant_account(
    merchant_id: str, ctx: Ctx, _: Admin
) -> MerchantAccountResponse:
    merchant = await ctx.db.read(lambda conn: repo.get(conn, merchant_id))
    if merchant is None:
        raise not_found("Merchant account")
    return merchant_response(merchant)
