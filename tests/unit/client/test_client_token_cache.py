"""Token cache rules and single-flight, without HTTP (fetch functions are plain callables)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from vaultswitch.client.tokens import (
    AsyncTokenCache,
    CachedToken,
    MemoryTokenStore,
    TokenCache,
    TokenStore,
    entry_from_grant,
    refresh_margin,
    usable,
)
from vaultswitch.connectors.base import AccessToken, AccessTokenGrant
from vaultswitch.domain.errors import VaultAuthenticationFailed
from vaultswitch.domain.secret import Secret


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def grant(value: str = "t1", expires_in: int = 300) -> AccessTokenGrant:
    return AccessTokenGrant(Secret(value), "Bearer", expires_in)


def test_refresh_margin_is_the_smaller_of_margin_and_fraction() -> None:
    assert refresh_margin(300, 30, 0.1) == 30
    assert refresh_margin(100, 30, 0.1) == 10
    assert refresh_margin(60, 30, 0.1) == 6
    assert refresh_margin(0, 30, 0.1) == 0


def test_entry_from_grant() -> None:
    entry, ttl = entry_from_grant(grant(expires_in=100), 1000.0, 30, 0.1)
    assert entry.token.expires_at == 1100.0
    assert entry.refresh_at == 1090.0
    assert ttl == 100


def test_usable_rules() -> None:
    token = AccessToken(Secret("a"), "Bearer", 1100.0)
    entry = CachedToken(token, 1090.0)
    assert usable(entry, 1089.9, None, False) is token
    assert usable(entry, 1090.0, None, False) is None  # less than the margin left
    assert usable(entry, 1000.0, None, True) is None  # forced
    assert usable(entry, 1000.0, token, False) is None  # this is the rejected token
    other = AccessToken(Secret("b"), "Bearer", 1100.0)
    assert usable(entry, 1000.0, other, False) is token  # someone already replaced it
    assert usable(None, 0.0, None, False) is None


def test_memory_store_honours_ttl_and_is_a_token_store() -> None:
    clock = Clock()
    store = MemoryTokenStore(clock)
    assert isinstance(store, TokenStore)
    entry = CachedToken(AccessToken(Secret("secret-token"), "Bearer", 1010.0), 1005.0)
    store.set("k", entry, 10)
    assert store.get("k") is entry
    clock.now += 10
    assert store.get("k") is None
    store.set("k", entry, 10)
    store.delete("k")
    assert store.get("k") is None
    assert "secret-token" not in repr(store)


def test_sync_cache_fetches_once_and_refreshes_ahead_of_expiry() -> None:
    clock = Clock()
    cache = TokenCache(clock=clock, margin=30, fraction=0.1)
    values = iter(["t1", "t2", "t3"])
    fetch = lambda: grant(next(values), 100)  # noqa: E731
    assert cache.get("k", fetch).token.reveal() == "t1"
    clock.now += 89
    assert cache.get("k", fetch).token.reveal() == "t1"
    clock.now += 2
    assert cache.get("k", fetch).token.reveal() == "t2"
    assert cache.fetches == 2


def test_sync_cache_stale_and_force() -> None:
    cache = TokenCache(clock=Clock())
    values = iter(["t1", "t2", "t3"])
    fetch = lambda: grant(next(values))  # noqa: E731
    first = cache.get("k", fetch)
    second = cache.get("k", fetch, stale=first)
    assert second.token.reveal() == "t2"
    assert cache.get("k", fetch, stale=first) is second  # already replaced: no fetch
    assert cache.get("k", fetch, force=True).token.reveal() == "t3"


def test_sync_single_flight_shares_the_result_and_the_failure() -> None:
    cache = TokenCache(clock=Clock())
    gate = threading.Event()
    started = threading.Event()
    calls = []

    def slow_fetch() -> AccessTokenGrant:
        calls.append(1)
        started.set()
        gate.wait(5)
        return grant("shared")

    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get("k", slow_fetch).token.reveal()))
        for _ in range(20)
    ]
    for thread in threads:
        thread.start()
    assert started.wait(5)
    gate.set()
    for thread in threads:
        thread.join()
    assert results == ["shared"] * 20
    assert len(calls) == 1

    failing = TokenCache(clock=Clock())
    errors: list[BaseException] = []
    release = threading.Event()

    def bad_fetch() -> AccessTokenGrant:
        release.wait(5)
        raise VaultAuthenticationFailed("no")

    def call() -> None:
        try:
            failing.get("k", bad_fetch)
        except VaultAuthenticationFailed as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(10)]
    for thread in threads:
        thread.start()
    release.set()
    for thread in threads:
        thread.join()
    assert len(errors) == 10
    assert failing.fetches <= 10  # late arrivals may lead a new (failing) flight
    assert failing.store.get("k") is None


def test_a_zero_lifetime_grant_is_used_once_but_not_cached() -> None:
    cache = TokenCache(clock=Clock())
    values = iter(["t1", "t2"])
    assert cache.get("k", lambda: grant(next(values), 0)).token.reveal() == "t1"
    assert cache.get("k", lambda: grant(next(values), 0)).token.reveal() == "t2"


def test_invalid_margin_settings() -> None:
    with pytest.raises(ValueError, match="margin"):
        TokenCache(margin=-1)
    with pytest.raises(ValueError, match="margin"):
        TokenCache(fraction=1.5)


async def test_async_single_flight_survives_a_cancelled_caller() -> None:
    cache = AsyncTokenCache(clock=Clock())
    gate = asyncio.Event()
    calls = []

    async def fetch() -> AccessTokenGrant:
        calls.append(1)
        await gate.wait()
        return grant("shared")

    first = asyncio.create_task(cache.get("k", fetch))
    others = [asyncio.create_task(cache.get("k", fetch)) for _ in range(50)]
    await asyncio.sleep(0)
    first.cancel()  # the caller that started the fetch goes away
    gate.set()
    tokens = await asyncio.gather(*others)
    assert {t.token.reveal() for t in tokens} == {"shared"}
    assert len(calls) == 1
    assert (await cache.get("k", fetch)).token.reveal() == "shared"


async def test_async_single_flight_shares_a_failure() -> None:
    cache = AsyncTokenCache(clock=Clock())
    calls = []

    async def fetch() -> AccessTokenGrant:
        calls.append(1)
        await asyncio.sleep(0.01)
        raise VaultAuthenticationFailed("no")

    outcomes = await asyncio.gather(
        *(cache.get("k", fetch) for _ in range(30)), return_exceptions=True
    )
    assert all(isinstance(o, VaultAuthenticationFailed) for o in outcomes)
    assert len(calls) == 1


async def test_async_cache_accepts_an_async_store() -> None:
    class AsyncStore:
        def __init__(self) -> None:
            self.data: dict[str, CachedToken] = {}
            self.ttls: list[float] = []

        async def get(self, key: str) -> CachedToken | None:
            return self.data.get(key)

        async def set(self, key: str, value: CachedToken, ttl: float) -> None:
            self.ttls.append(ttl)
            self.data[key] = value

        async def delete(self, key: str) -> None:
            self.data.pop(key, None)

    store = AsyncStore()
    cache = AsyncTokenCache(store, clock=Clock())

    async def fetch() -> AccessTokenGrant:
        return grant("x", 120)

    token = await cache.get("k", fetch)
    assert store.data["k"].token is token
    assert store.ttls == [120]
    await cache.invalidate("k")
    assert store.data == {}
