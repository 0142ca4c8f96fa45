"""The in-memory fixed window."""

from __future__ import annotations

from vaultswitch.vault.http.ratelimit import MemoryRateLimiter


async def test_memory_limiter_counts_per_vault() -> None:
    limiter = MemoryRateLimiter(3)
    results = [await limiter.hit("tnta0000000") for _ in range(4)]
    assert [r.allowed for r in results] == [True, True, True, False]
    assert [r.remaining for r in results] == [2, 1, 0, 0]
    assert 1 <= results[-1].retry_after <= 60
    other = await limiter.hit("tntb0000000")
    assert other.allowed
    assert other.remaining == 2
