"""Entries with ``targets: [headers]``: FORM_FIELD names headers (case-insensitively; the
whole value is the data), REGEX searches every header value.

Content-Length and Transfer-Encoding are never selected: framing is the server edge's.
Header values are read as UTF-8 (bytes that are not are kept as they are), and a value that
would carry a line break, a NUL or white space at either end after its replacement is
refused (:class:`~vaultswitch.proxy.filters.errors.InvalidHeaderValue`): it cannot be sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from vaultswitch.domain.secret import Secret
from vaultswitch.proxy.filters.message import Headers, is_framing
from vaultswitch.proxy.filters.regex_body import select_regex
from vaultswitch.proxy.filters.spots import Spot, Write, shown_name
from vaultswitch.proxy.routes.transformers import RegexTransformer

_UNSENDABLE = frozenset("\r\n\x00")


def header_text(value: bytes) -> str:
    return value.decode("utf-8", "surrogateescape")


def header_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def select_headers(
    headers: Headers,
    fields: Mapping[str, Sequence[int]],
    patterns: Sequence[tuple[int, RegexTransformer]],
) -> dict[int, list[tuple[int, Spot]]]:
    """Per header index, ``(entry number, spot)`` in entry order: ``fields`` maps lower-case
    header names to the entries naming them, ``patterns`` are REGEX entries."""
    found: dict[int, list[tuple[int, Spot]]] = {}
    for index, (name, raw) in enumerate(headers):
        if is_framing(name):
            continue
        spots: list[tuple[int, Spot]] = []
        text: str | None = None
        display = shown_name(name.decode("latin-1"))
        named = fields.get(name.decode("latin-1").lower(), ())
        if named and raw:
            text = header_text(raw)
            whole = Spot(0, len(text), Secret(text), Write.RAW, f"header {display}")
            spots.extend((number, whole) for number in named)
        for number, transformer in patterns:
            if text is None:
                text = header_text(raw)
            spots.extend((number, s) for s in select_regex(text, transformer, f"header {display}"))
        if spots:
            spots.sort(key=lambda pair: pair[0])
            found[index] = spots
    return found


def sendable(value: str) -> bool:
    """Whether a header value can go on the wire as it is (h11 refuses the others)."""
    if not value:
        return True
    if value[0] in " \t" or value[-1] in " \t":
        return False
    return not any(char in _UNSENDABLE for char in value)
