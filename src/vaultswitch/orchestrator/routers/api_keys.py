"""Merchant API keys (admin + ``X-Merchant-Id``): create (the key is shown once), list,
retrieve, update, revoke.

Keys are ``snd_<64 random alphanumerics>``; the database keeps an HMAC-SHA256 of the key
(under a key derived from the orchestrator's master key) and the first 12 characters
for display.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Connection

from vaultswitch.orchestrator import ids
from vaultswitch.orchestrator.auth import AdminMerchant
from vaultswitch.orchestrator.context import Ctx
from vaultswitch.orchestrator.db import utcnow
from vaultswitch.orchestrator.errors import invalid_data, not_found
from vaultswitch.orchestrator.repos import api_keys as repo
from vaultswitch.orchestrator.repos.api_keys import ApiKey

from .common import Limit, Offset, iso, parse_datetime

router = APIRouter(tags=["api keys"])


class CreateApiKeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    description: str | None = Field(default=None, max_length=256)
    expiration: str = Field(description='"never" or an ISO-8601 date-time', max_length=64)


class UpdateApiKeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=64)
    description: str | None = Field(default=None, max_length=256)
    expiration: str | None = Field(default=None, max_length=64)


class RetrieveApiKeyResponse(BaseModel):
    key_id: str
    merchant_id: str
    name: str
    description: str | None
    prefix: str
    created: str | None
    expiration: str | None


class CreateApiKeyResponse(BaseModel):
    key_id: str
    merchant_id: str
    name: str
    description: str | None
    api_key: str = Field(description="The key itself; shown only in this response.")
    created: str | None
    expiration: str | None


class RevokeApiKeyResponse(BaseModel):
    merchant_id: str
    key_id: str
    revoked: bool


def _expires_at(value: str) -> datetime | None:
    if value.strip().lower() == "never":
        return None
    moment = parse_datetime(value.strip(), "expiration")
    if moment <= utcnow():
        raise invalid_data(
            "expiration", "must be in the future", hint='Use "never" or a later date-time.'
        )
    return moment


def _expiration(key: ApiKey) -> str | None:
    return "never" if key.expires_at is None else iso(key.expires_at)


def _retrieve_response(key: ApiKey) -> RetrieveApiKeyResponse:
    return RetrieveApiKeyResponse(
        key_id=key.key_id,
        merchant_id=key.merchant_id,
        name=key.name,
        description=key.description,
        prefix=key.prefix,
        created=iso(key.created_at),
        expiration=_expiration(key),
    )


@router.post("/v2/api-keys")
async def create_api_key(
    body: CreateApiKeyRequest, ctx: Ctx, caller: AdminMerchant
) -> CreateApiKeyResponse:
    expires_at = _expires_at(body.expiration)
    plaintext = ids.api_key()
    key_hash = ctx.keyring.hash_api_key(plaintext)

    def create(conn: Connection) -> ApiKey:
        return repo.create(
            conn,
            caller.merchant_id,
            name=body.name,
            description=body.description,
            expires_at=expires_at,
            plaintext=plaintext,
            key_hash=key_hash,
        )

    key = await ctx.db.write(create)
    return CreateApiKeyResponse(
        key_id=key.key_id,
        merchant_id=key.merchant_id,
        name=key.name,
        description=key.description,
        api_key=plaintext,
        created=iso(key.created_at),
        expiration=_expiration(key),
    )


@router.get("/v2/api-keys/list")
async def list_api_keys(
    ctx: Ctx, caller: AdminMerchant, limit: Limit = 100, skip: Offset = 0
) -> list[RetrieveApiKeyResponse]:
    keys = await ctx.db.read(
        lambda conn: repo.list_for_merchant(conn, caller.merchant_id, limit=limit, skip=skip)
    )
    return [_retrieve_response(key) for key in keys]


@router.get("/v2/api-keys/{key_id}")
async def retrieve_api_key(key_id: str, ctx: Ctx, caller: AdminMerchant) -> RetrieveApiKeyResponse:
    key = await ctx.db.read(lambda conn: repo.get(conn, caller.merchant_id, key_id))
    if key is None:
        raise not_found("API key")
    return _retrieve_response(key)


@router.put("/v2/api-keys/{key_id}")
async def update_api_key(
    key_id: str, body: UpdateApiKeyRequest, ctx: Ctx, caller: AdminMerchant
) -> RetrieveApiKeyResponse:
    changes: dict[str, object] = {}
    if body.name is not None:
        changes["name"] = body.name
    if "description" in body.model_fields_set:
        changes["description"] = body.description
    if body.expiration is not None:
        changes["expires_at"] = _expires_at(body.expiration)

    def update(conn: Connection) -> ApiKey | None:
        return repo.update(conn, caller.merchant_id, key_id, changes)

    key = await ctx.db.write(update)
    if key is None:
        raise not_found("API key")
    return _retrieve_response(key)


@router.delete("/v2/api-keys/{key_id}")
async def revoke_api_key(key_id: str, ctx: Ctx, caller: AdminMerchant) -> RevokeApiKeyResponse:
    revoked = await ctx.db.write(lambda conn: repo.revoke(conn, caller.merchant_id, key_id))
    if not revoked:
        raise not_found("API key")
    return RevokeApiKeyResponse(merchant_id=caller.merchant_id, key_id=key_id, revoked=True)
