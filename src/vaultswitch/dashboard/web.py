"""The page machinery: Jinja2 templates, the security headers every page carries, the
route class that turns errors into pages, redirects and the CSRF check.

Every response of a dashboard route gets a Content-Security-Policy without inline script
or style (``script-src 'self'``: only ``/dashboard/static/dashboard.js``), ``nosniff``,
no framing, no referrer and ``Cache-Control: no-store`` (pages show account data).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine, Mapping
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from vaultswitch import __version__
from vaultswitch.domain.errors import VaultswitchError
from vaultswitch.orchestrator.errors import ApiError, from_vaultswitch_error
from vaultswitch.orchestrator.log import logger

from . import formatting

BASE = "/dashboard"
SIGN_IN = BASE + "/sign-in"
CSRF_FIELD = "csrf_token"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("vaultswitch.dashboard", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters.update(formatting.FILTERS)
_env.globals.update(version=__version__, base=BASE)


class PageExit(Exception):
    """Stop handling the request and answer ``response`` (a redirect, an error page)."""

    def __init__(self, response: Response) -> None:
        super().__init__("page exit")
        self.response = response


def render(
    request: Request, template: str, context: Mapping[str, Any], *, status: int = 200
) -> HTMLResponse:
    """A page. ``context`` usually carries ``viewer`` (see :mod:`.auth`) for the navigation."""
    values = {"request_path": request.url.path, "viewer": None, "flash": None, **context}
    html = _env.get_template(template).render(values)
    return HTMLResponse(html, status_code=status)


def error_page(request: Request, status: int, title: str, message: str, hint: str = "") -> Response:
    viewer = getattr(request.state, "viewer", None)
    return render(
        request,
        "error.html",
        {"title": title, "message": message, "hint": hint, "status": status, "viewer": viewer},
        status=status,
    )


def not_found(request: Request, what: str = "page") -> PageExit:
    """404 for ids that do not exist and for other merchants' ids alike."""
    return PageExit(
        error_page(
            request,
            404,
            "Not found",
            f"There is no such {what} in this account.",
            "Check the link, or go back to the list it came from.",
        )
    )


def redirect(path: str, **query: str) -> RedirectResponse:
    """303 See Other to a dashboard path (after a form post, or to sign in)."""
    target = path + ("?" + urlencode(query) if query else "")
    return RedirectResponse(target, status_code=303)


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a dashboard path, never another site."""
    if (
        value
        and value.startswith(BASE + "/")
        and not value.startswith("//")
        and "\\" not in value
        and not value.startswith(SIGN_IN)
        and len(value) <= 512
    ):
        return value
    return BASE + "/connectors"


def csrf_matches(expected: str, given: object) -> bool:
    return isinstance(given, str) and bool(given) and hmac.compare_digest(expected, given)


def csrf_refused(request: Request) -> PageExit:
    return PageExit(
        error_page(
            request,
            403,
            "Form refused",
            "This form was not sent from this control center's page, or the page is too old.",
            "Go back, reload the page and send the form again.",
        )
    )


class DashboardRoute(APIRoute):
    """A page route: ``PageExit`` answers its response, orchestrator errors become error
    pages (with their hint), and every answer carries the security headers and the
    renewed session cookie."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                response = await handler(request)
            except PageExit as exc:
                response = exc.response
            except ApiError as exc:
                response = _api_error_page(request, exc)
            except VaultswitchError as exc:
                response = _api_error_page(request, from_vaultswitch_error(exc))
            finish = getattr(request.state, "finish_response", None)
            if finish is not None:
                finish(response)
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return run


def _api_error_page(request: Request, exc: ApiError) -> Response:
    if exc.status >= 500:
        logger().warning("dashboard.error", code=exc.code, status=exc.status)
    status = exc.status if 400 <= exc.status < 600 else 500
    title = "Not found" if status == 404 else "Something went wrong"
    return error_page(request, status, title, exc.message, exc.hint)


def page_router() -> APIRouter:
    """A router of dashboard pages (under ``/dashboard``, not in the OpenAPI document)."""
    return APIRouter(prefix=BASE, route_class=DashboardRoute, include_in_schema=False)
