"""Per-vault fixed-window rate limits: in memory for one process, Redis for several."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import structlog

log = structlog.get_logger(__name__)

WINDOW_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of counting one request."""

    allowed: bool
    remaining: int
    retry_after: int


class RateLimiter(Protocol):
    limit: int

    async def hit(self, key: str) -> Decision:
        """Count one request for key (a vault id) in the current window."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


def _window(now: float) -> tuple[int, int]:
    window = int(now // WINDOW_SECONDS)
    retry_after = max(1, int((window + 1) * WINDOW_SECONDS - now + 0.999))
    return window, retry_after


class MemoryRateLimiter:
    """Fixed one-minute windows counted in this process."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._window = -1
        self._counts: dict[str, int] = {}

    async def hit(self, key: str) -> Decision:
        return self.hit_nowait(key)

    def hit_nowait(self, key: str) -> Decision:
        """:meth:`hit` without a coroutine (nothing here waits)."""
        window, retry_after = _window(time.time())
        if window != self._window:
            self._window = window
            self._counts = {}
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        remaining = max(0, self.limit - count)
        return Decision(allowed=count <= self.limit, remaining=remaining, retry_after=retry_after)

    async def close(self) -> None:
        return None


class RedisRateLimiter:
    """Fixed one-minute windows shared by every process through Redis (INCR + EXPIRE).

    If Redis is unreachable the request is allowed (fail open) and a warning is
    logged: rate limiting protects capacity, it is not an authorisation check.
    """

    def __init__(self, url: str, limit: int, prefix: str = "vaultswitch:") -> None:
        import redis.asyncio as aioredis

        self.limit = limit
        self._prefix = prefix
        self._redis = aioredis.Redis.from_url(url)

    async def hit(self, key: str) -> Decision:
        window, retry_after = _window(time.time())
        rkey = f"{self._prefix}ratelimit:{key}:{window}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(rkey)
                pipe.expire(rkey, WINDOW_SECONDS + 5)
                count, _ = await pipe.execute()
        except Exception as exc:  # fail open, but say so
            log.warning("ratelimit_redis_unavailable", error=type(exc).__name__)
            return Decision(allowed=True, remaining=self.limit, retry_after=retry_after)
        count = int(count)
        remaining = max(0, self.limit - count)
        return Decision(allowed=count <= self.limit, remaining=remaining, retry_after=retry_after)

    async def close(self) -> None:
        await self._redis.aclose()


def make_rate_limiter(limit: int, redis_url: str | None, prefix: str) -> RateLimiter:
    """Redis-backed when a Redis URL is configured, else in-memory."""
    if redis_url:
        return RedisRateLimiter(redis_url, limit, prefix)
    return MemoryRateLimiter(limit)
