"""Connector accounts (Hyperswitch's merchant connector accounts) and vault activation.

Create, update, delete and verify take the admin key + ``X-Merchant-Id``; retrieve and
the per-profile list also take the merchant's own API key. Credentials are sealed at rest
and answered masked (first two + last two characters). A ``vault_processor`` account is
activated by a connection test (an access token, then a vault read that writes nothing):
``status`` is ``active`` when it passed and ``inactive`` otherwise, and ``verification``
says which check failed and how to fix it. A failing account is kept so that a ``PUT``
can fix it; ``POST /v2/connector-accounts/{id}/verify`` runs the test again, or with
``{"checks": "doctor"}`` every ``vaultswitch doctor`` check (merchant key too; stores nothing).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Connection

from vaultswitch.client.checks.doctor import DoctorOptions, run_doctor_async
from vaultswitch.connectors.base import StorageType
from vaultswitch.orchestrator import ids
from vaultswitch.orchestrator.accounts import (
    AccountSecrets,
    account_kind,
    open_secrets,
    run_connection_test,
    seal_secrets,
)
from vaultswitch.orchestrator.auth import (
    AdminMerchant,
    MerchantOrAdmin,
    admin_merchant,
    merchant_or_admin,
)
from vaultswitch.orchestrator.connector_kinds import (
    DETAILS,
    ConnectorKind,
    check_credentials,
    kind_for,
    masked_details,
    masked_metadata,
    parse_credentials,
    vgs_connector,
)
from vaultswitch.orchestrator.context import AppContext, Ctx
from vaultswitch.orchestrator.db import utcnow
from vaultswitch.orchestrator.errors import invalid_data, not_found
from vaultswitch.orchestrator.repos import connector_accounts as repo
from vaultswitch.orchestrator.repos import profiles as profiles_repo
from vaultswitch.orchestrator.repos.connector_accounts import (
    ACTIVE,
    INACTIVE,
    VAULT_PROCESSOR,
    ConnectorAccount,
)

from .common import iso

router = APIRouter(tags=["connector accounts"])

ConnectorType = Literal["vault_processor", "payment_processor"]
Status = Literal["active", "inactive"]


class ConnectorAccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    connector_type: ConnectorType
    connector_name: str = Field(min_length=1, max_length=32)
    profile_id: str = Field(min_length=1, max_length=80)
    connector_label: str | None = Field(default=None, min_length=1, max_length=128)
    connector_account_details: dict[str, Any] | None = Field(
        default=None,
        description='vgs: {"auth_type": "SignatureKey", "api_key": <client id>, "key1": '
        '<client secret>, "api_secret": <vault id>}; sandbox: {"auth_type": "HeaderKey", '
        '"api_key": ...}',
    )
    metadata: dict[str, Any] | None = Field(
        default=None,
        description="vgs: {vault_base_url, auth_base_url, proxy_url, certificate}; "
        "sandbox: {base_url}",
    )
    disabled: bool | None = None
    status: Status | None = None


class ConnectorAccountUpdate(BaseModel):
    """Partial update: fields left out keep their value; credential fields left out of
    ``connector_account_details`` keep theirs; ``metadata`` keys are merged (a ``null``
    value removes a key)."""

    model_config = ConfigDict(extra="forbid")

    connector_type: ConnectorType | None = None
    merchant_id: str | None = Field(default=None, max_length=80)
    connector_label: str | None = Field(default=None, min_length=1, max_length=128)
    connector_account_details: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    disabled: bool | None = None
    status: Status | None = None


class Verification(BaseModel):
    ok: bool
    checks: list[dict[str, Any]]


class ConnectorAccountResponse(BaseModel):
    connector_type: str
    connector_name: str
    connector_label: str
    id: str
    profile_id: str
    connector_account_details: dict[str, str]
    payment_methods_enabled: list[dict[str, Any]] | None = None
    connector_webhook_details: dict[str, Any] | None = None
    metadata: dict[str, Any] | None
    disabled: bool
    frm_configs: list[dict[str, Any]] | None = None
    status: str
    verification: Verification | None
    verified_at: str | None
    created_at: str | None
    modified_at: str | None


class ConnectorAccountListItem(BaseModel):
    connector_type: str
    connector_name: str
    connector_label: str
    id: str
    profile_id: str
    payment_methods_enabled: list[dict[str, Any]] | None = None
    disabled: bool
    status: str
    verification: Verification | None


class ConnectorAccountDeleteResponse(BaseModel):
    merchant_id: str
    id: str
    deleted: bool


def account_response(ctx: Ctx, account: ConnectorAccount) -> ConnectorAccountResponse:
    kind = account_kind(account)
    secrets = open_secrets(ctx.keyring, account)
    return ConnectorAccountResponse(
        connector_type=account.connector_type,
        connector_name=account.connector_name,
        connector_label=account.connector_label,
        id=account.id,
        profile_id=account.profile_id,
        connector_account_details=masked_details(kind, secrets.credentials),
        metadata=masked_metadata(secrets.metadata),
        disabled=account.disabled,
        status=account.status,
        verification=_verification(account),
        verified_at=iso(account.verified_at),
        created_at=iso(account.created_at),
        modified_at=iso(account.modified_at),
    )


def _verification(account: ConnectorAccount) -> Verification | None:
    if account.verification is None:
        return None
    return Verification.model_validate(account.verification)


def _list_item(account: ConnectorAccount) -> ConnectorAccountListItem:
    return ConnectorAccountListItem(
        connector_type=account.connector_type,
        connector_name=account.connector_name,
        connector_label=account.connector_label,
        id=account.id,
        profile_id=account.profile_id,
        disabled=account.disabled,
        status=account.status,
        verification=_verification(account),
    )


def _check_metadata(kind: ConnectorKind, metadata: dict[str, Any] | None) -> dict[str, Any] | None:
    if metadata is None:
        kind.check_metadata({})
        return None
    return kind.check_metadata(metadata)


async def _activation(
    ctx: AppContext, kind: ConnectorKind, secrets: AccountSecrets, requested: str | None
) -> tuple[str, dict[str, Any] | None]:
    """(status, verification) for an account with these secrets."""
    if kind.connector_type != VAULT_PROCESSOR:
        return requested or ACTIVE, None
    connector = vgs_connector(secrets.metadata)
    credentials = check_credentials(kind, connector, secrets.credentials)
    verification = await run_connection_test(ctx, connector, credentials)
    status = ACTIVE if verification["ok"] and requested != INACTIVE else INACTIVE
    return status, verification


def _new_secrets(body: ConnectorAccountCreate) -> tuple[ConnectorKind, AccountSecrets]:
    """The kind and checked secrets of a new account (errors name the fields)."""
    kind = kind_for(body.connector_type, body.connector_name)
    values = parse_credentials(kind, body.connector_account_details)
    metadata = _check_metadata(kind, body.metadata)
    connector = vgs_connector(metadata) if kind.connector_type == VAULT_PROCESSOR else None
    check_credentials(kind, connector, values)
    return kind, AccountSecrets(values, metadata)


async def test_new_account(ctx: AppContext, body: ConnectorAccountCreate) -> dict[str, Any]:
    """The connection test of an account not created yet (nothing is stored):
    ``{ok, checks}``; processor accounts have none (``{ok: true, checks: []}``)."""
    kind, secrets = _new_secrets(body)
    _, verification = await _activation(ctx, kind, secrets, None)
    return verification or {"ok": True, "checks": []}


@router.post("/v2/connector-accounts")
async def create_connector_account(
    body: ConnectorAccountCreate, ctx: Ctx, caller: AdminMerchant
) -> ConnectorAccountResponse:
    return account_response(ctx, await create_account(ctx, caller.merchant_id, body))


async def create_account(
    ctx: AppContext, merchant_id: str, body: ConnectorAccountCreate
) -> ConnectorAccount:
    """``POST /v2/connector-accounts`` (the API and the control center): checks, the
    connection test, the stored account (kept, inactive, when the test failed)."""
    kind, secrets = _new_secrets(body)
    profile = await ctx.db.read(lambda conn: profiles_repo.get(conn, merchant_id, body.profile_id))
    if profile is None:
        raise not_found("Profile", "Check profile_id: it must be one of this merchant's profiles.")
    status, verification = await _activation(ctx, kind, secrets, body.status)
    account_id = ids.prefixed_id("mca")
    label = body.connector_label or f"{kind.connector_name}_{profile.profile_name}"

    def create(conn: Connection) -> ConnectorAccount:
        return repo.create(
            conn,
            {
                "id": account_id,
                "merchant_id": merchant_id,
                "profile_id": profile.id,
                "connector_type": kind.connector_type,
                "connector_name": kind.connector_name,
                "connector_label": label,
                "auth_type": kind.auth_type,
                "secrets_sealed": seal_secrets(ctx.keyring, account_id, secrets),
                "disabled": bool(body.disabled),
                "status": status,
                "verification": verification,
                "verified_at": utcnow() if verification is not None else None,
            },
        )

    return await ctx.db.write(create)


async def _load(ctx: AppContext, merchant_id: str, account_id: str) -> ConnectorAccount:
    account = await ctx.db.read(lambda conn: repo.get(conn, merchant_id, account_id))
    if account is None:
        raise not_found("Connector account")
    return account


@router.get("/v2/connector-accounts/{account_id}")
async def retrieve_connector_account(
    account_id: str, ctx: Ctx, caller: MerchantOrAdmin
) -> ConnectorAccountResponse:
    return account_response(ctx, await _load(ctx, caller.merchant_id, account_id))


def _merged_metadata(
    current: dict[str, Any] | None, changes: dict[str, Any]
) -> dict[str, Any] | None:
    merged = dict(current or {})
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged or None


@router.put("/v2/connector-accounts/{account_id}")
async def update_connector_account(
    account_id: str, body: ConnectorAccountUpdate, ctx: Ctx, caller: AdminMerchant
) -> ConnectorAccountResponse:
    """Partial update; new credentials or metadata re-run the connection test."""
    return account_response(ctx, await update_account(ctx, caller.merchant_id, account_id, body))


def _updated_secrets(
    ctx: AppContext, merchant_id: str, account: ConnectorAccount, body: ConnectorAccountUpdate
) -> tuple[ConnectorKind, AccountSecrets, AccountSecrets]:
    """(kind, current secrets, secrets after the update), the update's fields checked."""
    if body.merchant_id is not None and body.merchant_id != merchant_id:
        raise invalid_data("merchant_id", "does not match the X-Merchant-Id header")
    if body.connector_type is not None and body.connector_type != account.connector_type:
        raise invalid_data(
            "connector_type",
            f"is {account.connector_type} for this account and cannot change",
            hint="Create a new connector account for another connector type.",
        )
    kind = account_kind(account)
    current = open_secrets(ctx.keyring, account)
    given = body.model_fields_set
    values = current.credentials
    if DETAILS in given and body.connector_account_details is not None:
        values = parse_credentials(kind, body.connector_account_details, current.credentials)
    metadata = current.metadata
    if "metadata" in given and body.metadata is not None:
        metadata = _check_metadata(kind, _merged_metadata(current.metadata, body.metadata))
    secrets = AccountSecrets(values, metadata)
    if secrets != current and kind.connector_type == VAULT_PROCESSOR:
        check_credentials(kind, vgs_connector(metadata), values)
    return kind, current, secrets


