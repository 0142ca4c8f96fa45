"""Vault settings per profile: the external vault on or off, which vault connector, the
token selector, single- or multi-token; saved through the API's own profile update."""

from __future__ import annotations

from typing import Any, get_args

from pydantic import ValidationError
from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import Response

from vaultswitch.orchestrator.errors import ApiError
from vaultswitch.orchestrator.repos import connector_accounts as accounts_repo
from vaultswitch.orchestrator.repos import profiles as profiles_repo
from vaultswitch.orchestrator.repos.connector_accounts import VAULT_PROCESSOR, ConnectorAccount
from vaultswitch.orchestrator.repos.profiles import Profile
from vaultswitch.orchestrator.routers import profiles as profiles_api

from .auth import Viewer, dashboard_of, form_of, require_viewer, text
from .web import BASE, page_router, redirect, render

router = page_router()

TOKEN_TYPES: tuple[str, ...] = get_args(profiles_api.VaultTokenType)
EFFECTS = {
    "enable": "Cards saved on this profile go to the vault connector chosen below; "
    "vaultswitch keeps only their aliases.",
    "skip": "Cards saved on this profile go to the internal vault (vaultswitch's own vault), "
    "whichever connector is chosen below.",
    "connector": "The vault processor account that holds the cards when the external vault is "
    "enabled; while it is failed or disabled, saving and paying with cards answers 424 until "
    "it is fixed.",
    "selector": "The card fields a client-side vault SDK (such as VGS Collect) sends as "
    "tokens (Hyperswitch's vault_token_selector); cards saved through the API do not "
    "depend on it.",
    "single": "One alias stands for the whole card (number, expiry and holder together).",
    "multi": "One alias per card field, so each field can be revealed or sent on its own.",
}


def _vault_accounts(conn: Connection, merchant_id: str) -> list[ConnectorAccount]:
    return [
        account
        for profile in profiles_repo.list_for_merchant(conn, merchant_id)
        for account in accounts_repo.list_for_profile(conn, merchant_id, profile.id)
        if account.connector_type == VAULT_PROCESSOR
    ]


def _load(conn: Connection, merchant_id: str) -> tuple[list[Profile], list[ConnectorAccount]]:
    return profiles_repo.list_for_merchant(conn, merchant_id), _vault_accounts(conn, merchant_id)


def _settings(profile: Profile) -> dict[str, Any]:
    details = profile.external_vault_connector_details or {}
    selector = details.get("vault_token_selector") or []
    return {
        "enabled": profile.is_external_vault_enabled,
        "connector_id": details.get("vault_connector_id") or "",
        "token_types": {item.get("token_type") for item in selector if isinstance(item, dict)},
        "multi": bool(details.get("multi_token")),
    }


async def _page(
    request: Request,
    viewer: Viewer,
    *,
    errors: dict[str, ApiError] | None = None,
    flash: str | None = None,
    status: int = 200,
) -> Response:
    ctx = dashboard_of(request).ctx
    profiles, accounts = await ctx.db.read(lambda conn: _load(conn, viewer.merchant_id))
    return render(
        request,
        "vault_settings.html",
        {
            "title": "Vault settings",
            "viewer": viewer,
            "profiles": [(p, _settings(p)) for p in profiles],
            "accounts": accounts,
            "token_types": TOKEN_TYPES,
            "effects": EFFECTS,
            "errors": errors or {},
            "flash": flash,
        },
        status=status,
    )


@router.get("/vault-settings")
async def vault_settings(request: Request) -> Response:
    viewer = await require_viewer(request)
    flash = "Saved." if request.query_params.get("done") == "saved" else None
    return await _page(request, viewer, flash=flash)


def _update(form: Any, current: Profile) -> profiles_api.ProfileUpdate:
    enabled = text(form, "external_vault") == "enable"
    connector_id = text(form, "vault_connector_id")
    token_types = [t for t in form.getlist("token_type") if t in TOKEN_TYPES]
    details = None
    if connector_id:
        previous = current.external_vault_connector_details or {}
        details = profiles_api.ExternalVaultConnectorDetails(
            vault_connector_id=connector_id,
            vault_sdk=previous.get("vault_sdk"),
            vault_token_selector=[profiles_api.VaultTokenField(token_type=t) for t in token_types]
            or None,
            multi_token=text(form, "tokens") == "multi",
        )
    return profiles_api.ProfileUpdate(
        is_external_vault_enabled=enabled, external_vault_connector_details=details
    )


@router.post("/vault-settings/{profile_id}")
async def save_vault_settings(request: Request, profile_id: str) -> Response:
    viewer = await require_viewer(request)
    form = await form_of(request, viewer)
    ctx = dashboard_of(request).ctx
    merchant_id = viewer.merchant_id
    if text(form, "external_vault") == "enable" and not text(form, "vault_connector_id"):
        problem = ApiError(
            422,
            "IR_06",
            "Choose the vault connector to enable the external vault with.",
            hint="Connect one first (Connectors → Connect a vault processor), then choose it here.",
            field="external_vault_connector_details.vault_connector_id",
        )
        exists = await ctx.db.read(lambda conn: profiles_repo.get(conn, merchant_id, profile_id))
        if exists is not None:
            return await _page(request, viewer, errors={profile_id: problem}, status=422)

    def save(conn: Connection) -> Profile:
        current = profiles_repo.get(conn, merchant_id, profile_id)
        if current is None:
            raise ApiError(404, "HE_02", "Profile does not exist", hint="Check the link.")
        return profiles_api.apply_update(conn, merchant_id, profile_id, _update(form, current))

    try:
        await ctx.db.write(save)
    except ValidationError as exc:
        first = exc.errors()[0]
        problem = ApiError(400, "IR_07", f"Invalid value: {first.get('msg')}", hint="")
        return await _page(request, viewer, errors={profile_id: problem}, status=400)
    except ApiError as exc:
        if exc.status == 404:
            raise
        return await _page(request, viewer, errors={profile_id: exc}, status=exc.status)
    return redirect(f"{BASE}/vault-settings", done="saved")
