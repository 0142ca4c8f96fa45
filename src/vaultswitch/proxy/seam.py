"""The two seams under the proxy servers: where routes come from, and what applies entries.

- :class:`RouteSource`: ``routes_for(vault_id) -> routes`` (the vault's routes, parsed, in
  the order they are tried). :class:`CoreRoutes` reads them from the vault's core
  in-process; :class:`RouteCache` keeps each vault's routes for ``routes_refresh_seconds``
  so a request does not read the database (route changes apply within that time).
- :class:`Pipeline`: ``await apply(entries, message, backend) -> message`` (REDACT / ENRICH
  through an alias backend). :class:`FilterPipeline` is ``vaultswitch.proxy.filters``'
  pipeline; :class:`PassThrough` changes nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from vaultswitch.logs import get_logger
from vaultswitch.proxy.filters import FilterPlan, apply_filters
from vaultswitch.proxy.filters.backend import AliasBackend
from vaultswitch.proxy.filters.message import Message
from vaultswitch.proxy.routes import Entry, Route, RouteError, parse_stored
from vaultswitch.vault.core.service import VaultService

log = get_logger("vaultswitch.proxy")

Runner = Callable[[Callable[[], object]], Awaitable[object]]


class RouteSource(Protocol):
    def routes_for(self, vault_id: str) -> Sequence[Route]: ...


Entries = Sequence[Entry] | FilterPlan


class Pipeline(Protocol):
    async def apply(self, entries: Entries, message: Message, backend: AliasBackend) -> Message: ...


class FilterPipeline:
    """The route-entry filters of ``vaultswitch.proxy.filters``.

    ``strict``: an ENRICH entry that selects an alias the vault does not hold fails the
    request (400 ALIAS_NOT_FOUND) instead of passing it on as it is.
    """

    def __init__(self, *, strict: bool = False, max_body_bytes: int | None = None) -> None:
        self.strict = strict
        self.max_body_bytes = max_body_bytes

    async def apply(self, entries: Entries, message: Message, backend: AliasBackend) -> Message:
        plan = entries if isinstance(entries, FilterPlan) else FilterPlan.of(entries)
        if self.max_body_bytes is not None and plan.max_decoded_body != self.max_body_bytes:
            plan = FilterPlan.of(
                plan.entries, max_values=plan.max_values, max_decoded_body=self.max_body_bytes
            )
        result = await apply_filters(plan, message, backend, strict=self.strict)
        return result.message


class PassThrough:
    """A pipeline that applies nothing (the message goes on unchanged)."""

    async def apply(self, entries: Entries, message: Message, backend: AliasBackend) -> Message:
        return message


class NoRoutes:
    """A route source without routes (every request passes through unchanged)."""

    def routes_for(self, vault_id: str) -> Sequence[Route]:
        return ()


class CoreRoutes:
    """A vault's routes from the vault core (VaultNotFoundError for an unknown vault)."""

    def __init__(self, service: VaultService) -> None:
        self._service = service

    def routes_for(self, vault_id: str) -> Sequence[Route]:
        routes: list[Route] = []
        for stored in self._service.list_routes(vault_id):
            try:
                routes.append(
                    parse_stored(
                        stored.route_id, stored.document, stored.created_at, stored.updated_at
                    )
                )
            except RouteError as exc:  # stored before a rule changed: skipped, said once
                log.warning(
                    "proxy.route_skipped",
                    vault_id=vault_id,
                    route_id=stored.route_id,
                    code=exc.code,
                    detail=exc.detail,
                )
        return tuple(routes)


class RouteCache:
    """Each vault's routes for ``ttl`` seconds; one read at a time per vault (async)."""

    def __init__(self, source: RouteSource, runner: Runner, ttl: float) -> None:
        self._source = source
        self._runner = runner
        self._ttl = ttl
        self._cache: dict[str, tuple[float, Sequence[Route]]] = {}
        self._loading: dict[str, asyncio.Future[Sequence[Route]]] = {}

    async def routes_for(self, vault_id: str) -> Sequence[Route]:
        cached = self._cache.get(vault_id)
        if cached is not None and time.monotonic() - cached[0] < self._ttl:
            return cached[1]
        pending = self._loading.get(vault_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Sequence[Route]] = asyncio.get_running_loop().create_future()
        self._loading[vault_id] = future
        try:
            routes = await self._runner(lambda: self._source.routes_for(vault_id))
            assert isinstance(routes, tuple | list)
            if len(self._cache) >= 10_000:
                self._cache.clear()
            self._cache[vault_id] = (time.monotonic(), routes)
            future.set_result(routes)
            return routes
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        finally:
            del self._loading[vault_id]

    def forget(self, vault_id: str | None = None) -> None:
        """Read the routes again on the next request (of one vault, or of all)."""
        if vault_id is None:
            self._cache.clear()
        else:
            self._cache.pop(vault_id, None)
