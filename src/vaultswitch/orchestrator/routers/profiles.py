"""Business profiles: ``POST /v2/profiles`` (admin + ``X-Merchant-Id``), ``GET/PUT
/v2/profiles/{id}`` (admin + ``X-Merchant-Id``, or the merchant's own API key).

The vault settings are Hyperswitch's: ``is_external_vault_enabled`` (a boolean as in v2;
v1's ``"enable"`` / ``"skip"`` are accepted too) and ``external_vault_connector_details``
naming a ``vault_processor`` connector account of the same merchant. Disabled, cards go
to the internal vault (our own vault, through the same VGS connector).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from sqlalchemy.engine import Connection

from vaultswitch.orchestrator.auth import AdminMerchant, MerchantOrAdmin
from vaultswitch.orchestrator.context import Ctx
from vaultswitch.orchestrator.errors import invalid_data, not_found
from vaultswitch.orchestrator.repos import connector_accounts as accounts_repo
from vaultswitch.orchestrator.repos import profiles as repo
from vaultswitch.orchestrator.repos.profiles import Profile

from .common import iso

router = APIRouter(tags=["profiles"])

DETAILS = "external_vault_connector_details"
VaultTokenType = Literal[
    "card_number",
    "card_cvc",
    "card_expiry_year",
    "card_expiry_month",
    "network_token",
    "network_token_expiry_year",
    "network_token_expiry_month",
    "network_token_cryptogram",
]


def _vault_flag(value: Any) -> Any:
    """v2 booleans, or v1's ``ExternalVaultEnabled`` strings."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str) and value.strip().lower() in ("enable", "skip"):
        return value.strip().lower() == "enable"
    raise ValueError('must be true, false, "enable" or "skip"')


VaultFlag = Annotated[bool | None, BeforeValidator(_vault_flag)]


class VaultTokenField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token_type: VaultTokenType | None = None


