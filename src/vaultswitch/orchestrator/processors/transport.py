"""The send step for processor connectors, over httpx (sync and async), and the two calls
an orchestrator makes: authorize and sync.

The connector stays sans-IO; anything that can send an :class:`HttpRequest` and return
an :class:`HttpResponse` can stand in for :class:`HttpxSend` (the orchestrator's own
executor, a test double). Transport failures become
:class:`~vaultswitch.orchestrator.processors.errors.ProcessorUnavailable` (503) whose
message says whether the request may have reached the processor.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from vaultswitch.client.logs import host_of
from vaultswitch.connectors.base import Credentials, HttpResponse
from vaultswitch.orchestrator.processors.base import (
    AuthorizeData,
    AuthorizeResult,
    HttpRequest,
    ProcessorConnector,
)
from vaultswitch.orchestrator.processors.errors import ProcessorUnavailable

Send = Callable[[HttpRequest], HttpResponse]
AsyncSend = Callable[[HttpRequest], Awaitable[HttpResponse]]

#: Errors raised before any byte of the request left: safe to retry whatever the request.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def transport_error(request: HttpRequest, exc: httpx.HTTPError) -> ProcessorUnavailable:
    """The typed error for a request that got no HTTP answer."""
    where = host_of(request.url)
    kind = type(exc).__name__
    if isinstance(exc, _NOT_SENT):
        return ProcessorUnavailable(
            f"could not connect to the processor at {where} ({kind}); nothing was sent"
        )
    if request.retry_safe:
        return ProcessorUnavailable(
            f"the processor at {where} did not answer the {request.flow.value} request ({kind})"
        )
    return ProcessorUnavailable(
        f"the processor at {where} did not answer the {request.flow.value} request ({kind}); "
        "it may have been processed",
        hint="Send an Idempotency-Key with authorize requests so that a retry gets the first "
        "answer instead of a second authorization; then retry.",
    )


def _response(response: httpx.Response) -> HttpResponse:
    headers = {name.lower(): value for name, value in response.headers.items()}
    return HttpResponse(response.status_code, headers, response.content)


class HttpxSend:
    """Sends over an ``httpx.Client`` (its timeouts and pool); one attempt per call."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            response = self.client.request(
                request.method, request.url, headers=dict(request.headers), content=request.body
            )
        except httpx.HTTPError as exc:
            raise transport_error(request, exc) from None
        return _response(response)


class AsyncHttpxSend:
    """Sends over an ``httpx.AsyncClient``; one attempt per call."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            response = await self.client.request(
                request.method, request.url, headers=dict(request.headers), content=request.body
            )
        except httpx.HTTPError as exc:
            raise transport_error(request, exc) from None
        return _response(response)


def authorize(
    connector: ProcessorConnector, credentials: Credentials, data: AuthorizeData, send: Send
) -> AuthorizeResult:
    """Authorize ``data`` at the processor: build, send, parse."""
    return connector.parse_authorize(send(connector.build_authorize(credentials, data)))


async def authorize_async(
    connector: ProcessorConnector,
    credentials: Credentials,
    data: AuthorizeData,
    send: AsyncSend,
) -> AuthorizeResult:
    return connector.parse_authorize(await send(connector.build_authorize(credentials, data)))


def sync(
    connector: ProcessorConnector, credentials: Credentials, transaction_id: str, send: Send
) -> AuthorizeResult:
    """Read an authorization back (Hyperswitch's PSync) by its connector_transaction_id."""
    return connector.parse_sync(send(connector.build_sync(credentials, transaction_id)))


async def sync_async(
    connector: ProcessorConnector,
    credentials: Credentials,
    transaction_id: str,
    send: AsyncSend,
) -> AuthorizeResult:
    return connector.parse_sync(await send(connector.build_sync(credentials, transaction_id)))
