"""HTTP/1.1 over asyncio streams: an h11 connection state machine fed from a socket.

:class:`H11Stream` is one connection seen from one side (``h11.SERVER`` towards a proxy
client, ``h11.CLIENT`` towards an upstream). It only moves bytes between the socket and h11;
every protocol decision (framing, keep-alive, what may follow what) is h11's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any

import h11

READ_SIZE = 65_536

#: headers that describe one hop (RFC 9110 section 7.6.1), never forwarded
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"upgrade",
    }
)

Headers = list[tuple[bytes, bytes]]


class PeerGone(Exception):
    """The other side closed the connection (or reset it) before a message was complete."""


def end_to_end(headers: Iterable[tuple[bytes, bytes]]) -> Headers:
    """The headers without hop-by-hop ones, nor those the Connection header names."""
    listed = list(headers)
    named: set[bytes] = set()
    for name, value in listed:
        if name == b"connection":
            named.update(part.strip().lower() for part in value.split(b","))
    return [(n, v) for n, v in listed if n not in HOP_BY_HOP and n not in named]


def header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """The first value of a (lower-case) header name, or None."""
    for key, value in headers:
        if key == name:
            return value
    return None


def without(headers: Iterable[tuple[bytes, bytes]], *names: bytes) -> Headers:
    drop = set(names)
    return [(n, v) for n, v in headers if n not in drop]


class H11Stream:
    """One HTTP/1.1 connection: h11 events in and out over an asyncio stream pair."""

    __slots__ = ("conn", "reader", "received", "writer")

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        role: Any,
        *,
        max_head_bytes: int = 65_536,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.conn = h11.Connection(role, max_incomplete_event_size=max_head_bytes)
        #: bytes received in this exchange (0: the peer sent nothing since the last one)
        self.received = 0

    async def next_event(self) -> Any:
        """The next h11 event, reading from the socket as needed (``h11.PAUSED`` too)."""
        conn = self.conn
        while True:
            event = conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            try:
                data = await self.reader.read(READ_SIZE)
            except (ConnectionError, OSError):
                data = b""
            self.received += len(data)
            conn.receive_data(data)

    def write(self, *events: Any) -> None:
        """Queue events for sending (call :meth:`drain` to wait until they are sent)."""
        conn = self.conn
        chunks = [conn.send(event) for event in events]
        self.writer.write(b"".join(c for c in chunks if c))

    async def drain(self) -> None:
        try:
            await self.writer.drain()
        except (ConnectionError, OSError):
            raise PeerGone from None

    async def send(self, *events: Any) -> None:
        self.write(*events)
        await self.drain()

    def reusable(self) -> bool:
        """Both sides finished one exchange and may start another on this connection."""
        return self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE

    def next_cycle(self) -> None:
        self.conn.start_next_cycle()
        self.received = 0

    def closed(self) -> bool:
        return self.writer.is_closing() or self.reader.at_eof()

    async def close(self) -> None:
        writer = self.writer
        if not writer.is_closing():
            writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.wait_closed(), 1.0)

    def abort(self) -> None:
        """Close at once, without waiting (a half-sent message cannot be finished)."""
        transport = self.writer.transport
        with contextlib.suppress(Exception):
            transport.abort()
