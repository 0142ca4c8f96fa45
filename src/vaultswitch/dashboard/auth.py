"""Who is looking: signing in with a merchant API key or the admin key, the session cookie,
and the checks every page runs (signed in, the key still valid, the CSRF token of a form).

A merchant API key opens that merchant's pages. The admin key opens the admin pages (the
local vault); with a merchant ID as well, that merchant's pages too. The pages act as the
merchant through the orchestrator's own code, as the API's handlers do; a merchant signed in
here may manage its connector accounts, as in Hyperswitch's control center.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from vaultswitch.orchestrator.auth import Caller
from vaultswitch.orchestrator.context import AppContext
from vaultswitch.orchestrator.db import utcnow
from vaultswitch.orchestrator.repos import api_keys as api_keys_repo
from vaultswitch.orchestrator.repos import merchants as merchants_repo
from vaultswitch.orchestrator.repos import profiles as profiles_repo
from vaultswitch.orchestrator.repos.merchants import Merchant
from vaultswitch.orchestrator.repos.profiles import Profile

from . import sessions
from .sessions import Session, SessionCodec
from .web import CSRF_FIELD, SIGN_IN, PageExit, csrf_matches, csrf_refused, error_page, redirect

MAX_KEY_LENGTH = 512


@dataclass(frozen=True, slots=True)
class Dashboard:
    """What the pages share: the orchestrator's context and the session codec."""

    ctx: AppContext
    codec: SessionCodec

    @property
    def local_vault(self) -> bool:
        """Our own vault's admin API is configured: the "Local vault" pages exist."""
        settings = self.ctx.settings
        return bool(settings.vault_admin_url and settings.vault_admin_token)


def dashboard_of(request: Request) -> Dashboard:
    board = request.app.state.dashboard
    assert isinstance(board, Dashboard)
    return board


@dataclass(frozen=True, slots=True)
class Viewer:
    """A signed-in browser: the session, and the merchant whose pages it sees (if any)."""

    session: Session
    merchant: Merchant | None
    profile: Profile | None
    local_vault: bool

    @property
    def is_admin(self) -> bool:
        return self.session.kind == "admin"

    @property
    def csrf(self) -> str:
        return self.session.csrf

    @property
    def caller(self) -> Caller:
        """The merchant as the orchestrator's services take it (pages that need one)."""
        assert self.merchant is not None
        assert self.profile is not None
        if self.is_admin:
            return Caller(self.merchant, self.profile, "admin")
        return Caller(self.merchant, self.profile, "api_key", self.session.key_id)

    @property
    def merchant_id(self) -> str:
        assert self.merchant is not None
        return self.merchant.id


# --- the cookie ----------------------------------------------------------------------------


def read_session(request: Request, board: Dashboard) -> Session | None:
    return board.codec.decode(request.cookies.get(sessions.COOKIE_NAME), sessions.now_seconds())


