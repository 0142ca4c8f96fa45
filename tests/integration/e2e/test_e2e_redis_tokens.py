"""Access tokens shared through Redis: sealed at rest, and one token for several clients."""

from __future__ import annotations

import asyncio
import os

import pytest
import redis
from e2e_support import VaultAccount

from vaultswitch.client import AsyncVaultClient, CachedToken, VaultClient
from vaultswitch.client.redis_tokens import AsyncRedisTokenStore, RedisTokenStore
from vaultswitch.connectors.base import AccessToken, VaultRequestData
from vaultswitch.connectors.vgs import VgsConnector
from vaultswitch.domain.cards import Card
from vaultswitch.domain.secret import Secret

TOKEN = "eyJhbGciOiJSUzI1NiJ9.payload-that-must-not-leak.sig"


def _entry() -> CachedToken:
    return CachedToken(AccessToken(Secret(TOKEN), "Bearer", 2_000_000_000.0), 1_999_999_000.0)


def test_round_trip_is_sealed_and_bound_to_its_key(redis_url: str, redis_prefix: str) -> None:
    key = os.urandom(32)
    store = RedisTokenStore(redis_url, key, prefix=redis_prefix)
    raw = redis.Redis.from_url(redis_url)
    try:
        store.set("acct", _entry(), ttl=120)
        got = store.get("acct")
        assert got is not None
        assert got.token.token.reveal() == TOKEN
        assert got.refresh_at == 1_999_999_000.0

        blob = raw.get(f"{redis_prefix}token:acct")
        assert isinstance(blob, bytes)
        assert TOKEN.encode() not in blob
        assert b"payload-that-must-not-leak" not in blob
        assert 0 < raw.ttl(f"{redis_prefix}token:acct") <= 120

        # copied under another key, or read with another key: a miss, not an error
        raw.set(f"{redis_prefix}token:other", blob)
        assert store.get("other") is None
        assert RedisTokenStore(redis_url, os.urandom(32), prefix=redis_prefix).get("acct") is None

        store.delete("acct")
        assert store.get("acct") is None
        assert "must-not-leak" not in repr(store)
    finally:
        for name in raw.scan_iter(f"{redis_prefix}*"):
            raw.delete(name)
        store.close()


def test_rejects_a_short_key(redis_url: str) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        RedisTokenStore(redis_url, b"short")


def _token_issues(account: VaultAccount) -> int:
    events = account.service.list_audit(vault_id=None, action="token.issue", limit=1000)
    return sum(1 for e in events if e.outcome == "success")


def test_two_clients_share_one_token_through_redis(
    http_account: VaultAccount, redis_url: str, redis_prefix: str
) -> None:
    key = os.urandom(32)
    vgs = VgsConnector(**http_account.connector_urls())
    card = Card.parse("4111111111111111", "12", "2030")
    before = _token_issues(http_account)
    stores = [RedisTokenStore(redis_url, key, prefix=redis_prefix) for _ in range(2)]
    try:
        for store in stores:  # two processes' worth of clients, one Redis
            with VaultClient(token_store=store) as client:
                client.insert(vgs, http_account.oauth, VaultRequestData(vaulting_data=card))

        async def async_side() -> None:
            store = AsyncRedisTokenStore(redis_url, key, prefix=redis_prefix)
            try:
                async with AsyncVaultClient(token_store=store) as client:
                    await client.insert(
                        vgs, http_account.oauth, VaultRequestData(vaulting_data=card)
                    )
            finally:
                await store.aclose()

        asyncio.run(async_side())
        assert _token_issues(http_account) - before == 1
    finally:
        raw = redis.Redis.from_url(redis_url)
        for name in raw.scan_iter(f"{redis_prefix}*"):
            raw.delete(name)
        for store in stores:
            store.close()
