"""Which aliases of an import batch the vault has, and their values: reveal-multiple,
20 aliases per request, the requests of a batch at once.

A vault that refuses a reveal-multiple request because one alias is unknown (ours
answers 404 for the whole request; VGS does not document partial answers) gets the
request split in halves until every unknown alias is found on its own: a batch with one
missing alias costs about 2·log2(20) ≈ 9 more requests, a batch without any none. An
alias the vault rejects as malformed (400) is found the same way. A vault that does not
allow reveal at all (403: reveal disabled, or no ``aliases:read`` scope) is reported as
such: nothing could be checked.

The revealed values stay in memory (as :class:`Secret`) for the fingerprint and the
display metadata; they are never logged or returned.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from vaultswitch.domain.errors import AliasNotFound, InvalidRequest, PermissionDenied
from vaultswitch.domain.secret import Secret

from . import vaulting
from .context import AppContext
from .vaulting import VaultTarget


@dataclass(frozen=True)
class AliasCheck:
    """What the vault said about a batch's aliases."""

    values: dict[str, Secret] = field(default_factory=dict, repr=False)
    missing: frozenset[str] = field(default_factory=frozenset, repr=False)
    #: aliases the vault refused as malformed (HTTP 400)
    rejected: frozenset[str] = field(default_factory=frozenset, repr=False)
    #: the vault does not allow reveal: nothing was checked
    refused: PermissionDenied | None = None


async def check_aliases(ctx: AppContext, target: VaultTarget, aliases: Sequence[str]) -> AliasCheck:
    """Reveal every alias (PERSISTENT), in requests of the connector's batch size."""
    unique = list(dict.fromkeys(aliases))
    if not unique:
        return AliasCheck()
    size = target.connector.config.batch_size
    chunks = [unique[i : i + size] for i in range(0, len(unique), size)]
    try:
        parts = await asyncio.gather(*(_reveal(ctx, target, chunk) for chunk in chunks))
    except PermissionDenied as exc:
        return AliasCheck(refused=exc)
    values: dict[str, Secret] = {}
    missing: set[str] = set()
    rejected: set[str] = set()
    for part in parts:
        values.update(part.values)
        missing |= part.missing
        rejected |= part.rejected
    return AliasCheck(values, frozenset(missing), frozenset(rejected))


async def _reveal(ctx: AppContext, target: VaultTarget, chunk: list[str]) -> AliasCheck:
    try:
        values = await vaulting.reveal_aliases(ctx, target, chunk)
    except (AliasNotFound, InvalidRequest) as exc:
        if exc.upstream_status is None:  # refused before anything was sent: not an alias
            raise
        if len(chunk) == 1:
            if isinstance(exc, AliasNotFound):
                return AliasCheck(missing=frozenset(chunk))
            return AliasCheck(rejected=frozenset(chunk))
        half = len(chunk) // 2
        first, second = await asyncio.gather(
            _reveal(ctx, target, chunk[:half]), _reveal(ctx, target, chunk[half:])
        )
        return AliasCheck(
            {**first.values, **second.values},
            first.missing | second.missing,
            first.rejected | second.rejected,
        )
    return AliasCheck(values, frozenset(a for a in chunk if a not in values))
