"""An in-memory alias backend: for tests of the pipeline and of the proxies, and for trying
routes out without a vault. Same value + format + storage → the same alias (as the vault
does with fingerprinting on); values are checked against their format's input rule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from vaultswitch.domain.secret import Secret
from vaultswitch.proxy.filters.backend import AsyncBackend, RedactItem, Storage, ValueRefused
from vaultswitch.vault.core import formats


class MemoryAliasBackend:
    """A :class:`~vaultswitch.proxy.filters.backend.SyncAliasBackend` over two dicts.

    ``calls`` records each call as ``("redact", storage, n)`` / ``("reveal", storage, n)``
    (counts only), so tests can check the pipeline's batching.
    """

    def __init__(self, environment: str = "sandbox") -> None:
        self.environment = environment
        self._values: dict[tuple[Storage, str], Secret] = {}
        self._aliases: dict[tuple[Storage, str, str], str] = {}
        self.calls: list[tuple[str, Storage, int]] = []

    def redact(self, items: Sequence[RedactItem]) -> list[str]:
        storages = {item.storage for item in items}
        self.calls.append(
            ("redact", next(iter(storages)) if storages else "PERSISTENT", len(items))
        )
        for i, item in enumerate(items):
            if not formats.value_fits(item.format, item.value.reveal()):
                raise ValueRefused(i, f"{item.format} needs {formats.format_rule(item.format)}")
        return [self._alias_of(item) for item in items]

    def _alias_of(self, item: RedactItem) -> str:
        value = item.value.reveal()
        key = (item.storage, value, item.format)
        alias = self._aliases.get(key)
        if alias is None:
            while True:
                alias = formats.new_alias(item.format, value, self.environment)
                if (item.storage, alias) not in self._values:
                    break
            self._aliases[key] = alias
            self._values[(item.storage, alias)] = item.value
        return alias

    def reveal(self, aliases: Sequence[str], storage: Storage) -> Mapping[str, Secret | None]:
        self.calls.append(("reveal", storage, len(aliases)))
        return {alias: self._values.get((storage, alias)) for alias in aliases}

    def holds(self, alias: str, storage: Storage = "PERSISTENT") -> bool:
        return (storage, alias) in self._values

    def asynchronous(self) -> AsyncBackend:
        """The same backend behind the async seam (called inline)."""
        return AsyncBackend(self)
