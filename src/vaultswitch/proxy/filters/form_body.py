"""FORM_FIELD on a body: the values of named fields of an
``application/x-www-form-urlencoded`` body.

The body is split on ``&`` into ``name=value`` pairs; a name is compared after
percent-decoding (``+`` is a space), so ``card%5Bnumber%5D`` is the field ``card[number]``.
The data is the *decoded* value (UTF-8); a replacement is percent-encoded again (space as
``+``, every byte outside ``A-Z a-z 0-9 _ . - ~`` as ``%XX``) and put in place of the value's
text, so every other byte of the body, other fields and their own escaping included, is
left exactly as it was. A pair without ``=`` or with an empty value holds nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import unquote_plus

from vaultswitch.domain.secret import Secret
from vaultswitch.proxy.filters.spots import Spot, Write, shown_name

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"


def select_form(text: str, fields: Collection[str]) -> list[tuple[str, Spot]]:
    """``(field name, spot)`` for each pair of ``text`` whose name is in ``fields``.

    A value whose percent-encoding is not UTF-8 is selected with the undecodable bytes
    kept as lone surrogates (:func:`~vaultswitch.proxy.filters.spots.valid_text` says
    no): REDACT refuses it, ENRICH finds no alias in it.
    """
    found: list[tuple[str, Spot]] = []
    at = 0
    for pair in text.split("&"):
        start = at
        at += len(pair) + 1
        eq = pair.find("=")
        if eq <= 0 or eq == len(pair) - 1:
            continue
        name = unquote_plus(pair[:eq], errors="replace")
        if name not in fields:
            continue
        value = unquote_plus(pair[eq + 1 :], errors="surrogateescape")
        found.append(
            (
                name,
                Spot(
                    start + eq + 1,
                    start + len(pair),
                    Secret(value),
                    Write.FORM,
                    f"form field {shown_name(name)}",
                ),
            )
        )
    return found
