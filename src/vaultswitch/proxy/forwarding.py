"""One request through a proxy: the part both edges share (one filter pipeline, two edges).

The edge (inbound: :mod:`vaultswitch.proxy.inbound`, outbound:
:mod:`vaultswitch.proxy.outbound`) reads the request head, decides the upstream and the
routes, and hands over an :class:`Exchange`. Then:

1. the REQUEST entries of those routes whose conditions hold (conditions look at the
   request's path, query and Content-Type, in both phases) are applied: if one of them
   reads the body, the body is read (at most ``max_body_bytes``) and the new body sent
   with a new Content-Length; otherwise the body is streamed to the upstream as it comes;
2. the request goes to the upstream over a pooled keep-alive connection (a kept-alive
   connection the upstream closed meanwhile is retried once on a new one, if the body can
   be sent again);
3. the RESPONSE entries are applied the same way on the way back: the body is read when an
   entry reads it, streamed otherwise. The client gets ``vgs-request-id`` and
   ``VGS-Upstream-Status-Code``.

A failure before the response head is sent becomes a :class:`ProxyError` answer; after it,
the client connection is cut (:class:`Aborted`): a half-sent response cannot be corrected.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import h11

from vaultswitch.proxy.errors import (
    ProxyError,
    body_too_large,
    upstream_protocol,
    upstream_timeout,
    upstream_unreachable,
)
from vaultswitch.proxy.filters import FilterPlan
from vaultswitch.proxy.filters.backend import AliasBackend, AliasBackendError
from vaultswitch.proxy.filters.errors import FilterError
from vaultswitch.proxy.filters.message import Message
from vaultswitch.proxy.http1 import H11Stream, Headers, PeerGone, end_to_end, header, without
from vaultswitch.proxy.routes import RequestFacts, Route, entries_for
from vaultswitch.proxy.seam import Pipeline
from vaultswitch.proxy.upstream import PoolKey, UpstreamConnection, UpstreamPool

_FRAMING = (b"content-length", b"transfer-encoding")
_NO_BODY_STATUS = frozenset({204, 304})

#: (host, port) -> the checked addresses to connect to (ProxyError when refused)
ResolveFn = Callable[[str, int], Awaitable[tuple[str, ...]]]


class Aborted(Exception):
    """The exchange failed after the response head was sent: close the client connection."""


class ClientGone(Exception):
    """The client went away in the middle of its request."""


@dataclass(slots=True)
class Exchange:
    """A request the edge has decided on: where it goes, with which routes."""

    request_id: str
    vault_id: str
    method: bytes
    #: origin-form target sent upstream (path and query)
    target: bytes
    #: the request's headers as the client sent them (end-to-end ones)
    headers: Headers
    #: headers the proxy adds to the upstream request (after the filters ran)
    upstream_headers: Headers
    facts: RequestFacts
    routes: Sequence[Route]
    backend: AliasBackend
    key: PoolKey
    #: checked addresses to connect to; None: resolve with ``resolve``
    addresses: tuple[str, ...] | None = None


@dataclass(slots=True)
class Outcome:
    """What happened (for the request log line)."""

    status: int = 0
    upstream_status: int | None = None
    request_entries: int = 0
    response_entries: int = 0
    reused: bool = False
    upstream_ms: float = 0.0
    notes: list[str] = field(default_factory=list)


def _has_body(headers: Headers) -> bool:
    length = header(headers, b"content-length")
    if length is not None:
        return length.strip() not in (b"0", b"")
    return header(headers, b"transfer-encoding") is not None


def _same_fields(
    after: Sequence[tuple[bytes, bytes]], before: Sequence[tuple[bytes, bytes]]
) -> bool:
    """Whether the filters left every header but the framing ones as h11 parsed them."""
    if after == before:
        return True
    return [h for h in after if h[0].lower() not in _FRAMING] == [
        h for h in before if h[0] not in _FRAMING
    ]


def _filter_error(exc: FilterError) -> ProxyError:
    return ProxyError(exc.status, exc.code, exc.detail, exc.hint)


def _backend_error(exc: AliasBackendError) -> ProxyError:
    status = exc.status if 400 <= exc.status < 600 else 502
    return ProxyError(status, exc.code, exc.detail, exc.hint or "see the proxy's log lines")


class Forwarder:
    """Sends exchanges upstream and their answers back, applying route entries."""

    def __init__(
        self,
        pool: UpstreamPool,
        pipeline: Pipeline,
        *,
        upstream_timeout: float,
        max_body_bytes: int,
    ) -> None:
        self.pool = pool
        self.pipeline = pipeline
        self.timeout = upstream_timeout
        self.max_body = max_body_bytes

    # ------------------------------------------------------------------ the request

    async def forward(
        self,
        client: H11Stream,
        ex: Exchange,
        resolve: ResolveFn,
        outcome: Outcome,
    ) -> None:
        """Send the exchange upstream and its response to the client (see the module doc)."""
        request_plan = FilterPlan.of([e for _, e in entries_for(ex.routes, "REQUEST", ex.facts)])
        response_plan = FilterPlan.of([e for _, e in entries_for(ex.routes, "RESPONSE", ex.facts)])
        outcome.request_entries = len(request_plan.entries)
        outcome.response_entries = len(response_plan.entries)
        has_body = _has_body(ex.headers)

        # a buffered body (b"" for none), or None: stream it as it comes
        streamed = has_body and not request_plan.touches_body
        body = None if streamed else await self._read_client_body(client)
        headers = ex.headers
        # headers h11 parsed (and the proxy's own) need no second validation; headers the
        # filters changed do
        trusted = True
        if not request_plan.empty:
            before = tuple(headers)
            message = await self._apply(request_plan, Message(before, body or b""), ex.backend)
            trusted = _same_fields(message.headers, before)
            headers = self._refit(headers, list(message.headers), body, message.body)
            if body is not None:
                body = message.body
        if body is None:
            await self._continue(client)
        upstream_headers = without(headers, b"expect") + list(ex.upstream_headers)
        if response_plan.touches_body:
            # the filters read the answer: ask for it uncompressed
            upstream_headers = without(upstream_headers, b"accept-encoding")
            upstream_headers.append((b"accept-encoding", b"identity"))
        request = h11.Request(
            method=ex.method, target=ex.target, headers=upstream_headers, _parsed=trusted
        )

        started = time.perf_counter()
        conn, response = await self._send(client, ex, resolve, request, body, outcome)
        outcome.upstream_ms = (time.perf_counter() - started) * 1000
        try:
            await self._answer(client, conn, ex, response, response_plan, outcome)
        finally:
            self.pool.release(conn)

    async def _apply(self, plan: FilterPlan, message: Message, backend: AliasBackend) -> Message:
        try:
            return await self.pipeline.apply(plan, message, backend)
        except FilterError as exc:
            raise _filter_error(exc) from None
        except AliasBackendError as exc:
            raise _backend_error(exc) from None

    @staticmethod
    def _refit(
        original: Headers, filtered: Headers, old_body: bytes | None, new_body: bytes
    ) -> Headers:
        """The filtered headers with the framing of the message as it will be sent: a new
        Content-Length for a buffered body, the client's own framing for a streamed one."""
        headers = without(filtered, *_FRAMING)
        if old_body is None or old_body == new_body == b"":
            headers.extend((n, v) for n, v in original if n in _FRAMING)
        else:
            headers.append((b"content-length", str(len(new_body)).encode()))
        return headers

    async def _continue(self, client: H11Stream) -> None:
        if client.conn.they_are_waiting_for_100_continue:
            await client.send(h11.InformationalResponse(status_code=100, headers=[]))

    async def _read_client_body(self, client: H11Stream) -> bytes:
        await self._continue(client)
        parts: list[bytes] = []
        size = 0
        while True:
            event = await self._client_event(client)
            if isinstance(event, h11.Data):
                size += len(event.data)
                if size > self.max_body:
                    raise body_too_large("request", self.max_body)
                parts.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return b"".join(parts)
            else:
                raise ClientGone

    async def _client_event(self, client: H11Stream) -> object:
        try:
            async with asyncio.timeout(self.timeout):
                event = await client.next_event()
        except TimeoutError:
            raise ClientGone from None
        except h11.RemoteProtocolError:
            raise ClientGone from None
        if isinstance(event, h11.ConnectionClosed):
            raise ClientGone
        return event

    # ------------------------------------------------------------------ upstream

    async def _connection(
        self, ex: Exchange, resolve: ResolveFn, *, fresh: bool
    ) -> tuple[UpstreamConnection, bool]:
        if not fresh:
            idle = self.pool.take_idle(ex.key)
            if idle is not None:
                return idle, True
        addresses = ex.addresses
        if addresses is None:
            addresses = await resolve(ex.key.host, ex.key.port)
            ex.addresses = addresses
        return await self.pool.connect(ex.key, addresses), False

    async def _send(
        self,
        client: H11Stream,
        ex: Exchange,
        resolve: ResolveFn,
        request: h11.Request,
        body: bytes | None,
        outcome: Outcome,
    ) -> tuple[UpstreamConnection, h11.Response]:
        """Send the request (retrying once on a stale kept-alive connection) and read the
        response head."""
        fresh = False
        while True:
            conn, reused = await self._connection(ex, resolve, fresh=fresh)
            outcome.reused = reused
            up = conn.stream
            try:
                if body is not None:
                    events: list[object] = [request]
                    if body:
                        events.append(h11.Data(data=body))
                    events.append(h11.EndOfMessage())
                    await up.send(*events)
                else:
                    await up.send(request)
                    await self._stream_request_body(client, up)
                response = await self._response_head(up, ex)
                return conn, response
            except (PeerGone, _UpstreamClosed, h11.RemoteProtocolError, OSError) as exc:
                up.abort()
                if reused and body is not None and not isinstance(exc, h11.RemoteProtocolError):
                    fresh = True  # the upstream closed a kept-alive connection: once more
                    continue
                if isinstance(exc, h11.RemoteProtocolError):
                    raise upstream_protocol(str(ex.key)) from None
                raise upstream_unreachable(str(ex.key), "the connection was closed") from None
            except BaseException:
                up.abort()
                raise

    async def _stream_request_body(self, client: H11Stream, up: H11Stream) -> None:
        while True:
            event = await self._client_event(client)
            if isinstance(event, h11.Data):
                await up.send(event)
            elif isinstance(event, h11.EndOfMessage):
                await up.send(h11.EndOfMessage())
                return
            else:
                raise ClientGone

    async def _upstream_event(self, up: H11Stream, ex: Exchange) -> object:
        try:
            async with asyncio.timeout(self.timeout):
                event = await up.next_event()
        except TimeoutError:
            raise upstream_timeout(str(ex.key), self.timeout) from None
        if isinstance(event, h11.ConnectionClosed):
            raise _UpstreamClosed
        return event

    async def _response_head(self, up: H11Stream, ex: Exchange) -> h11.Response:
        while True:
            try:
                event = await self._upstream_event(up, ex)
            except h11.RemoteProtocolError:
                if up.received == 0:  # closed before a byte of an answer: not a bad answer
                    raise _UpstreamClosed from None
                raise
            if isinstance(event, h11.Response):
                return event
            if isinstance(event, h11.InformationalResponse):
                continue  # 100 / 103: the proxy answers 100-continue itself
            raise upstream_protocol(str(ex.key))

    # ------------------------------------------------------------------ the response

    async def _answer(
        self,
        client: H11Stream,
        conn: UpstreamConnection,
        ex: Exchange,
        response: h11.Response,
        plan: FilterPlan,
        outcome: Outcome,
    ) -> None:
        up = conn.stream
        status = response.status_code
        outcome.upstream_status = outcome.status = status
        headers = end_to_end(response.headers)
        proxy_headers = [
            (b"vgs-request-id", ex.request_id.encode()),
            (b"vgs-upstream-status-code", str(status).encode()),
        ]
        bodiless = ex.method == b"HEAD" or status in _NO_BODY_STATUS or status < 200
        trusted = True  # as for the request (see forward)
        if not plan.empty:
            body: bytes | None = None
            if not bodiless and plan.touches_body:
                body = await self._read_upstream_body(up, ex)
            before = tuple(headers)
            try:
                message = await self._apply(plan, Message(before, body or b""), ex.backend)
            except ProxyError:
                if body is None:
                    up.abort()  # the body was not read: the connection cannot be reused
                raise
            trusted = _same_fields(message.headers, before)
            headers = self._refit(headers, list(message.headers), body, message.body)
            if body is not None:
                await client.send(
                    h11.Response(
                        status_code=status,
                        headers=headers + proxy_headers,
                        reason=response.reason,
                        _parsed=trusted,
                    ),
                    h11.Data(data=message.body),
                    h11.EndOfMessage(),
                )
                return
        client.write(
            h11.Response(
                status_code=status,
                headers=headers + proxy_headers,
                reason=response.reason,
                _parsed=trusted,
            )
        )
        try:
            while True:
                event = await self._upstream_event(up, ex)
                if isinstance(event, h11.Data):
                    client.write(event)
                    await client.drain()
                elif isinstance(event, h11.EndOfMessage):
                    await client.send(h11.EndOfMessage())
                    return
                else:
                    raise _UpstreamClosed
        except (ProxyError, _UpstreamClosed, h11.RemoteProtocolError, PeerGone, OSError):
            up.abort()
            raise Aborted from None

    async def _read_upstream_body(self, up: H11Stream, ex: Exchange) -> bytes:
        parts: list[bytes] = []
        size = 0
        try:
            while True:
                event = await self._upstream_event(up, ex)
                if isinstance(event, h11.Data):
                    size += len(event.data)
                    if size > self.max_body:
                        up.abort()
                        raise body_too_large("response", self.max_body)
                    parts.append(bytes(event.data))
                elif isinstance(event, h11.EndOfMessage):
                    return b"".join(parts)
                else:
                    raise _UpstreamClosed
        except (_UpstreamClosed, h11.RemoteProtocolError, OSError):
            up.abort()
            raise upstream_protocol(str(ex.key)) from None


class _UpstreamClosed(Exception):
    """The upstream closed the connection before its response was complete."""
