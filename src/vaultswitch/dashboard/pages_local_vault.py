"""Local vault (our own vault, admin key only): vaults and reveal on/off, service accounts
(create: the secret shown once; disable, enable) and the last audit entries, through the
vault's admin API over HTTP."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .auth import Dashboard, Viewer, dashboard_of, form_of, require_admin, text
from .vault_admin import VaultAdminClient, VaultAdminError
from .web import BASE, PageExit, error_page, page_router, redirect, render

router = page_router()

SCOPES = ("aliases:read", "aliases:write", "aliases:delete", "routes:read", "routes:write")
AUDIT_ROWS = 50
_VAULT_ID = re.compile(r"tnt[a-z0-9]{8}")
_CLIENT_ID = re.compile(r"AC[A-Za-z0-9]{1,64}")


def _client(request: Request, board: Dashboard) -> VaultAdminClient:
    settings = board.ctx.settings
    if not board.local_vault:
        raise PageExit(
            error_page(
                request,
                404,
                "No local vault",
                "This orchestrator is not set up with our own vault's admin API.",
                "Set VAULTSWITCH_ORCHESTRATOR_VAULT_ADMIN_URL and "
                "VAULTSWITCH_ORCHESTRATOR_VAULT_ADMIN_TOKEN (`vaultswitch up` does).",
            )
        )
    assert settings.vault_admin_url is not None
    assert settings.vault_admin_token is not None
    return VaultAdminClient(settings.vault_admin_url, settings.vault_admin_token)


async def _page(
    request: Request,
    viewer: Viewer,
    *,
    created: dict[str, Any] | None = None,
    problem: VaultAdminError | None = None,
    flash: str | None = None,
    upload: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    client = _client(request, dashboard_of(request))
    data: dict[str, Any] = {"vaults": [], "accounts": [], "audit": [], "routes": {}}
    unreachable = None
    try:
        data["vaults"] = await client.vaults()
        data["accounts"] = await client.service_accounts()
        data["audit"] = await client.audit(AUDIT_ROWS)
        for vault in data["vaults"]:
            data["routes"][vault["vault_id"]] = await client.routes(vault["vault_id"])
    except VaultAdminError as exc:
        unreachable = exc
        status = max(status, exc.status)
    return render(
        request,
        "local_vault.html",
        {
            "title": "Local vault",
            "viewer": viewer,
            **data,
            "scopes": SCOPES,
            "created": created,
            "problem": problem or unreachable,
            "flash": flash,
            "upload": upload or {},
        },
        status=status,
    )


_DONE = {
    "reveal": "Reveal changed.",
    "disabled": "The service account is disabled: its next token request is refused.",
    "enabled": "The service account is enabled again.",
}


@router.get("/local-vault")
async def local_vault(request: Request) -> Response:
    viewer = await require_admin(request)
    return await _page(request, viewer, flash=_DONE.get(request.query_params.get("done", "")))


@router.post("/local-vault/vaults/{vault_id}/reveal")
async def set_reveal(request: Request, vault_id: str) -> Response:
    viewer = await require_admin(request)
    form = await form_of(request, viewer)
    if not _VAULT_ID.fullmatch(vault_id):
        raise PageExit(error_page(request, 404, "Not found", "There is no such vault.", ""))
    client = _client(request, dashboard_of(request))
    try:
        await client.set_reveal(vault_id, text(form, "reveal") == "on")
    except VaultAdminError as exc:
        return await _page(request, viewer, problem=exc, status=exc.status)
    return redirect(f"{BASE}/local-vault", done="reveal")


@router.post("/local-vault/service-accounts")
async def create_account(request: Request) -> Response:
    viewer = await require_admin(request)
    form = await form_of(request, viewer)
    scopes = [s for s in form.getlist("scope") if isinstance(s, str) and s in SCOPES]
    name = text(form, "name")[:255] or None
    client = _client(request, dashboard_of(request))
    try:
        created = await client.create_service_account(text(form, "vault_id"), name, scopes)
    except VaultAdminError as exc:
        return await _page(request, viewer, problem=exc, status=exc.status)
    # shown in this answer only: the page is not cached (no-store) and the secret is not kept
    return await _page(request, viewer, created=created)


async def _set_disabled(request: Request, client_id: str, disabled: bool) -> Response:
    viewer = await require_admin(request)
    await form_of(request, viewer)
    if not _CLIENT_ID.fullmatch(client_id):
        raise PageExit(error_page(request, 404, "Not found", "There is no such account.", ""))
    client = _client(request, dashboard_of(request))
    try:
        await client.set_account_disabled(client_id, disabled)
    except VaultAdminError as exc:
        return await _page(request, viewer, problem=exc, status=exc.status)
    return redirect(f"{BASE}/local-vault", done="disabled" if disabled else "enabled")


@router.post("/local-vault/service-accounts/{client_id}/disable")
async def disable_account(request: Request, client_id: str) -> Response:
    return await _set_disabled(request, client_id, True)


@router.post("/local-vault/service-accounts/{client_id}/enable")
async def enable_account(request: Request, client_id: str) -> Response:
    return await _set_disabled(request, client_id, False)


@router.post("/local-vault/vaults/{vault_id}/routes")
async def upload_routes(request: Request, vault_id: str) -> Response:
    """Upload a route document (YAML, as `vaultswitch routes get` prints it): all routes or
    none; a refusal is shown at the form with the place in the document it names."""
    viewer = await require_admin(request)
    form = await form_of(request, viewer)
    if not _VAULT_ID.fullmatch(vault_id):
        raise PageExit(error_page(request, 404, "Not found", "There is no such vault.", ""))
    document = form.get("routes_yaml")
    text_value = document if isinstance(document, str) else ""
    client = _client(request, dashboard_of(request))
    try:
        done = await client.apply_routes(vault_id, text_value)
    except VaultAdminError as exc:
        upload = {"vault_id": vault_id, "text": text_value, "error": exc}
        return await _page(request, viewer, upload=upload, status=exc.status)
    flash = f"Routes of {vault_id} uploaded: {done['created']} created, {done['updated']} updated."
    return await _page(request, viewer, flash=flash)
