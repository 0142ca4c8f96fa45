"""One path's endpoints by HTTP method: OPTIONS answers with `Allow`, anything else is a 405.

Every route of the vault goes through a :class:`Methods` table, so no method reaches an
endpoint that does not expect it, and every refusal names the methods that would work.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import NoReturn

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from vaultswitch.vault.core.errors import VaultApiError

Endpoint = Callable[[Request], Awaitable[Response]]
Refusal = Callable[[str, str], Response]  # (method, Allow header value) -> a 405 response

_ORDER = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH")
_SHOWN_METHOD = 20


class MethodNotAllowed(VaultApiError):
    default_status = 405
    default_title = "Method not allowed"
    default_code = "METHOD_NOT_ALLOWED"


def refuse_vgs(method: str, allow: str) -> NoReturn:
    """The Vault API's 405: the VGS error shape (rendered by the middleware) with `Allow`."""
    raise MethodNotAllowed(
        f"{method[:_SHOWN_METHOD]} is not allowed on this endpoint; use {allow}",
        headers={"Allow": allow},
    )


class Methods:
    """The endpoints of one path, by method; an ASGI app, so a Starlette Route hands it every
    method (a function endpoint would get Starlette's own 405 for all but GET)."""

    def __init__(self, endpoints: Mapping[str, Endpoint], refuse: Refusal = refuse_vgs) -> None:
        unknown = set(endpoints) - set(_ORDER)
        if unknown:
            raise ValueError(f"unsupported method(s) in a route table: {sorted(unknown)}")
        self._endpoints = dict(endpoints)
        self._refuse = refuse
        self.allow = ", ".join([m for m in _ORDER if m in endpoints] + ["OPTIONS"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.dispatch(Request(scope, receive, send))
        await response(scope, receive, send)

    async def dispatch(self, request: Request) -> Response:
        method = request.method
        endpoint = self._endpoints.get(method)
        if endpoint is not None:
            return await endpoint(request)
        if method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": self.allow})
        return self._refuse(method, self.allow)
