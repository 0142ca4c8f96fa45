"""Access-token cache: pluggable store, refresh ahead of expiry, single-flight fetches.

Entries are keyed by ``connector.token_cache_key(credentials)`` (connector, auth URL, client
ID and vault), so two accounts of one connector never share a token. A token is used until
``refresh_at`` = expiry minus a margin (the smaller of a fixed margin and a fraction of the
token's lifetime); after that the next caller fetches a new one. Concurrent callers that find
no usable token share ONE fetch per key (a threading flight for :class:`TokenCache`, an
asyncio task for :class:`AsyncTokenCache`), including its failure.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from vaultswitch.connectors.base import AccessToken, AccessTokenGrant

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class CachedToken:
    """A token and the moment (``clock()`` seconds) from which it should be replaced."""

    token: AccessToken
    refresh_at: float


@runtime_checkable
class TokenStore(Protocol):
    """Where tokens live. ``ttl``: seconds until the token expires (the store may drop it then).

    An implementation must keep the token a :class:`~vaultswitch.domain.secret.Secret` in memory
    and never write it in clear (a Redis store would encrypt it, and use ``ttl`` as ``EX``).
    """

    def get(self, key: str) -> CachedToken | None: ...

    def set(self, key: str, value: CachedToken, ttl: float) -> None: ...

    def delete(self, key: str) -> None: ...


@runtime_checkable
class AsyncTokenStore(Protocol):
    """The async form of :class:`TokenStore` (e.g. a ``redis.asyncio`` store)."""

    async def get(self, key: str) -> CachedToken | None: ...

    async def set(self, key: str, value: CachedToken, ttl: float) -> None: ...

    async def delete(self, key: str) -> None: ...


class MemoryTokenStore:
    """In-process store with TTL; safe to share between threads and between the two clients."""

    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._entries: dict[str, tuple[CachedToken, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> CachedToken | None:
        item = self._entries.get(key)
        if item is None:
            return None
        if item[1] <= self._clock():
            with self._lock:
                if self._entries.get(key) is item:
                    del self._entries[key]
            return None
        return item[0]

    def set(self, key: str, value: CachedToken, ttl: float) -> None:
        with self._lock:
            self._entries[key] = (value, self._clock() + ttl)

    def delete(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"MemoryTokenStore({len(self._entries)} tokens)"


class AsyncStoreAdapter:
    """Use a (non-blocking) sync :class:`TokenStore` where an :class:`AsyncTokenStore` is needed."""

    def __init__(self, store: TokenStore) -> None:
        self.store = store

    async def get(self, key: str) -> CachedToken | None:
        return self.store.get(key)

    async def set(self, key: str, value: CachedToken, ttl: float) -> None:
        self.store.set(key, value, ttl)

    async def delete(self, key: str) -> None:
        self.store.delete(key)


# --- shared pure rules ---------------------------------------------------------------------


def refresh_margin(lifetime: float, margin: float, fraction: float) -> float:
    """Seconds before expiry at which a token is replaced: min(margin, fraction * lifetime)."""
    return max(0.0, min(margin, fraction * max(0.0, lifetime)))


def entry_from_grant(
    grant: AccessTokenGrant, now: float, margin: float, fraction: float
) -> tuple[CachedToken, float]:
    """The cache entry for a fresh grant and its TTL (seconds until expiry)."""
    lifetime = float(max(0, grant.expires_in))
    expires_at = now + lifetime
    token = AccessToken(token=grant.token, token_type=grant.token_type, expires_at=expires_at)
    entry = CachedToken(token, expires_at - refresh_margin(lifetime, margin, fraction))
    return entry, lifetime


def usable(
    entry: CachedToken | None, now: float, stale: AccessToken | None, force: bool
) -> AccessToken | None:
    """The cached token a caller may use, or None when it must fetch.

    ``stale``: the caller's token was rejected (401); another token is usable if fresh.
    ``force``: the caller wants a new token whatever is cached.
    """
    if entry is None or force or entry.refresh_at <= now:
        return None
    if stale is not None and entry.token.token == stale.token:
        return None
    return entry.token


def key_digest(key: str) -> str:
    """A short, non-reversible name for a cache key, for logs."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


@dataclass(slots=True)
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    token: AccessToken | None = None
    error: BaseException | None = None