class ExternalVaultConnectorDetails(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vault_connector_id: str = Field(min_length=1, max_length=80)
    vault_sdk: Literal["vgs_sdk", "hyperswitch_sdk"] | None = None
    vault_token_selector: list[VaultTokenField] | None = Field(default=None, max_length=16)
    multi_token: bool | None = Field(
        default=None,
        description="Store one alias per card field (VOLATILE) instead of one JSON alias.",
    )


class ProfileCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile_name: str = Field(min_length=1, max_length=64)
    return_url: str | None = Field(default=None, max_length=2048)
    metadata: dict[str, Any] | None = None
    is_external_vault_enabled: VaultFlag = None
    external_vault_connector_details: ExternalVaultConnectorDetails | None = None


class ProfileUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile_name: str | None = Field(default=None, min_length=1, max_length=64)
    return_url: str | None = Field(default=None, max_length=2048)
    metadata: dict[str, Any] | None = None
    is_external_vault_enabled: VaultFlag = None
    external_vault_connector_details: ExternalVaultConnectorDetails | None = None


class ProfileResponse(BaseModel):
    merchant_id: str
    id: str
    profile_name: str
    return_url: str | None
    enable_payment_response_hash: bool = True
    redirect_to_merchant_with_http_post: bool = False
    metadata: dict[str, Any] | None
    is_tax_connector_enabled: bool = False
    is_network_tokenization_enabled: bool = False
    is_click_to_pay_enabled: bool = False
    is_clear_pan_retries_enabled: bool = False
    split_txns_enabled: str = "skip"
    is_external_vault_enabled: bool
    external_vault_connector_details: dict[str, Any] | None
    created_at: str | None
    modified_at: str | None


def profile_response(profile: Profile) -> ProfileResponse:
    return ProfileResponse(
        merchant_id=profile.merchant_id,
        id=profile.id,
        profile_name=profile.profile_name,
        return_url=profile.return_url,
        metadata=profile.metadata,
        is_external_vault_enabled=profile.is_external_vault_enabled,
        external_vault_connector_details=profile.external_vault_connector_details,
        created_at=iso(profile.created_at),
        modified_at=iso(profile.modified_at),
    )


def _details_json(details: ExternalVaultConnectorDetails) -> dict[str, Any]:
    return details.model_dump(exclude_none=True)


def check_vault_settings(
    conn: Connection, merchant_id: str, enabled: bool, details: dict[str, Any] | None
) -> None:
    """Enabled needs details; the details must name this merchant's vault connector account."""
    if enabled and not details:
        raise invalid_data(
            DETAILS,
            "is required when is_external_vault_enabled is true",
            hint="Create a vault connector account (POST /v2/connector-accounts with "
            'connector_type "vault_processor") and send {"external_vault_connector_details": '
            '{"vault_connector_id": "<its id>"}}.',
        )
    if not details:
        return
    field = f"{DETAILS}.vault_connector_id"
    account = accounts_repo.get(conn, merchant_id, str(details.get("vault_connector_id")))
    if account is None:
        raise invalid_data(
            field,
            "no connector account of this merchant has that id",
            hint="Use the id POST /v2/connector-accounts answered for the vault connector.",
        )
    if account.connector_type != accounts_repo.VAULT_PROCESSOR:
        raise invalid_data(
            field,
            f"names a {account.connector_type} account, not a vault_processor",
            hint='Name a connector account created with connector_type "vault_processor".',
        )


@router.post("/v2/profiles")
async def create_profile(body: ProfileCreate, ctx: Ctx, caller: AdminMerchant) -> ProfileResponse:
    details = (
        _details_json(body.external_vault_connector_details)
        if body.external_vault_connector_details
        else None
    )
    enabled = bool(body.is_external_vault_enabled)

    def create(conn: Connection) -> Profile:
        check_vault_settings(conn, caller.merchant_id, enabled, details)
        return repo.create(
            conn,
            caller.merchant_id,
            body.profile_name,
            return_url=body.return_url,
            metadata=body.metadata,
            is_external_vault_enabled=enabled,
            external_vault_connector_details=details,
        )

    return profile_response(await ctx.db.write(create))


@router.get("/v2/profiles/{profile_id}")
async def retrieve_profile(profile_id: str, ctx: Ctx, caller: MerchantOrAdmin) -> ProfileResponse:
    profile = await ctx.db.read(lambda conn: repo.get(conn, caller.merchant_id, profile_id))
    if profile is None:
        raise not_found("Profile")
    return profile_response(profile)


def _changes(body: ProfileUpdate) -> dict[str, Any]:
    given = body.model_fields_set
    changes: dict[str, Any] = {}
    for name in ("profile_name", "return_url", "metadata"):
        if name in given:
            value = getattr(body, name)
            if name == "profile_name" and value is None:
                continue
            changes[name] = value
    if "is_external_vault_enabled" in given and body.is_external_vault_enabled is not None:
        changes["is_external_vault_enabled"] = body.is_external_vault_enabled
    if DETAILS in given:
        details = body.external_vault_connector_details
        changes[DETAILS] = _details_json(details) if details else None
    return changes


def apply_update(
    conn: Connection, merchant_id: str, profile_id: str, body: ProfileUpdate
) -> Profile:
    """``PUT /v2/profiles/{id}`` inside a write transaction (the API and the control center):
    the vault settings are checked, only the fields sent change."""
    current = repo.get(conn, merchant_id, profile_id)
    if current is None:
        raise not_found("Profile")
    changes = _changes(body)
    enabled = changes.get("is_external_vault_enabled", current.is_external_vault_enabled)
    details = changes.get(DETAILS, current.external_vault_connector_details)
    if "is_external_vault_enabled" in changes or DETAILS in changes:
        check_vault_settings(conn, merchant_id, enabled, details)
    updated = repo.update(conn, merchant_id, profile_id, changes)
    assert updated is not None
    return updated


@router.put("/v2/profiles/{profile_id}")
async def update_profile(
    profile_id: str, body: ProfileUpdate, ctx: Ctx, caller: MerchantOrAdmin
) -> ProfileResponse:
    """Partial update: only the fields sent change (``null`` clears an optional one)."""
    merchant_id = caller.merchant_id
    updated = await ctx.db.write(lambda conn: apply_update(conn, merchant_id, profile_id, body))
    return profile_response(updated)
