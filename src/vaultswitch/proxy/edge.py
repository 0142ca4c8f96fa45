"""A proxy edge's connection loop: HTTP/1.1 keep-alive, errors, one log line per request.

:class:`Edge` serves one client connection: it reads requests one after another (closing a
connection idle for ``idle_timeout``), gives each to :meth:`Edge.exchange` (the inbound or
outbound proxy), answers a :class:`ProxyError` in the VGS error shape, and logs one
``proxy.request`` line per request with its id. Request paths are logged without the query
string and scrubbed of card numbers; bodies and header values are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import h11

from vaultswitch.domain.redaction import scrub_text
from vaultswitch.domain.request_ids import log_safe_hex
from vaultswitch.logs import get_logger
from vaultswitch.proxy.errors import ProxyError
from vaultswitch.proxy.forwarding import Aborted, ClientGone, Outcome
from vaultswitch.proxy.http1 import H11Stream, PeerGone
from vaultswitch.proxy.runtime import ProxyRuntime
from vaultswitch.vault.core.errors import VaultApiError

log = get_logger("vaultswitch.proxy")


@dataclass(slots=True)
class Tunnel:
    """A CONNECT tunnel: requests inside it go to host:port over TLS, for this vault."""

    host: str
    port: int
    vault_id: str
    username: str
    addresses: tuple[str, ...]


@dataclass(slots=True)
class ClientState:
    """What the proxy knows about one client connection."""

    client_ip: str | None
    #: Proxy-Authorization values already checked on this connection -> (vault, username)
    authenticated: dict[bytes, tuple[str, str]] = field(default_factory=dict)
    tunnel: Tunnel | None = None


@dataclass(slots=True)
class RequestLog:
    """Fields of the request's log line the edge fills in."""

    vault_id: str | None = None
    host: str | None = None
    path: str = ""


def vault_error(exc: VaultApiError) -> ProxyError:
    hint = "see the proxy's log lines with this request id"
    if exc.code == "VAULT_NOT_FOUND":
        hint = "check the vault id (`vaultswitch vault list` lists the vaults)"
    elif exc.status == 503:
        hint = "the vault's storage is unavailable; try again"
    status = exc.status if 400 <= exc.status < 600 else 500
    return ProxyError(status, exc.code, exc.detail, hint)


def new_request_id() -> str:
    return log_safe_hex()


class Edge:
    """The loop every proxy connection runs; subclasses implement :meth:`exchange`."""

    name = "edge"

    def __init__(self, runtime: ProxyRuntime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings

    async def exchange(
        self,
        client: H11Stream,
        request: h11.Request,
        state: ClientState,
        request_id: str,
        outcome: Outcome,
        entry: RequestLog,
    ) -> bool:
        """Handle one request; False when the connection must not be used again."""
        raise NotImplementedError

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """An ``asyncio.start_server`` callback: serve one client connection."""
        peer: Any = writer.get_extra_info("peername")
        state = ClientState(peer[0] if isinstance(peer, tuple) and peer else None)
        client = H11Stream(reader, writer, h11.SERVER, max_head_bytes=self.settings.max_head_bytes)
        try:
            await self.serve(client, state)
            await client.close()
        except asyncio.CancelledError:  # the server is stopping
            client.abort()
        except Exception as exc:  # one connection never takes the server down
            log.error("proxy.connection_failed", edge=self.name, error=type(exc).__name__)
            client.abort()

    async def serve(self, client: H11Stream, state: ClientState) -> None:
        """Requests of one connection (or one CONNECT tunnel), one after another."""
        while True:
            try:
                async with asyncio.timeout(self.settings.idle_timeout):
                    event = await client.next_event()
            except TimeoutError:
                return
            except h11.RemoteProtocolError as exc:
                await self._bad_request(client, exc)
                return
            if not isinstance(event, h11.Request):
                return  # ConnectionClosed (or PAUSED after a protocol switch)
            if not await self.one(client, event, state):
                return
            if not client.reusable():
                return
            client.next_cycle()

    async def one(self, client: H11Stream, request: h11.Request, state: ClientState) -> bool:
        request_id = new_request_id()
        outcome = Outcome()
        entry = RequestLog()
        started = time.perf_counter()
        keep = False
        try:
            keep = await self.exchange(client, request, state, request_id, outcome, entry)
        except ProxyError as err:
            outcome.status = err.status
            keep = await self._answer_error(client, err, request_id)
        except VaultApiError as exc:
            answer = vault_error(exc)
            outcome.status = answer.status
            keep = await self._answer_error(client, answer, request_id)
        except (Aborted, ClientGone, PeerGone):
            outcome.notes.append("connection cut")
            client.abort()
        finally:
            log.info(
                "proxy.request",
                edge=self.name,
                request_id=request_id,
                vault_id=entry.vault_id,
                method=request.method.decode("ascii", "replace"),
                host=entry.host,
                path=scrub_text(entry.path),
                status=outcome.status,
                upstream_status=outcome.upstream_status,
                request_entries=outcome.request_entries,
                response_entries=outcome.response_entries,
                reused=outcome.reused,
                upstream_ms=round(outcome.upstream_ms, 2),
                ms=round((time.perf_counter() - started) * 1000, 2),
                **({"notes": outcome.notes} if outcome.notes else {}),
            )
        return keep

    async def _answer_error(self, client: H11Stream, err: ProxyError, request_id: str) -> bool:
        """Send the error if no response was started; True when the connection may go on."""
        if client.conn.our_state is not h11.SEND_RESPONSE:
            client.abort()
            return False
        close = client.conn.their_state is not h11.DONE  # its body was not read
        try:
            await client.send(*err.events(request_id, close=close))
        except (PeerGone, h11.LocalProtocolError):
            return False
        return not close

    async def _bad_request(self, client: H11Stream, exc: h11.RemoteProtocolError) -> None:
        if client.conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        status = exc.error_status_hint if 400 <= exc.error_status_hint < 500 else 400
        err = ProxyError(
            status,
            "INVALID_HTTP",
            f"the request is not valid HTTP/1.1: {exc}",
            "send an HTTP/1.1 request (the proxies speak HTTP/1.1 only)",
        )
        request_id = new_request_id()
        log.info(
            "proxy.request",
            edge=self.name,
            request_id=request_id,
            status=status,
            notes=["invalid HTTP"],
        )
        with contextlib.suppress(PeerGone, h11.LocalProtocolError):
            await client.send(*err.events(request_id, close=True))
