"""The only place that does HTTP for connectors: sync and async executors over httpx, the
access-token cache (single-flight, refresh ahead of expiry, one re-fetch on 401), retries
with exponential backoff and full jitter, timeouts and connection pools."""

from .config import ClientConfig
from .engine import Engine
from .executor import AsyncVaultClient, VaultClient
from .logs import redact_client_event
from .retry import FailureKind, RetryPolicy, TransportFailure
from .tokens import (
    AsyncTokenCache,
    AsyncTokenStore,
    CachedToken,
    MemoryTokenStore,
    TokenCache,
    TokenStore,
)

__all__ = [
    "AsyncTokenCache",
    "AsyncTokenStore",
    "AsyncVaultClient",
    "CachedToken",
    "ClientConfig",
    "Engine",
    "FailureKind",
    "MemoryTokenStore",
    "RetryPolicy",
    "TokenCache",
    "TokenStore",
    "TransportFailure",
    "VaultClient",
    "redact_client_event",
]
