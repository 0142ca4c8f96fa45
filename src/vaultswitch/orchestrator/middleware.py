"""Request ids, the request log line and the last-resort error answer (pure ASGI).

Every response carries ``X-Request-Id`` (the caller's, when it is a short token, else a
new one); every request is logged once as ``{"event": "request", "request_id", "method",
"path", "status", "ms"}`` through the scrubbed structlog set-up. ``path`` is the route
template; no query string, headers or bodies are logged. An exception that escapes a
handler is answered with Hyperswitch's 500 body and logged by type only: its text may
hold what the caller sent.
"""

from __future__ import annotations

import re
import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vaultswitch.domain.request_ids import log_safe_hex

from .errors import error_response, internal_error
from .log import logger

_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _VALID_REQUEST_ID.fullmatch(text) else None
    return None


def _logged_path(scope: Scope) -> str:
    """The route template (``/v2/customers/{customer_id}``) when a route matched: ids in
    paths (a merchant reference may be an email address) stay out of the log."""
    route_path = getattr(scope.get("route"), "path", None)
    if isinstance(route_path, str):
        return route_path
    return str(scope.get("path", ""))[:200]


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _incoming_request_id(scope) or log_safe_hex()
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
                logger().error(
                    "unhandled_error",
                    error_type=type(exc).__name__,
                    method=scope.get("method"),
                    path=_logged_path(scope),
                )
                if status:  # the response had started: nothing sensible left to send
                    raise
                await error_response(internal_error(), request_id)(scope, receive, send_wrapper)
            finally:
                logger().info(
                    "request",
                    method=scope.get("method"),
                    path=_logged_path(scope),
                    status=status,
                    ms=round((time.perf_counter() - started) * 1000, 2),
                )
