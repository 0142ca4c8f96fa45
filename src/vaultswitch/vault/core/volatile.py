"""VOLATILE storage: sealed values with a TTL, in process memory or Redis, never in the DB.

Entries hold `version|format|sealed-bytes` (sealed with the vault's data key, AAD =
vault + alias). Fingerprint entries map `fingerprint:format` to an alias for dedup
within the TTL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import redis


@dataclass(frozen=True, slots=True)
class VolatileEntry:
    key_version: int
    format: str
    sealed: bytes

    def encode(self) -> bytes:
        return f"{self.key_version}|{self.format}|".encode() + self.sealed

    @classmethod
    def decode(cls, raw: bytes) -> VolatileEntry:
        version, fmt, sealed = raw.split(b"|", 2)
        return cls(int(version), fmt.decode("ascii"), sealed)


class VolatileStore(Protocol):
    """Where VOLATILE values live for `ttl` seconds."""

    def put_new(self, vault_id: str, alias: str, entry: VolatileEntry, ttl: int) -> bool:
        """Store under a fresh alias; False if the alias is taken."""

    def get_many(self, vault_id: str, aliases: Sequence[str]) -> dict[str, VolatileEntry]: ...

    def delete_many(self, vault_id: str, aliases: Sequence[str]) -> int: ...

    def touch(self, vault_id: str, alias: str, ttl: int) -> bool:
        """Extend an alias's TTL; False if it is gone."""

    def get_fingerprint(self, vault_id: str, key: str) -> str | None: ...

    def claim_fingerprint(self, vault_id: str, key: str, alias: str, ttl: int) -> str | None:
        """Map key -> alias unless mapped; return the alias that holds it (None if claimed)."""

    def set_fingerprint(self, vault_id: str, key: str, alias: str, ttl: int) -> None: ...

    def close(self) -> None: ...


class MemoryVolatileStore:
    """Per-process VOLATILE store (default; one server process only)."""

    _SWEEP_EVERY = 1024

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[tuple[str, str], tuple[float, VolatileEntry]] = {}
        self._fps: dict[tuple[str, str], tuple[float, str]] = {}
        self._writes = 0

    def _sweep(self, now: float) -> None:
        self._writes += 1
        if self._writes % self._SWEEP_EVERY:
            return
        for k in [k for k, (exp, _) in self._values.items() if exp <= now]:
            del self._values[k]
        for fk in [k for k, (exp, _) in self._fps.items() if exp <= now]:
            del self._fps[fk]

    def put_new(self, vault_id: str, alias: str, entry: VolatileEntry, ttl: int) -> bool:
        now = time.monotonic()
        with self._lock:
            self._sweep(now)
            current = self._values.get((vault_id, alias))
            if current is not None and current[0] > now:
                return False
            self._values[(vault_id, alias)] = (now + ttl, entry)
            return True

    def get_many(self, vault_id: str, aliases: Sequence[str]) -> dict[str, VolatileEntry]:
        now = time.monotonic()
        found: dict[str, VolatileEntry] = {}
        with self._lock:
            for alias in aliases:
                item = self._values.get((vault_id, alias))
                if item is None:
                    continue
                if item[0] <= now:
                    del self._values[(vault_id, alias)]
                    continue
                found[alias] = item[1]
        return found

    def delete_many(self, vault_id: str, aliases: Sequence[str]) -> int:
        now = time.monotonic()
        count = 0
        with self._lock:
            for alias in aliases:
                item = self._values.pop((vault_id, alias), None)
                if item is not None and item[0] > now:
                    count += 1
        return count

    def touch(self, vault_id: str, alias: str, ttl: int) -> bool:
        now = time.monotonic()
        with self._lock:
            item = self._values.get((vault_id, alias))
            if item is None or item[0] <= now:
                return False
            self._values[(vault_id, alias)] = (now + ttl, item[1])
            return True

    def get_fingerprint(self, vault_id: str, key: str) -> str | None:
        now = time.monotonic()
        with self._lock:
            item = self._fps.get((vault_id, key))
            return item[1] if item is not None and item[0] > now else None

    def claim_fingerprint(self, vault_id: str, key: str, alias: str, ttl: int) -> str | None:
        now = time.monotonic()
        with self._lock:
            item = self._fps.get((vault_id, key))
            if item is not None and item[0] > now:
                return item[1]
            self._fps[(vault_id, key)] = (now + ttl, alias)
            return None

    def set_fingerprint(self, vault_id: str, key: str, alias: str, ttl: int) -> None:
        with self._lock:
            self._fps[(vault_id, key)] = (time.monotonic() + ttl, alias)

    def close(self) -> None:
        with self._lock:
            self._values.clear()
            self._fps.clear()


class RedisVolatileStore:
    """VOLATILE store in Redis (shared by all server processes); keys under `prefix`."""

    def __init__(self, url: str, prefix: str = "vaultswitch:") -> None:
        self._redis: redis.Redis = redis.Redis.from_url(url)
        self._prefix = prefix

    def _vkey(self, vault_id: str, alias: str) -> str:
        return f"{self._prefix}volatile:{vault_id}:v:{alias}"

    def _fkey(self, vault_id: str, key: str) -> str:
        return f"{self._prefix}volatile:{vault_id}:f:{key}"

    def put_new(self, vault_id: str, alias: str, entry: VolatileEntry, ttl: int) -> bool:
        return bool(self._redis.set(self._vkey(vault_id, alias), entry.encode(), ex=ttl, nx=True))

    def get_many(self, vault_id: str, aliases: Sequence[str]) -> dict[str, VolatileEntry]:
        if not aliases:
            return {}
        raw = self._redis.mget([self._vkey(vault_id, a) for a in aliases])
        return {
            alias: VolatileEntry.decode(value)
            for alias, value in zip(aliases, raw, strict=True)
            if isinstance(value, bytes)
        }

    def delete_many(self, vault_id: str, aliases: Sequence[str]) -> int:
        if not aliases:
            return 0
        return int(self._redis.delete(*[self._vkey(vault_id, a) for a in aliases]))

    def touch(self, vault_id: str, alias: str, ttl: int) -> bool:
        return bool(self._redis.expire(self._vkey(vault_id, alias), ttl))

    def get_fingerprint(self, vault_id: str, key: str) -> str | None:
        value = self._redis.get(self._fkey(vault_id, key))
        return value.decode("ascii") if isinstance(value, bytes) else None

    def claim_fingerprint(self, vault_id: str, key: str, alias: str, ttl: int) -> str | None:
        fkey = self._fkey(vault_id, key)
        if self._redis.set(fkey, alias, ex=ttl, nx=True):
            return None
        value = self._redis.get(fkey)
        if isinstance(value, bytes):
            return value.decode("ascii")
        # Expired between SET NX and GET: try once more.
        return None if self._redis.set(fkey, alias, ex=ttl, nx=True) else alias

    def set_fingerprint(self, vault_id: str, key: str, alias: str, ttl: int) -> None:
        self._redis.set(self._fkey(vault_id, key), alias, ex=ttl)

    def close(self) -> None:
        self._redis.close()


def open_volatile_store(redis_url: str | None, prefix: str) -> VolatileStore:
    """Redis when a URL is configured, else process memory."""
    if redis_url:
        return RedisVolatileStore(redis_url, prefix)
    return MemoryVolatileStore()