class _CacheSettings:
    def __init__(self, clock: Clock, margin: float, fraction: float) -> None:
        if margin < 0 or not 0 <= fraction < 1:
            raise ValueError("token refresh margin must be >= 0 and fraction in [0, 1)")
        self.clock = clock
        self.margin = margin
        self.fraction = fraction
        self.fetches = 0  # tokens fetched by this cache (for tests and metrics)


class TokenCache(_CacheSettings):
    """Token cache for the sync client; single-flight across threads."""

    def __init__(
        self,
        store: TokenStore | None = None,
        *,
        clock: Clock = time.time,
        margin: float = 30.0,
        fraction: float = 0.1,
    ) -> None:
        super().__init__(clock, margin, fraction)
        self.store: TokenStore = store if store is not None else MemoryTokenStore(clock)
        self._mutex = threading.Lock()
        self._flights: dict[str, _Flight] = {}

    def get(
        self,
        key: str,
        fetch: Callable[[], AccessTokenGrant],
        *,
        stale: AccessToken | None = None,
        force: bool = False,
    ) -> AccessToken:
        """A usable token for ``key``, calling ``fetch`` (once for all concurrent callers)."""
        if not force:
            token = usable(self.store.get(key), self.clock(), stale, False)
            if token is not None:
                return token
        with self._mutex:
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            assert flight.token is not None
            return flight.token
        try:
            token = None if force else usable(self.store.get(key), self.clock(), stale, False)
            if token is None:
                self.fetches += 1
                grant = fetch()
                entry, ttl = entry_from_grant(grant, self.clock(), self.margin, self.fraction)
                if ttl > 0:
                    self.store.set(key, entry, ttl)
                else:
                    self.store.delete(key)
                token = entry.token
            flight.token = token
            return token
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._mutex:
                del self._flights[key]
            flight.done.set()

    def invalidate(self, key: str) -> None:
        self.store.delete(key)


class AsyncTokenCache(_CacheSettings):
    """Token cache for the async client; single-flight across tasks of one event loop."""

    def __init__(
        self,
        store: AsyncTokenStore | TokenStore | None = None,
        *,
        clock: Clock = time.time,
        margin: float = 30.0,
        fraction: float = 0.1,
    ) -> None:
        super().__init__(clock, margin, fraction)
        if store is None:
            store = MemoryTokenStore(clock)
        self.store: AsyncTokenStore = (
            AsyncStoreAdapter(store) if isinstance(store, MemoryTokenStore) else _as_async(store)
        )
        self._flights: dict[str, asyncio.Task[AccessToken]] = {}

    async def get(
        self,
        key: str,
        fetch: Callable[[], Awaitable[AccessTokenGrant]],
        *,
        stale: AccessToken | None = None,
        force: bool = False,
    ) -> AccessToken:
        """A usable token for ``key``, awaiting ``fetch`` (once for all concurrent callers)."""
        if not force:
            token = usable(await self.store.get(key), self.clock(), stale, False)
            if token is not None:
                return token
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.ensure_future(self._lead(key, fetch, stale, force))
            self._flights[key] = flight
            flight.add_done_callback(lambda done: self._landed(key, done))
        # shield: a cancelled caller must not cancel the fetch other callers wait for
        return await asyncio.shield(flight)

    def _landed(self, key: str, task: asyncio.Task[AccessToken]) -> None:
        if self._flights.get(key) is task:
            del self._flights[key]
        if not task.cancelled():
            task.exception()  # mark retrieved: every waiter may have been cancelled

    async def _lead(
        self,
        key: str,
        fetch: Callable[[], Awaitable[AccessTokenGrant]],
        stale: AccessToken | None,
        force: bool,
    ) -> AccessToken:
        if not force:
            token = usable(await self.store.get(key), self.clock(), stale, False)
            if token is not None:
                return token
        self.fetches += 1
        grant = await fetch()
        entry, ttl = entry_from_grant(grant, self.clock(), self.margin, self.fraction)
        if ttl > 0:
            await self.store.set(key, entry, ttl)
        else:
            await self.store.delete(key)
        return entry.token

    async def invalidate(self, key: str) -> None:
        await self.store.delete(key)


def _as_async(store: AsyncTokenStore | TokenStore) -> AsyncTokenStore:
    if inspect.iscoroutinefunction(store.get):
        return store  # type: ignore[return-value]
    return AsyncStoreAdapter(store)  # type: ignore[arg-type]