async def update_account(
    ctx: AppContext, merchant_id: str, account_id: str, body: ConnectorAccountUpdate
) -> ConnectorAccount:
    """``PUT /v2/connector-accounts/{id}`` (the API and the control center)."""
    account = await _load(ctx, merchant_id, account_id)
    kind, current, secrets = _updated_secrets(ctx, merchant_id, account, body)
    changes: dict[str, Any] = {}
    if body.connector_label is not None:
        changes["connector_label"] = body.connector_label
    if body.disabled is not None:
        changes["disabled"] = body.disabled
    secrets_changed = secrets != current
    if secrets_changed:
        changes["secrets_sealed"] = seal_secrets(ctx.keyring, account.id, secrets)
    retest = kind.connector_type == VAULT_PROCESSOR and (secrets_changed or body.status == ACTIVE)
    if retest:
        status, verification = await _activation(ctx, kind, secrets, body.status)
        changes.update(status=status, verification=verification, verified_at=utcnow())
    elif body.status is not None:
        changes["status"] = body.status

    def update(conn: Connection) -> ConnectorAccount:
        updated = repo.update(conn, merchant_id, account.id, changes)
        if updated is None:
            raise not_found("Connector account")
        return updated

    return await ctx.db.write(update)


async def test_account_update(
    ctx: AppContext, merchant_id: str, account_id: str, body: ConnectorAccountUpdate
) -> dict[str, Any] | None:
    """The connection test of a vault account as the update would leave it, storing
    nothing; None when the update changes no credential or metadata (then
    :func:`verify_account` tests the stored ones)."""
    account = await _load(ctx, merchant_id, account_id)
    kind, current, secrets = _updated_secrets(ctx, merchant_id, account, body)
    if secrets == current or kind.connector_type != VAULT_PROCESSOR:
        return None
    _, verification = await _activation(ctx, kind, secrets, None)
    return verification


