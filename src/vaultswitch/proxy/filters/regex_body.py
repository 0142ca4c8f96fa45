"""REGEX: what an entry's patterns match in a text (the body, or one header value).

Patterns are compiled once, when the route is parsed (``RegexTransformer.compiled``); here
they are only searched. A pattern with a capture group selects its first group, one
without selects the whole match; empty matches select nothing. The selected text is the
data as it stands (no decoding: in a JSON or form body that is the escaped text), and a
replacement is put in as it stands too.
"""

from __future__ import annotations

from vaultswitch.domain.secret import Secret
from vaultswitch.proxy.filters.spots import Spot, Write
from vaultswitch.proxy.routes.transformers import RegexTransformer, regex_value


def select_regex(text: str, transformer: RegexTransformer, where: str) -> list[Spot]:
    """Spots of every match of every pattern, pattern by pattern (an earlier pattern's spot
    wins over an overlapping later one when they are claimed)."""
    found: list[Spot] = []
    for number, pattern in enumerate(transformer.compiled):
        place = f"{where} (REGEX pattern {number})"
        for match in pattern.finditer(text):
            span = regex_value(match)
            if span is None:
                continue
            start, end = span
            found.append(Spot(start, end, Secret(text[start:end]), Write.RAW, place))
    return found
