"""Connections from the proxies to upstreams: TLS verification and a keep-alive pool.

Upstream TLS is verified (certificate chain and host name) against the system CAs plus the
PEM bundle in ``VAULTSWITCH_PROXY_UPSTREAM_CA_FILE`` when set. Idle connections are kept per
(host, port, tls) for reuse, at most ``pool_size`` each, for ``pool_idle_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import h11

from vaultswitch.proxy.errors import (
    ProxyError,
    upstream_timeout,
    upstream_tls,
    upstream_unreachable,
)
from vaultswitch.proxy.http1 import H11Stream


def upstream_tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Client TLS: the system CAs, plus ``ca_file`` (a PEM bundle) when given."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise ProxyError(
                500,
                "UPSTREAM_CA_FILE",
                f"cannot load VAULTSWITCH_PROXY_UPSTREAM_CA_FILE {ca_file}: {exc}",
                "point VAULTSWITCH_PROXY_UPSTREAM_CA_FILE at a readable PEM file of CA "
                "certificates, or unset it",
            ) from None
    context.set_alpn_protocols(["http/1.1"])
    return context


@dataclass(frozen=True, slots=True)
class PoolKey:
    host: str
    port: int
    tls: bool

    def __str__(self) -> str:
        scheme = "https" if self.tls else "http"
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{shown}:{self.port}"


class UpstreamConnection:
    """One HTTP/1.1 connection to an upstream, kept alive between requests when it can be."""

    __slots__ = ("idle_since", "key", "stream", "uses")

    def __init__(self, key: PoolKey, stream: H11Stream) -> None:
        self.key = key
        self.stream = stream
        self.idle_since = 0.0
        self.uses = 0


class UpstreamPool:
    """Upstream connections, opened on demand and kept for reuse."""

    def __init__(
        self,
        tls_context: ssl.SSLContext,
        *,
        connect_timeout: float,
        max_idle: int,
        idle_seconds: float,
        max_head_bytes: int,
    ) -> None:
        self._tls = tls_context
        self._connect_timeout = connect_timeout
        self._max_idle = max_idle
        self._idle_seconds = idle_seconds
        self._max_head = max_head_bytes
        self._idle: dict[PoolKey, deque[UpstreamConnection]] = {}
        self.opened = 0  # connections opened so far (tests and diagnostics)

    def take_idle(self, key: PoolKey) -> UpstreamConnection | None:
        """A kept-alive connection for key that still looks usable, or None."""
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()  # the most recently used one: the least likely to be closed
            if now - conn.idle_since < self._idle_seconds and not conn.stream.closed():
                return conn
            conn.stream.abort()
        return None

    async def connect(self, key: PoolKey, addresses: tuple[str, ...]) -> UpstreamConnection:
        """A new connection to one of the (checked) addresses; ProxyError if none answers."""
        last: ProxyError | None = None
        for address in addresses:
            try:
                async with asyncio.timeout(self._connect_timeout):
                    reader, writer = await asyncio.open_connection(
                        address,
                        key.port,
                        ssl=self._tls if key.tls else None,
                        server_hostname=key.host if key.tls else None,
                        limit=2**20,
                    )
            except TimeoutError:
                last = upstream_timeout(str(key), self._connect_timeout)
                continue
            except ssl.SSLCertVerificationError as exc:
                raise upstream_tls(
                    str(key), exc.verify_message or "certificate not trusted"
                ) from None
            except ssl.SSLError as exc:
                raise upstream_tls(str(key), exc.reason or type(exc).__name__) from None
            except OSError as exc:
                last = upstream_unreachable(str(key), exc.strerror or type(exc).__name__)
                continue
            self.opened += 1
            stream = H11Stream(reader, writer, h11.CLIENT, max_head_bytes=self._max_head)
            return UpstreamConnection(key, stream)
        assert last is not None, "no address to connect to"
        raise last

    def release(self, conn: UpstreamConnection) -> None:
        """Keep the connection for reuse if its exchange ended cleanly, else close it."""
        stream = conn.stream
        if not stream.reusable() or stream.closed() or self._max_idle == 0:
            stream.abort()
            return
        stream.next_cycle()
        conn.uses += 1
        conn.idle_since = time.monotonic()
        idle = self._idle.setdefault(conn.key, deque())
        idle.append(conn)
        while len(idle) > self._max_idle:
            idle.popleft().stream.abort()

    def idle_count(self, key: PoolKey | None = None) -> int:
        if key is not None:
            return len(self._idle.get(key, ()))
        return sum(len(d) for d in self._idle.values())

    async def close(self) -> None:
        for idle in self._idle.values():
            while idle:
                conn = idle.pop()
                with contextlib.suppress(Exception):
                    await conn.stream.close()
        self._idle.clear()
