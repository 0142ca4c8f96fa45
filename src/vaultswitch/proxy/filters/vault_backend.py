"""The alias backend over our vault's core, in-process (the proxies never go through the
vault's HTTP layer): :class:`VaultCoreBackend` calls
:meth:`VaultService.create_aliases <vaultswitch.vault.core.service.VaultService.create_aliases>`
and :meth:`VaultService.reveal <vaultswitch.vault.core.service.VaultService.reveal>` for one
vault, with the audit context of one proxied request (its request id as the trace id).

- ``redact``: each value is checked against its format's input rule first (a value that
  does not fit is refused by index, which the pipeline turns into a 400 naming the field),
  then all of one message's values of a storage are stored in one transaction; with
  fingerprinting on, a value already stored gets its existing alias.
- ``reveal``: the vault reveals all or nothing, so a batch that names an unknown alias is
  split in halves until the unknown ones are isolated (they answer None); strings that
  cannot be aliases at all are never sent. Batches follow the vault's ``max_items``.
- Vault errors (storage unavailable, reveal disabled, ...) become
  :class:`~vaultswitch.proxy.filters.backend.AliasBackendError` with the vault's status,
  code and detail (which never hold a value).

The service is synchronous; :func:`async_vault_backend` runs it in worker threads (or
through any runner, e.g. the vault's group committer) for the async pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio.to_thread

from vaultswitch.domain.secret import Secret
from vaultswitch.proxy.filters.backend import (
    AliasBackendError,
    AsyncBackend,
    RedactItem,
    Runner,
    Storage,
    ValueRefused,
)
from vaultswitch.vault.core import formats
from vaultswitch.vault.core.aliases import check_classifiers
from vaultswitch.vault.core.errors import AliasNotFoundError, VaultApiError
from vaultswitch.vault.core.models import AuditContext, NewValue, Record
from vaultswitch.vault.core.service import VaultService

PROXY_ACTOR = "proxy"


class VaultCoreBackend:
    """A :class:`~vaultswitch.proxy.filters.backend.SyncAliasBackend` for one vault and one
    request (cheap to build per request)."""

    def __init__(self, service: VaultService, vault_id: str, ctx: AuditContext) -> None:
        self.service = service
        self.vault_id = vault_id
        self.ctx = ctx

    @classmethod
    def for_request(
        cls,
        service: VaultService,
        vault_id: str,
        request_id: str | None = None,
        *,
        client: str | None = None,
        actor: str = PROXY_ACTOR,
    ) -> VaultCoreBackend:
        """Audit as ``actor`` from ``client``, under the proxy's request id."""
        return cls(service, vault_id, AuditContext(actor, client, request_id))

    def redact(self, items: Sequence[RedactItem]) -> list[str]:
        if not items:
            return []
        new_values: list[NewValue] = []
        for i, item in enumerate(items):
            if not formats.value_fits(item.format, item.value.reveal()):
                raise ValueRefused(i, f"{item.format} needs {formats.format_rule(item.format)}")
            try:
                classifiers = check_classifiers(item.classifiers)
            except VaultApiError as exc:
                raise _backend_error(exc) from None
            new_values.append(NewValue(item.value, item.format, classifiers, item.storage))
        try:
            records = self.service.create_aliases(self.vault_id, new_values, self.ctx, True)
        except VaultApiError as exc:
            raise _backend_error(exc) from None
        return [_alias_of(rec, item.format) for rec, item in zip(records, items, strict=True)]

    def reveal(self, aliases: Sequence[str], storage: Storage) -> Mapping[str, Secret | None]:
        result: dict[str, Secret | None] = dict.fromkeys(aliases)
        wanted = [a for a in dict.fromkeys(aliases) if formats.is_alias_shaped(a)]
        size = max(1, self.service.settings.max_items)
        for start in range(0, len(wanted), size):
            for alias, record in self._reveal_known(wanted[start : start + size], storage):
                result[alias] = record.value
        return result

    def _reveal_known(self, aliases: list[str], storage: str) -> list[tuple[str, Record]]:
        """The records of the aliases the vault holds (unknown ones left out)."""
        try:
            found = self.service.reveal(self.vault_id, aliases, storage, self.ctx)
        except AliasNotFoundError:
            # its detail names what was asked for, which may be a card a client sent in
            # place of an alias: dropped here, and not chained to anything raised below
            found = None
        except VaultApiError as exc:
            raise _backend_error(exc) from None
        if found is not None:
            return list(found.items())
        if len(aliases) == 1:
            return []
        half = len(aliases) // 2
        return self._reveal_known(aliases[:half], storage) + self._reveal_known(
            aliases[half:], storage
        )


def _alias_of(record: Record, fmt: str) -> str:
    for info in record.aliases:
        if info.format == fmt:
            return info.alias
    raise AliasBackendError(
        f"the vault answered no {fmt} alias for a stored value", code="BACKEND_FAILED", status=502
    )


def _backend_error(exc: VaultApiError) -> AliasBackendError:
    return AliasBackendError(exc.detail, code=exc.code, status=exc.status)


def thread_runner(limiter: anyio.CapacityLimiter | None = None) -> Runner:
    """Run each call in a worker thread (``anyio.to_thread.run_sync``), under ``limiter``."""

    async def run(call: Callable[[], Any]) -> Any:
        return await anyio.to_thread.run_sync(call, limiter=limiter)

    return run


def async_vault_backend(
    backend: VaultCoreBackend,
    runner: Runner | None = None,
) -> AsyncBackend:
    """``backend`` behind the async seam, each call through ``runner`` (default: a worker
    thread; pass e.g. ``lambda call: committer.call(call)`` to batch on SQLite)."""
    return AsyncBackend(backend, runner if runner is not None else thread_runner())


__all__ = ["VaultCoreBackend", "async_vault_backend", "thread_runner"]
