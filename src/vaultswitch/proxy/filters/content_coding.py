"""Reading a compressed body: ``Content-Encoding: gzip`` / ``x-gzip`` / ``deflate`` (and
lists of them) are decompressed, up to a size limit, before body entries look at it.

A body the filters change is sent on uncompressed (its Content-Encoding removed); one they
leave alone keeps its original bytes. Other codings (``br``, ``zstd``, ...) cannot be read,
so body entries on such a message fail with
:class:`~vaultswitch.proxy.filters.errors.UnsupportedContentEncoding` rather than let data
pass unexamined (a proxy avoids that by asking upstreams only for codings listed here).
"""

from __future__ import annotations

import zlib

from vaultswitch.proxy.filters.errors import (
    BodyTooLarge,
    InvalidContentEncoding,
    Phase,
    UnsupportedContentEncoding,
)
from vaultswitch.proxy.filters.message import Headers

READABLE = ("gzip", "x-gzip", "deflate")
_GZIP_WBITS = 16 + zlib.MAX_WBITS


def codings(headers: Headers) -> list[str]:
    """The Content-Encoding codings in the order they were applied (``identity`` left out)."""
    found: list[str] = []
    for name, value in headers:
        if name.lower() == b"content-encoding":
            for part in value.decode("latin-1").split(","):
                coding = part.strip().lower()
                if coding and coding != "identity":
                    found.append(coding)
    return found


def decoded_body(body: bytes, applied: list[str], limit: int, phase: Phase) -> bytes:
    """``body`` with ``applied`` codings undone (last applied first), at most ``limit`` bytes."""
    for coding in applied:
        if coding not in READABLE:
            raise UnsupportedContentEncoding(
                f"the body is {coding[:32]}-compressed, which the filters cannot read",
                f"send the body uncompressed or as {', '.join(READABLE)}",
                phase,
            )
    for coding in reversed(applied):
        body = _inflate(body, coding, limit, phase)
    return body


def _inflate(body: bytes, coding: str, limit: int, phase: Phase) -> bytes:
    attempts = (_GZIP_WBITS,) if coding != "deflate" else (zlib.MAX_WBITS, -zlib.MAX_WBITS)
    for wbits in attempts:
        try:
            return _decompress(body, wbits, limit, phase)
        except zlib.error:
            continue  # deflate: zlib-wrapped first, then raw (servers send both)
    raise InvalidContentEncoding(
        f"the body is not valid {coding} data",
        "send the body as the Content-Encoding header says, or uncompressed",
        phase,
    )


def _decompress(body: bytes, wbits: int, limit: int, phase: Phase) -> bytes:
    out: list[bytes] = []
    size = 0
    data = body
    while True:
        inflater = zlib.decompressobj(wbits)
        chunk = inflater.decompress(data, limit + 1 - size)
        size += len(chunk)
        out.append(chunk)
        if size > limit or inflater.unconsumed_tail:
            raise BodyTooLarge(
                f"the body is larger than {limit} bytes once decompressed",
                "send a smaller body",
                phase,
            )
        if not inflater.eof:
            raise zlib.error("truncated")
        data = inflater.unused_data
        if wbits != _GZIP_WBITS or not data:  # gzip bodies may hold several members
            return b"".join(out)
