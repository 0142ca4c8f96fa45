"""Constants and helpers shared by the client tests (imported by name, not from conftest)."""

from __future__ import annotations

from vaultswitch.client import ClientConfig, RetryPolicy

PAN = "4111111111111111"
CLIENT_ID = "client-id-1"
CLIENT_SECRET = "client-secret-1"
VAULT_ID = "tntabc12345"


class Clock:
    """A settable clock for token expiry."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def fast_config(**overrides: object) -> ClientConfig:
    options: dict[str, object] = {
        "retry": RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.002, max_retry_after=5.0),
        "read_timeout": 2.0,
        "trust_env": False,
    }
    options.update(overrides)
    return ClientConfig(**options)  # type: ignore[arg-type]
