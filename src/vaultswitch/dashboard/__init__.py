"""The control center: server-rendered pages at ``/dashboard/``, served by the orchestrator.

``install(app, ctx)`` adds the pages (Jinja2 templates), their static files (one CSS and
one small JS file for progressive enhancement: every flow works without it) and the
session machinery to the orchestrator's app. The pages call the orchestrator's own
services and repositories in-process (the code paths of the API's handlers), never its
HTTP API; the "Local vault" pages reach our own vault's admin API over HTTP (the
orchestrator never imports the vault). See docs/control-center.md.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from vaultswitch.orchestrator.context import AppContext

from .auth import Dashboard, viewer_of
from .pages_connectors import router as connectors_pages
from .pages_local_vault import router as local_vault_pages
from .pages_payment_methods import router as payment_methods_pages
from .pages_payments import router as payments_pages
from .pages_session import router as session_pages
from .pages_vault_settings import router as vault_settings_pages
from .sessions import SessionCodec
from .web import BASE, error_page, page_router

SESSION_KEY_PURPOSE = "dashboard-session"

_fallback = page_router()


@_fallback.api_route("/{rest:path}", methods=["GET", "POST"])
async def unknown_page(request: Request, rest: str) -> Response:
    await viewer_of(request)
    return error_page(
        request, 404, "Not found", "There is no such page.", "Use the navigation above."
    )


def install(app: FastAPI, ctx: AppContext) -> None:
    """Mount the control center on the orchestrator's app at ``/dashboard/``."""
    app.state.dashboard = Dashboard(ctx, SessionCodec(ctx.keyring.derive(SESSION_KEY_PURPOSE)))
    app.mount(
        BASE + "/static",
        StaticFiles(packages=[("vaultswitch.dashboard", "static")]),
        name="dashboard-static",
    )
    for router in (
        session_pages,
        connectors_pages,
        vault_settings_pages,
        payment_methods_pages,
        payments_pages,
        local_vault_pages,
    ):
        app.include_router(router)
    app.include_router(_fallback)


__all__ = ["install"]