class VerifyRequest(BaseModel):
    """Optional body of ``POST /v2/connector-accounts/{id}/verify``. Without it (or with
    ``checks: "connection"``) the connection test runs and ``status`` follows it. With
    ``checks: "doctor"`` every ``vaultswitch doctor`` check runs with the stored credentials
    (``write``: also the insert-reveal-delete round trip; ``alias``: whether that alias
    exists, read with ``storage``); the merchant's own API key may ask, and nothing stored
    changes."""

    model_config = ConfigDict(extra="forbid")

    checks: Literal["connection", "doctor"] = "connection"
    write: bool = False
    alias: str | None = Field(default=None, min_length=1, max_length=256)
    storage: Literal["PERSISTENT", "VOLATILE"] | None = None


async def _doctor(ctx: Ctx, account: ConnectorAccount, body: VerifyRequest) -> Verification:
    secrets = open_secrets(ctx.keyring, account)
    connector = vgs_connector(secrets.metadata)
    credentials = check_credentials(account_kind(account), connector, secrets.credentials)
    options = DoctorOptions.for_account(
        secrets.metadata,
        write=body.write,
        alias=body.alias,
        alias_storage=StorageType(body.storage) if body.storage else None,
    )
    report = await run_doctor_async(ctx.vault_client, connector, credentials, options)
    return Verification.model_validate(report.to_dict())


