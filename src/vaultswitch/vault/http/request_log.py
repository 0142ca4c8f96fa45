"""What the request log line says about aliases: their references, never the aliases.

An alias may look like a card number (FPE aliases are Luhn-valid and keep a card's first 6 and
last 4 digits), and whatever a caller puts where an alias goes (a PAN, by mistake) must not be
written down either. So the logged path has the alias segment replaced by its reference
(``/aliases/alias:1a2b3c4d5e``), the ``aliases``/``q`` query values likewise, and the line's
``alias_ref`` lists the reference of every alias the request used: in the path, the query,
a create (references and the aliases it answered with) or a batch delete. References come
from :class:`~vaultswitch.vault.core.log_refs.LogRefs`; ``vaultswitch vault alias-ref ALIAS``
prints one, to grep the log for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode

from vaultswitch.vault.core.log_refs import LogRefs
from vaultswitch.vault.core.models import AliasReference, CreateItem, Record

MAX_QUERY_LOGGED = 512
_ALIAS_PATH = "/aliases/"
_NOT_AN_ALIAS = frozenset({"delete"})  # /aliases/delete is the batch-delete route
_ALIAS_QUERY_KEYS = frozenset({"aliases", "q"})


def path_alias(path: str) -> str | None:
    """The alias segment of ``/aliases/{alias}`` (tenant prefix already removed), else None."""
    if not path.startswith(_ALIAS_PATH):
        return None
    rest = path[len(_ALIAS_PATH) :]
    if not rest or "/" in rest or rest in _NOT_AN_ALIAS:
        return None
    return rest


def created_aliases(items: Sequence[CreateItem], records: Sequence[Record]) -> list[str]:
    """The aliases a create used: each reference, and the alias each item was answered with."""
    used: list[str] = []
    for item, record in zip(items, records, strict=False):
        if isinstance(item, AliasReference):
            used.append(item.alias)
        fmt = item.format
        for info in record.aliases:
            if info.format == fmt:
                used.append(info.alias)
                break
    return used


def referenced_aliases(items: Sequence[CreateItem]) -> list[str] | None:
    """The aliases a create refers to (known before the service call), or None."""
    found = [item.alias for item in items if isinstance(item, AliasReference)]
    return found or None


class RequestLog:
    """Turns a request's path, query and used aliases into its log fields."""

    __slots__ = ("_refs",)

    def __init__(self, refs: LogRefs) -> None:
        self._refs = refs

    def path(self, path: str, routed: str) -> tuple[str, str | None]:
        """(the path to log, the alias in it); ``routed`` is path without its tenant prefix."""
        alias = path_alias(routed)
        if alias is None:
            return path, None
        return path[: len(path) - len(alias)] + self._refs.alias(alias), alias

    def query(self, query_string: bytes) -> tuple[str, list[str]]:
        """(the query to log, the aliases listed in it)."""
        text = query_string.decode("latin-1")
        if "aliases=" not in text and "q=" not in text:
            return text[:MAX_QUERY_LOGGED], []
        listed: list[str] = []
        pairs: list[tuple[str, str]] = []
        for key, value in parse_qsl(text, keep_blank_values=True):
            if key in _ALIAS_QUERY_KEYS:
                parts = [part.strip() for part in value.split(",")]
                listed.extend(part for part in parts if part)
                value = ",".join(self._refs.alias(part) if part else part for part in parts)
            pairs.append((key, value))
        return urlencode(pairs, safe=",:")[:MAX_QUERY_LOGGED], listed

    def fields(
        self, path: str, routed: str, query_string: bytes, used: Sequence[str] | None
    ) -> dict[str, Any]:
        """``path`` and ``query`` with aliases replaced, plus ``alias_ref`` when any was used.

        ``path``: as requested (without the ASGI root path); ``routed``: without the tenant
        prefix; ``used``: aliases the endpoint reported (create, batch delete).
        """
        path, alias = self.path(path, routed)
        query, listed = self.query(query_string) if query_string else ("", [])
        aliases: list[str] = [] if alias is None else [alias]
        aliases.extend(listed)
        if used:
            aliases.extend(used)
        out: dict[str, Any] = {"path": path, "query": query}
        if aliases:
            out["alias_ref"] = list(dict.fromkeys(map(self._refs.alias, aliases)))
        return out