def set_cookie(request: Request, response: Response, board: Dashboard, session: Session) -> None:
    response.set_cookie(
        sessions.COOKIE_NAME,
        board.codec.encode(session),
        path=sessions.COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        sessions.COOKIE_NAME,
        path=sessions.COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def keep_session(request: Request, board: Dashboard, session: Session) -> None:
    """Send the (renewed) session cookie with whatever this request answers."""

    def finish(response: Response) -> None:
        if sessions.COOKIE_NAME not in response.headers.get("set-cookie", ""):
            set_cookie(request, response, board, session)

    request.state.finish_response = finish


def anonymous_session(request: Request, board: Dashboard) -> Session:
    """The sign-in page's session (its CSRF token), new when there is none."""
    session = read_session(request, board)
    if session is None or session.signed_in:
        session = sessions.anonymous(sessions.now_seconds())
    keep_session(request, board, session.touched(sessions.now_seconds()))
    return session


# --- signing in ----------------------------------------------------------------------------


def _admin_session(
    board: Dashboard, csrf: str, merchant_id: str | None, now: int, conn: Connection
) -> Session | None:
    if merchant_id is not None and merchants_repo.get(conn, merchant_id) is None:
        return None
    return Session(
        csrf=csrf,
        kind="admin",
        merchant_id=merchant_id,
        admin_check=board.codec.admin_check(board.ctx.admin_api_key.reveal()),
        signed_in_at=now,
        seen_at=now,
    )


async def sign_in(board: Dashboard, api_key: str, merchant_id: str | None) -> Session | None:
    """A new session for this key (and merchant, with the admin key); None when any part is
    wrong (the page says only that sign-in failed)."""
    key = api_key.strip()
    wanted = (merchant_id or "").strip() or None
    if not key or len(key) > MAX_KEY_LENGTH or (wanted is not None and len(wanted) > 80):
        return None
    now = sessions.now_seconds()
    csrf = sessions.new_csrf_token()
    ctx = board.ctx
    if hmac.compare_digest(key.encode(), ctx.admin_api_key.reveal().encode()):
        return await ctx.db.read(lambda conn: _admin_session(board, csrf, wanted, now, conn))
    key_hash = ctx.keyring.hash_api_key(key)

    def load(conn: Connection) -> Session | None:
        found = api_keys_repo.find_by_hash(conn, key_hash)
        if found is None or not found.usable(utcnow()):
            return None
        if wanted is not None and wanted != found.merchant_id:
            return None
        return Session(
            csrf=csrf,
            kind="merchant",
            merchant_id=found.merchant_id,
            key_id=found.key_id,
            signed_in_at=now,
            seen_at=now,
        )

    return await ctx.db.read(load)


# --- every page ----------------------------------------------------------------------------


def _still_valid(board: Dashboard, session: Session, conn: Connection) -> Viewer | None:
    merchant: Merchant | None = None
    if session.kind == "merchant":
        if session.merchant_id is None or session.key_id is None:
            return None
        key = api_keys_repo.get(conn, session.merchant_id, session.key_id)
        if key is None or not key.usable(utcnow()):
            return None
        merchant = merchants_repo.get(conn, session.merchant_id)
        if merchant is None:
            return None
    elif session.kind == "admin":
        current = board.codec.admin_check(board.ctx.admin_api_key.reveal())
        if session.admin_check is None or not hmac.compare_digest(session.admin_check, current):
            return None
        if session.merchant_id is not None:
            merchant = merchants_repo.get(conn, session.merchant_id)
            if merchant is None:
                return None
    else:
        return None
    profile = None
    if merchant is not None:
        profile = profiles_repo.get(conn, merchant.id, merchant.default_profile_id)
        if profile is None:
            return None
    return Viewer(session, merchant, profile, board.local_vault)


async def viewer_of(request: Request) -> Viewer | None:
    board = dashboard_of(request)
    session = read_session(request, board)
    if session is None or not session.signed_in:
        return None
    viewer = await board.ctx.db.read(lambda conn: _still_valid(board, session, conn))
    if viewer is None:
        return None
    keep_session(request, board, session.touched(sessions.now_seconds()))
    request.state.viewer = viewer
    return viewer


def _to_sign_in(request: Request) -> PageExit:
    target = request.url.path
    if request.method == "GET" and request.url.query:
        target += "?" + request.url.query
    response = redirect(SIGN_IN, next=target)
    clear_cookie(request, response)
    return PageExit(response)


async def require_viewer(request: Request, *, merchant: bool = True) -> Viewer:
    """The signed-in viewer; signed out (or expired, or a revoked key): to the sign-in page.
    ``merchant``: the page shows a merchant's data (admin sessions need a merchant ID)."""
    viewer = await viewer_of(request)
    if viewer is None:
        raise _to_sign_in(request)
    if merchant and viewer.merchant is None:
        raise PageExit(
            error_page(
                request,
                403,
                "Merchant pages",
                "These pages show one merchant's data, and this session has none.",
                "Sign out, then sign in with the merchant's API key, or with the admin key and "
                "the merchant ID.",
            )
        )
    return viewer


async def require_admin(request: Request) -> Viewer:
    viewer = await require_viewer(request, merchant=False)
    if not viewer.is_admin:
        raise PageExit(
            error_page(
                request,
                403,
                "Admin pages",
                "The local vault's pages need the orchestrator's admin key.",
                "Sign out, then sign in with the admin key (`vaultswitch up` writes it to "
                "up.json as admin_api_key).",
            )
        )
    return viewer


async def form_of(request: Request, viewer: Viewer | Session) -> FormData:
    """The posted form, once its CSRF token matches the session's (403 otherwise)."""
    form = await request.form()
    expected = viewer.csrf
    if not csrf_matches(expected, form.get(CSRF_FIELD)):
        raise csrf_refused(request)
    return form


def text(form: FormData, name: str) -> str:
    """A text field, stripped; "" when missing (lengths are checked where the value goes)."""
    value: Any = form.get(name)
    return value.strip() if isinstance(value, str) else ""
