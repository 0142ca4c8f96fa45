"""The sandbox processor's HTTP API: authorize a card, look authorizations up, health.

``POST /v1/authorizations`` (Bearer API key, optional ``Idempotency-Key``) answers
201 with the authorization, whatever its outcome: read ``status`` (``succeeded`` or
``declined`` with a ``decline_code``). ``GET /v1/authorizations/{id}`` and
``GET /v1/authorizations?reference=...`` read them back (an API key sees only its
own). ``GET /health`` needs no key. See docs/sandbox-processor.md.

One ASGI middleware gives every request an id (``X-Request-Id``, taken from the
request when it is a plain token), renders every error as
``{"error": {code, message, field?, hint, request_id}}`` (a catch-all answers 500
without internals) and writes one structured log line per request. Card numbers
and CVCs are never logged, stored or answered: only brand, last four and expiry.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any

import structlog
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vaultswitch.processor.errors import ApiError, invalid_api_key, missing_api_key, not_found
from vaultswitch.processor.ledger import Authorization, Ledger, new_authorization_id, random_id
from vaultswitch.processor.outcomes import decide
from vaultswitch.processor.settings import ProcessorSettings
from vaultswitch.processor.wire import (
    JSON_MEDIA_TYPE,
    AuthorizeInput,
    check_content_type,
    parse_authorize,
    parse_idempotency_key,
    parse_json,
)

log = structlog.get_logger("vaultswitch.processor")

SERVICE_NAME = "vaultswitch-sandbox-processor"
MAX_LIST_LIMIT = 1000
DEFAULT_LIST_LIMIT = 100
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class RequestState:
    """Per-request facts for the log line (stored in scope["processor"])."""

    __slots__ = ("account", "authorization_id", "decline_code", "outcome", "replayed", "request_id")

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.account: str | None = None
        self.authorization_id: str | None = None
        self.outcome: str | None = None
        self.decline_code: str | None = None
        self.replayed: bool | None = None


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(content, status_code=status, media_type=JSON_MEDIA_TYPE, headers=headers)


class ProcessorHTTP:
    """The endpoints over one in-memory ledger."""

    def __init__(self, settings: ProcessorSettings) -> None:
        keys = settings.accepted_api_keys()
        if not keys:
            raise ValueError(
                "the sandbox processor needs at least one API key (api_key or api_keys)"
            )
        # each accepted key is its own account; accounts never see each other's data
        self._accounts = [(f"acct_{i}", key.reveal().encode()) for i, key in enumerate(keys, 1)]
        self.ledger = Ledger(settings.max_authorizations)
        self.latency = settings.latency_ms / 1000
        self.max_body = settings.max_body_bytes
        self._fingerprint_key = secrets.token_bytes(32)

    # --- plumbing ------------------------------------------------------------------------

    def _account(self, request: Request) -> str:
        header = request.headers.get("authorization")
        if not header:
            raise missing_api_key()
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise missing_api_key()
        given = token.strip().encode("utf-8", "replace")
        found = None
        for account, key in self._accounts:  # compare with every key: no early exit
            if hmac.compare_digest(given, key):
                found = account
        if found is None:
            raise invalid_api_key()
        _state(request).account = found
        return found

    async def _body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            raise self._too_large()
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body:
                raise self._too_large()
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self) -> ApiError:
        return ApiError(
            413,
            "body_too_large",
            f"the body is larger than {self.max_body} bytes",
            hint="An authorize request is a few hundred bytes; check what is being sent.",
        )

    async def _authorize(self, account: str, data: AuthorizeInput) -> Authorization:
        if self.latency:
            await asyncio.sleep(self.latency)
        now = datetime.now(UTC).replace(microsecond=0)
        outcome = decide(data.card, now.date())
        card = data.card
        authorization = Authorization(
            id=new_authorization_id(),
            account=account,
            status=outcome.status,
            decline_code=outcome.decline_code,
            message=outcome.message,
            amount=data.amount,
            currency=data.currency,
            reference=data.reference,
            brand=card.brand.value,
            last4=card.number.last4,
            exp_month=card.expiry.month,
            exp_year=card.expiry.year,
            created=now,
        )
        self.ledger.add(authorization)
        return authorization

    # --- endpoints -----------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        return json_response(200, {"status": "ok", "service": SERVICE_NAME})

    async def authorizations(self, request: Request) -> Response:
        if request.method == "POST":
            return await self.create(request)
        return await self.list_authorizations(request)

    async def create(self, request: Request) -> Response:
        account = self._account(request)
        key = parse_idempotency_key(request.headers.get("idempotency-key"))
        check_content_type(request.headers.get("content-type"))
        data = parse_authorize(parse_json(await self._body(request)))
        if key is None:
            authorization, replayed = await self._authorize(account, data), False
        else:
            authorization, replayed = await self.ledger.once(
                account,
                key,
                data.fingerprint(self._fingerprint_key),
                lambda: self._authorize(account, data),
            )
        state = _state(request)
        state.authorization_id = authorization.id
        state.outcome = authorization.status.value
        state.decline_code = (
            None if authorization.decline_code is None else authorization.decline_code.value
        )
        state.replayed = replayed
        headers = {"idempotent-replayed": "true"} if replayed else None
        return json_response(201, authorization.to_json(), headers)

    async def list_authorizations(self, request: Request) -> Response:
        account = self._account(request)
        query = request.query_params
        reference = query.get("reference")
        raw_limit = query.get("limit")
        limit = DEFAULT_LIST_LIMIT
        if raw_limit is not None:
            if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIST_LIMIT:
                raise ApiError(
                    400,
                    "invalid_field",
                    f"limit must be an integer from 1 to {MAX_LIST_LIMIT}",
                    field="limit",
                    hint=f"Leave limit out for {DEFAULT_LIST_LIMIT}.",
                )
            limit = int(raw_limit)
        found = self.ledger.find(account, reference, limit)
        return json_response(
            200, {"object": "list", "count": len(found), "data": [a.to_json() for a in found]}
        )

    async def authorization(self, request: Request) -> Response:
        account = self._account(request)
        found = self.ledger.get(account, request.path_params["authorization_id"])
        if found is None:
            raise not_found("no authorization with this id", field="id")
        _state(request).authorization_id = found.id
        return json_response(200, found.to_json())

    def router(self) -> Router:
        return Router(
            routes=[
                Route("/health", self.health, methods=["GET", "HEAD"]),
                Route("/v1/authorizations", self.authorizations, methods=["GET", "POST"]),
                Route("/v1/authorizations/{authorization_id}", self.authorization, methods=["GET"]),
            ],
            redirect_slashes=False,
        )


def _state(request: Request) -> RequestState:
    state: RequestState = request.scope["processor"]
    return state


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text: str = bytes(value).decode("latin-1")
            if _REQUEST_ID.fullmatch(text):
                return text
            break
    return random_id("req_")


def _from_http_exception(exc: HTTPException) -> ApiError:
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return ApiError(
            405,
            "method_not_allowed",
            "this endpoint does not take that HTTP method",
            hint=f"Allowed: {allowed}." if allowed else "See docs/sandbox-processor.md.",
            headers={"allow": allowed} if allowed else None,
        )
    return ApiError(
        404,
        "not_found",
        "no such endpoint",
        hint="The API is POST/GET /v1/authorizations, GET /v1/authorizations/{id} and "
        "GET /health; see docs/sandbox-processor.md.",
    )


class ProcessorMiddleware:
    """Request ids, error bodies, and one log line per request (no card data, no keys)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = RequestState(_request_id(scope))
        scope = {**scope, "processor": state, "app": self}  # "app": Starlette raises 404/405
        status = 0
        request_id = state.request_id.encode()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", []), (b"x-request-id", request_id)]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except (ApiError, HTTPException) as exc:
            if status:
                raise
            error = exc if isinstance(exc, ApiError) else _from_http_exception(exc)
            response = json_response(error.status, error.body(state.request_id), error.headers)
            await response(scope, receive, send_wrapper)
        except Exception as exc:
            log.error("unhandled_error", request_id=state.request_id, error=type(exc).__name__)
            if status:
                raise
            error = ApiError(
                500,
                "internal_error",
                "the sandbox processor failed to handle this request",
                hint="This is a bug in the sandbox processor; report it with the request id.",
            )
            await json_response(500, error.body(state.request_id))(scope, receive, send_wrapper)
        finally:
            facts = {
                "account": state.account,
                "authorization_id": state.authorization_id,
                "outcome": state.outcome,
                "decline_code": state.decline_code,
                "replayed": state.replayed,
            }
            log.info(
                "request",
                request_id=state.request_id,
                method=scope["method"],
                path=scope["path"][:256],
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                **{name: value for name, value in facts.items() if value is not None},
            )


def create_app(settings: ProcessorSettings | None = None) -> ASGIApp:
    """The sandbox processor ASGI app (needs at least one API key in the settings)."""
    http = ProcessorHTTP(settings or ProcessorSettings())
    return ProcessorMiddleware(http.router())
