"""Request ids, the request log line and the last-resort error answer (pure ASGI).

Every response carries ``X-Request-Id`` (the caller's, when it is a short token, else a
new one); every request is logged once as ``{"event": "request", "request_id", "method",
"path", "status", "ms"}`` through the scrubbed structlog set-up (no query string, no
headers, no bodies). An exception that escapes a handler is answered with Hyperswitch's
500 body and logged by type only: its text may hold what the caller sent.
"""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_response, internal_error

log = structlog.get_logger("vaultswitch.orchestrator")

_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _VALID_REQUEST_ID.fullmatch(text) else None
    return None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 0
        header = request_id.encode()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                headers.append((b"x-request-id", header))
                message = {**message, "headers": headers}
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_wrapper)
            except Exception as exc:
                log.error(
                    "unhandled_error",
                    error_type=type(exc).__name__,
                    method=scope.get("method"),
                    path=scope.get("path"),
                )
                if status:  # the response had started: nothing sensible left to send
                    raise
                await error_response(internal_error(), request_id)(scope, receive, send_wrapper)
            finally:
                log.info(
                    "request",
                    method=scope.get("method"),
                    path=scope.get("path"),
                    status=status,
                    ms=round((time.perf_counter() - started) * 1000, 2),
                )
