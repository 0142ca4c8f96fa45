"""Connectors: the merchant's connector accounts with their status, and the VGS form
(connect, edit, test the connection) over the API's own connector-account code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import Response

from vaultswitch.orchestrator.accounts import open_secrets
from vaultswitch.orchestrator.connector_kinds import mask, masked_metadata
from vaultswitch.orchestrator.errors import ApiError
from vaultswitch.orchestrator.repos import connector_accounts as accounts_repo
from vaultswitch.orchestrator.repos import profiles as profiles_repo
from vaultswitch.orchestrator.repos.connector_accounts import VAULT_PROCESSOR, ConnectorAccount
from vaultswitch.orchestrator.repos.profiles import Profile
from vaultswitch.orchestrator.routers import connector_accounts as accounts_api

from . import connector_form
from .auth import Viewer, dashboard_of, form_of, require_viewer, text
from .connector_form import FieldError, VgsForm
from .web import BASE, not_found, page_router, redirect, render

router = page_router()


@dataclass(frozen=True, slots=True)
class Row:
    account: ConnectorAccount
    profile_name: str
    failure: dict[str, Any] | None  # the first failed check of the last connection test


def first_failure(account: ConnectorAccount) -> dict[str, Any] | None:
    if account.status == accounts_repo.ACTIVE or not account.verification:
        return None
    checks = account.verification.get("checks") or []
    return next((c for c in checks if not c.get("ok") and c.get("code") != "skipped"), None)


def accounts_by_profile(
    conn: Connection, merchant_id: str
) -> list[tuple[Profile, list[ConnectorAccount]]]:
    return [
        (profile, accounts_repo.list_for_profile(conn, merchant_id, profile.id))
        for profile in profiles_repo.list_for_merchant(conn, merchant_id)
    ]


@router.get("/connectors")
async def connectors(request: Request) -> Response:
    viewer = await require_viewer(request)
    ctx = dashboard_of(request).ctx
    grouped = await ctx.db.read(lambda conn: accounts_by_profile(conn, viewer.merchant_id))
    rows = [
        Row(account, profile.profile_name, first_failure(account))
        for profile, accounts in grouped
        for account in accounts
    ]
    flash = {"saved": "Saved."}.get(request.query_params.get("done", ""))
    return render(
        request,
        "connectors.html",
        {"title": "Connectors", "viewer": viewer, "rows": rows, "flash": flash},
    )


@router.get("/connectors/new")
async def choose_connector(request: Request) -> Response:
    viewer = await require_viewer(request)
    return render(
        request, "connector_new.html", {"title": "Connect a vault processor", "viewer": viewer}
    )


# --- the VGS form --------------------------------------------------------------------------


def _form_page(
    request: Request,
    viewer: Viewer,
    profiles: list[Profile],
    values: dict[str, Any],
    *,
    account: ConnectorAccount | None = None,
    errors: tuple[FieldError, ...] = (),
    test_result: dict[str, Any] | None = None,
    test_note: str | None = None,
    flash: str | None = None,
    status: int = 200,
) -> Response:
    by_field = {e.field: e for e in errors if e.field is not None}
    form_error = next((e for e in errors if e.field is None), None)
    masked: dict[str, str] = {}
    stored_proxy = None
    if account is not None:
        secrets = open_secrets(dashboard_of(request).ctx.keyring, account)
        masked = {name: mask(value) for name, value in secrets.credentials.items()}
        shown = masked_metadata(secrets.metadata) or {}
        stored_proxy = shown.get("proxy_url")
    if errors and form_error is None:
        first = errors[0]
        form_error = FieldError(None, "The form has a problem: " + first.message, first.hint)
    return render(
        request,
        "connector_vgs.html",
        {
            "title": f"VGS account {account.connector_label}" if account else "Connect VGS",
            "viewer": viewer,
            "account": account,
            "action": f"{BASE}/connectors/{account.id}"
            if account
            else f"{BASE}/connectors/new/vgs",
            "profiles": profiles,
            "values": values,
            "errors": by_field,
            "form_error": form_error,
            "credentials": connector_form.CREDENTIALS,
            "help": connector_form.HELP,
            "environments": connector_form.ENVIRONMENTS,
            "masked": masked,
            "stored_proxy": stored_proxy,
            "test_result": test_result,
            "test_note": test_note,
            "flash": flash,
        },
        status=status,
    )


def _api_problem(exc: ApiError) -> FieldError:
    return FieldError(connector_form.form_field(exc.field), exc.message, exc.hint)


async def _profiles(request: Request, viewer: Viewer) -> list[Profile]:
    ctx = dashboard_of(request).ctx
    return await ctx.db.read(lambda conn: profiles_repo.list_for_merchant(conn, viewer.merchant_id))


@router.get("/connectors/new/vgs")
async def new_vgs(request: Request) -> Response:
    viewer = await require_viewer(request)
    profiles = await _profiles(request, viewer)
    assert viewer.profile is not None
    return _form_page(request, viewer, profiles, connector_form.blank_values(viewer.profile.id))


@router.post("/connectors/new/vgs")
async def create_vgs(request: Request) -> Response:
    viewer = await require_viewer(request)
    form = await form_of(request, viewer)
    posted = VgsForm.parse(form)
    profiles = await _profiles(request, viewer)
    ctx = dashboard_of(request).ctx
    problem = posted.check()
    if problem is not None:
        return _form_page(request, viewer, profiles, posted.shown(), errors=(problem,), status=422)
    try:
        body = accounts_api.ConnectorAccountCreate(
            connector_type=VAULT_PROCESSOR,
            connector_name="vgs",
            profile_id=posted.profile_id,
            connector_label=posted.label or None,
            connector_account_details=posted.details(),
            metadata=posted.new_metadata(),
        )
    except ValidationError as exc:
        return _form_page(
            request,
            viewer,
            profiles,
            posted.shown(),
            errors=(connector_form.validation_error(exc),),
            status=422,
        )
    try:
        if text(form, "action") == "test":
            result = await accounts_api.test_new_account(ctx, body)
            note = (
                "Nothing was saved: press Save to keep the account (type the credentials "
                "again: they are never shown back)."
            )
            return _form_page(
                request, viewer, profiles, posted.shown(), test_result=result, test_note=note
            )
        account = await accounts_api.create_account(ctx, viewer.merchant_id, body)
    except ApiError as exc:
        return _form_page(
            request,
            viewer,
            profiles,
            posted.shown(),
            errors=(_api_problem(exc),),
            status=exc.status,
        )
    return redirect(f"{BASE}/connectors/{account.id}", done="created")


async def _vault_account(request: Request, viewer: Viewer, account_id: str) -> ConnectorAccount:
    ctx = dashboard_of(request).ctx
    account = await ctx.db.read(
        lambda conn: accounts_repo.get(conn, viewer.merchant_id, account_id)
    )
    if account is None or account.connector_type != VAULT_PROCESSOR:
        raise not_found(request, "vault connector account")
    return account


def _stored(request: Request, account: ConnectorAccount) -> dict[str, Any]:
    metadata = open_secrets(dashboard_of(request).ctx.keyring, account).metadata
    return connector_form.stored_values(account.connector_label, account.profile_id, metadata)


_DONE = {
    "created": "Saved. The account's connection test ran: its result is below.",
    "saved": "Saved. The connection test ran again if the credentials or URLs changed.",
}


@router.get("/connectors/{account_id}")
async def edit_vgs(request: Request, account_id: str) -> Response:
    viewer = await require_viewer(request)
    account = await _vault_account(request, viewer, account_id)
    profiles = await _profiles(request, viewer)
    flash = _DONE.get(request.query_params.get("done", ""))
    return _form_page(
        request, viewer, profiles, _stored(request, account), account=account, flash=flash
    )


@router.post("/connectors/{account_id}")
async def update_vgs(request: Request, account_id: str) -> Response:
    viewer = await require_viewer(request)
    form = await form_of(request, viewer)
    account = await _vault_account(request, viewer, account_id)
    posted = VgsForm.parse(form)
    profiles = await _profiles(request, viewer)
    ctx = dashboard_of(request).ctx
    shown = {**posted.shown(), "profile_id": account.profile_id}
    problem = posted.check()
    if problem is not None:
        return _form_page(
            request, viewer, profiles, shown, account=account, errors=(problem,), status=422
        )
    try:
        body = accounts_api.ConnectorAccountUpdate(
            connector_label=posted.label or None,
            connector_account_details=posted.details() if posted.credentials else None,
            metadata=posted.metadata_changes(),
        )
    except ValidationError as exc:
        return _form_page(
            request,
            viewer,
            profiles,
            shown,
            account=account,
            errors=(connector_form.validation_error(exc),),
            status=422,
        )
    try:
        if text(form, "action") == "test":
            result = await accounts_api.test_account_update(
                ctx, viewer.merchant_id, account.id, body
            )
            if result is None:  # nothing typed that changes the test: the stored account's
                account = await accounts_api.verify_account(ctx, account)
                return _form_page(
                    request,
                    viewer,
                    profiles,
                    _stored(request, account),
                    account=account,
                    test_result=account.verification,
                    test_note="The stored credentials were tested; the status follows the result.",
                )
            note = (
                "These values were tested and not saved: press Save to keep them (type the "
                "credentials again: they are never shown back)."
            )
            return _form_page(
                request,
                viewer,
                profiles,
                shown,
                account=account,
                test_result=result,
                test_note=note,
            )
        await accounts_api.update_account(ctx, viewer.merchant_id, account.id, body)
    except ApiError as exc:
        return _form_page(
            request,
            viewer,
            profiles,
            shown,
            account=account,
            errors=(_api_problem(exc),),
            status=exc.status,
        )
    return redirect(f"{BASE}/connectors/{account.id}", done="saved")
