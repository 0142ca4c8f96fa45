"""The message the filters transform: headers (raw pairs, as h11 gives them) and body bytes.

Headers are ``(name, value)`` byte pairs in wire order, duplicates kept; names compare
case-insensitively. The body is the whole (buffered) body; a proxy that sees no body entry
apply streams the body instead and passes ``b""`` with only the headers to filter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

Headers = tuple[tuple[bytes, bytes], ...]

_FRAMING = frozenset({b"content-length", b"transfer-encoding"})


def _raw(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode("latin-1")


@dataclass(frozen=True, slots=True)
class Message:
    """A request or response as the filters see it (its start line is the proxy's)."""

    headers: Headers
    body: bytes = b""

    @classmethod
    def of(
        cls, headers: Iterable[tuple[str | bytes, str | bytes]] = (), body: bytes = b""
    ) -> Message:
        """Build from str or bytes pairs (str is taken as Latin-1, as HTTP/1.1 header bytes)."""
        return cls(tuple((_raw(n), _raw(v)) for n, v in headers), body)

    def header(self, name: str) -> bytes | None:
        """The first value of a header (case-insensitive name), or None."""
        wanted = name.lower().encode("latin-1")
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    @property
    def content_type(self) -> str | None:
        """The Content-Type header (decoded as Latin-1), or None."""
        value = self.header("content-type")
        return None if value is None else value.decode("latin-1")

    @property
    def media_type(self) -> str:
        """The Content-Type's media type alone, lower-case (``""`` without the header)."""
        return media_type(self.content_type)

    def __repr__(self) -> str:  # header values and bodies may hold card data: never shown
        names = b", ".join(name for name, _ in self.headers).decode("latin-1")
        return f"Message(headers=[{names}], body=<{len(self.body)} bytes>)"


def media_type(content_type: str | None) -> str:
    """``Application/JSON; charset=utf-8`` → ``application/json``."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def is_json_media(media: str) -> bool:
    """``application/json`` or any ``*/*+json`` type."""
    return media == "application/json" or media.endswith("+json")


def is_framing(name: bytes) -> bool:
    """Content-Length and Transfer-Encoding: the server edge's, never transformed."""
    return name.lower() in _FRAMING


def with_body(headers: Headers, body: bytes, *, drop: Iterable[bytes] = ()) -> Headers:
    """Headers for a new body: every Content-Length replaced by one with the new length (where
    the first one was, else at the end), unless Transfer-Encoding frames the message; headers
    named in ``drop`` (lower-case) removed."""
    dropped = {name.lower() for name in drop}
    chunked = any(name.lower() == b"transfer-encoding" for name, _ in headers)
    length = str(len(body)).encode("ascii")
    out: list[tuple[bytes, bytes]] = []
    placed = chunked
    for name, value in headers:
        lower = name.lower()
        if lower in dropped:
            continue
        if lower == b"content-length":
            if not placed:
                out.append((name, length))
                placed = True
            continue
        out.append((name, value))
    if not placed:
        out.append((b"Content-Length", length))
    return tuple(out)
