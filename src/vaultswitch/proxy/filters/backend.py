"""Where aliases come from: the :class:`AliasBackend` seam under the filter pipeline.

The pipeline never stores or looks up a value itself. For one message it makes at most one
``redact`` call and one ``reveal`` call per storage (PERSISTENT / VOLATILE), each with every
value or alias of that storage the message's entries selected:

- ``redact(items)`` stores each item's value and answers its alias of the item's format, in
  item order (all items of one call share one storage);
- ``reveal(aliases, storage)`` answers every alias asked for, mapped to its value, or None
  when the backend holds no such alias (an unknown alias is not an error here: the pipeline
  decides, by its ``strict`` flag).

Backends come in an async (:class:`AliasBackend`) and a sync (:class:`SyncAliasBackend`)
shape; :class:`AsyncBackend` puts a sync one under the async pipeline, called inline (for an
in-memory backend) or through a runner (a worker thread, the vault's group committer).
Card values cross this seam as :class:`~vaultswitch.domain.secret.Secret`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, Protocol, TypeVar

from vaultswitch.domain.secret import Secret

Storage = Literal["PERSISTENT", "VOLATILE"]
T = TypeVar("T")
#: Runs a blocking call for the async seam (e.g. in a worker thread) and answers its result.
Runner = Callable[[Callable[[], Any]], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class RedactItem:
    """A value to store: its alias ``format``, ``storage`` and ``classifiers`` (tags)."""

    value: Secret
    format: str
    storage: Storage = "PERSISTENT"
    classifiers: tuple[str, ...] = ()


class AliasBackendError(Exception):
    """The backend could not answer (storage down, reveal disabled, ...): the whole message
    fails; ``status`` / ``code`` / ``hint`` say what the proxy should answer."""

    def __init__(self, detail: str, *, code: str, status: int, hint: str = "") -> None:
        self.detail = detail
        self.code = code
        self.status = status
        self.hint = hint
        super().__init__(detail)

    def __str__(self) -> str:
        return f"[{self.code}] {self.detail}"


class ValueRefused(AliasBackendError):
    """``redact`` refuses one item (its value does not fit its format): ``index`` names it,
    ``reason`` says what the format needs (never the value)."""

    def __init__(self, index: int, reason: str) -> None:
        self.index = index
        self.reason = reason
        super().__init__(f"item {index}: {reason}", code="INVALID_VALUE", status=400)


class AliasBackend(Protocol):
    """The async seam (the proxies' servers use this one)."""

    async def redact(self, items: Sequence[RedactItem]) -> list[str]: ...

    async def reveal(
        self, aliases: Sequence[str], storage: Storage
    ) -> Mapping[str, Secret | None]: ...


class SyncAliasBackend(Protocol):
    """The same seam for synchronous callers."""

    def redact(self, items: Sequence[RedactItem]) -> list[str]: ...

    def reveal(self, aliases: Sequence[str], storage: Storage) -> Mapping[str, Secret | None]: ...


class AsyncBackend:
    """An :class:`AliasBackend` over a :class:`SyncAliasBackend`: each call runs through
    ``runner`` (e.g. ``anyio.to_thread.run_sync``), or inline when there is none."""

    def __init__(self, backend: SyncAliasBackend, runner: Runner | None = None) -> None:
        self.backend = backend
        self._runner = runner

    async def _run(self, call: Callable[[], T]) -> T:
        if self._runner is None:
            return call()
        result: T = await self._runner(call)
        return result

    async def redact(self, items: Sequence[RedactItem]) -> list[str]:
        return await self._run(partial(self.backend.redact, items))

    async def reveal(self, aliases: Sequence[str], storage: Storage) -> Mapping[str, Secret | None]:
        return await self._run(partial(self.backend.reveal, aliases, storage))