@router.post("/v2/connector-accounts/{account_id}/verify")
async def verify_connector_account(
    account_id: str,
    ctx: Ctx,
    request: Request,
    body: Annotated[VerifyRequest | None, Body()] = None,
) -> ConnectorAccountResponse:
    """Run the connection test again (admin key); ``status`` follows its result. With
    ``{"checks": "doctor"}`` (merchant key or admin): every doctor check, answered in
    ``verification``; ``status`` and the stored verification stay as they are."""
    doctor = body is not None and body.checks == "doctor"
    caller = await (merchant_or_admin(request) if doctor else admin_merchant(request))
    if body is not None and not doctor and (body.write or body.alias or body.storage):
        raise invalid_data(
            "checks",
            'write, alias and storage go with "checks": "doctor"',
            hint='Send {"checks": "doctor", "write": true} (or "alias": "<alias>").',
        )
    account = await _load(ctx, caller.merchant_id, account_id)
    kind = account_kind(account)
    if kind.connector_type != VAULT_PROCESSOR:
        raise invalid_data(
            "connector_type",
            "only vault_processor accounts have a connection test",
            hint="Processor accounts are checked by their first payment.",
        )
    if doctor:
        assert body is not None
        response = account_response(ctx, account)
        response.verification = await _doctor(ctx, account, body)
        return response
    return account_response(ctx, await verify_account(ctx, account))


async def verify_account(ctx: AppContext, account: ConnectorAccount) -> ConnectorAccount:
    """Run a vault account's connection test again; ``status`` follows its result (the
    verify endpoint and the control center's "Test connection")."""
    kind = account_kind(account)
    if kind.connector_type != VAULT_PROCESSOR:
        raise invalid_data(
            "connector_type",
            "only vault_processor accounts have a connection test",
            hint="Processor accounts are checked by their first payment.",
        )
    status, verification = await _activation(ctx, kind, open_secrets(ctx.keyring, account), None)
    changes = {"status": status, "verification": verification, "verified_at": utcnow()}

    def update(conn: Connection) -> ConnectorAccount:
        updated = repo.update(conn, account.merchant_id, account.id, changes)
        if updated is None:
            raise not_found("Connector account")
        return updated

    return await ctx.db.write(update)


@router.delete("/v2/connector-accounts/{account_id}")
async def delete_connector_account(
    account_id: str, ctx: Ctx, caller: AdminMerchant
) -> ConnectorAccountDeleteResponse:
    def delete(conn: Connection) -> bool:
        in_use = profiles_repo.referencing_connector(conn, caller.merchant_id, account_id)
        if in_use:
            raise invalid_data(
                "id",
                f"the account is the external vault of profile {in_use[0]}",
                hint="Point the profile at another vault connector or disable its external "
                "vault (PUT /v2/profiles/{id}) first.",
            )
        return repo.delete(conn, caller.merchant_id, account_id)

    if not await ctx.db.write(delete):
        raise not_found("Connector account")
    return ConnectorAccountDeleteResponse(
        merchant_id=caller.merchant_id, id=account_id, deleted=True
    )


@router.get("/v2/profiles/{profile_id}/connector-accounts")
async def list_connector_accounts(
    profile_id: str, ctx: Ctx, caller: MerchantOrAdmin
) -> list[ConnectorAccountListItem]:
    def load(conn: Connection) -> list[ConnectorAccount] | None:
        if profiles_repo.get(conn, caller.merchant_id, profile_id) is None:
            return None
        return repo.list_for_profile(conn, caller.merchant_id, profile_id)

    accounts = await ctx.db.read(load)
    if accounts is None:
        raise not_found("Profile")
    return [_list_item(account) for account in accounts]
