"""Signing in and out, and where ``/dashboard/`` leads."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .auth import (
    anonymous_session,
    clear_cookie,
    dashboard_of,
    form_of,
    keep_session,
    read_session,
    require_viewer,
    set_cookie,
    sign_in,
    text,
    viewer_of,
)
from .web import BASE, SIGN_IN, csrf_refused, page_router, redirect, render, safe_next

router = page_router()

SIGN_IN_FAILED = "Sign-in failed: those details are not valid. Check them and try again."


def _landing(local_vault: bool, has_merchant: bool) -> str:
    if not has_merchant and local_vault:
        return BASE + "/local-vault"
    return BASE + "/connectors"


@router.get("")
async def bare(request: Request) -> Response:
    return redirect(BASE + "/")


@router.get("/")
async def home(request: Request) -> Response:
    viewer = await viewer_of(request)
    if viewer is None:
        return redirect(SIGN_IN)
    return redirect(_landing(viewer.local_vault, viewer.merchant is not None))


@router.get("/sign-in")
async def sign_in_page(request: Request) -> Response:
    viewer = await viewer_of(request)
    if viewer is not None:
        return redirect(_landing(viewer.local_vault, viewer.merchant is not None))
    board = dashboard_of(request)
    session = anonymous_session(request, board)
    return render(
        request,
        "sign_in.html",
        {
            "title": "Sign in",
            "csrf": session.csrf,
            "next": safe_next(request.query_params.get("next")),
            "error": None,
            "signed_out": request.query_params.get("signed_out") == "1",
        },
    )


@router.post("/sign-in")
async def sign_in_post(request: Request) -> Response:
    board = dashboard_of(request)
    session = read_session(request, board)
    if session is None:
        raise csrf_refused(request)
    form = await form_of(request, session)
    target = safe_next(text(form, "next"))
    signed_in = await sign_in(board, text(form, "api_key"), text(form, "merchant_id"))
    if signed_in is None:
        keep_session(request, board, session)
        return render(
            request,
            "sign_in.html",
            {
                "title": "Sign in",
                "csrf": session.csrf,
                "next": target,
                "error": SIGN_IN_FAILED,
                "signed_out": False,
            },
            status=401,
        )
    if signed_in.kind == "admin" and signed_in.merchant_id is None and target == safe_next(None):
        target = _landing(board.local_vault, False)
    response = redirect(target)
    set_cookie(request, response, board, signed_in)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    viewer = await require_viewer(request, merchant=False)
    await form_of(request, viewer)
    request.state.finish_response = None  # no renewed cookie: it is deleted
    response = redirect(SIGN_IN, signed_out="1")
    clear_cookie(request, response)
    return response
