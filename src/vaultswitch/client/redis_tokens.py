"""Access tokens in Redis, sealed with AES-256-GCM, so several processes share one token.

The key passed in (32 bytes) seals every entry; the entry's Redis key is bound as
associated data, so an entry copied under another key does not open. A missing, expired,
foreign or undecryptable entry is a cache miss, never an error.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import redis
import redis.asyncio as aioredis
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vaultswitch.connectors.base import AccessToken
from vaultswitch.domain.secret import Secret

from .tokens import CachedToken

_NONCE = 12


class _Sealer:
    def __init__(self, key: bytes, prefix: str) -> None:
        if len(key) != 32:
            raise ValueError("the token store key must be 32 bytes")
        self._aead = AESGCM(key)
        self.prefix = prefix

    def redis_key(self, key: str) -> str:
        return f"{self.prefix}token:{key}"

    def seal(self, key: str, value: CachedToken) -> bytes:
        body = json.dumps(
            {
                "token": value.token.token.reveal(),
                "token_type": value.token.token_type,
                "expires_at": value.token.expires_at,
                "refresh_at": value.refresh_at,
            }
        ).encode()
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, body, self.redis_key(key).encode())

    def open(self, key: str, blob: Any) -> CachedToken | None:
        if not isinstance(blob, bytes) or len(blob) <= _NONCE:
            return None
        try:
            body = self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], self.redis_key(key).encode())
            data = json.loads(body)
            token = AccessToken(
                Secret(str(data["token"])), str(data["token_type"]), float(data["expires_at"])
            )
            return CachedToken(token, float(data["refresh_at"]))
        except (InvalidTag, ValueError, KeyError, TypeError):
            return None


class RedisTokenStore:
    """A :class:`~vaultswitch.client.tokens.TokenStore` on a sync Redis client."""

    def __init__(self, url: str, key: bytes, *, prefix: str = "vaultswitch:") -> None:
        self._sealer = _Sealer(key, prefix)
        self._redis: redis.Redis = redis.Redis.from_url(url)

    def get(self, key: str) -> CachedToken | None:
        return self._sealer.open(key, self._redis.get(self._sealer.redis_key(key)))

    def set(self, key: str, value: CachedToken, ttl: float) -> None:
        if ttl <= 0:
            return
        blob = self._sealer.seal(key, value)
        self._redis.set(self._sealer.redis_key(key), blob, ex=max(1, math.floor(ttl)))

    def delete(self, key: str) -> None:
        self._redis.delete(self._sealer.redis_key(key))

    def close(self) -> None:
        self._redis.close()

    def __repr__(self) -> str:
        return f"RedisTokenStore(prefix={self._sealer.prefix!r})"


class AsyncRedisTokenStore:
    """An :class:`~vaultswitch.client.tokens.AsyncTokenStore` on ``redis.asyncio``."""

    def __init__(self, url: str, key: bytes, *, prefix: str = "vaultswitch:") -> None:
        self._sealer = _Sealer(key, prefix)
        self._redis: aioredis.Redis = aioredis.Redis.from_url(url)

    async def get(self, key: str) -> CachedToken | None:
        return self._sealer.open(key, await self._redis.get(self._sealer.redis_key(key)))

    async def set(self, key: str, value: CachedToken, ttl: float) -> None:
        if ttl <= 0:
            return
        blob = self._sealer.seal(key, value)
        await self._redis.set(self._sealer.redis_key(key), blob, ex=max(1, math.floor(ttl)))

    async def delete(self, key: str) -> None:
        await self._redis.delete(self._sealer.redis_key(key))

    async def aclose(self) -> None:
        await self._redis.aclose()

    def __repr__(self) -> str:
        return f"AsyncRedisTokenStore(prefix={self._sealer.prefix!r})"
