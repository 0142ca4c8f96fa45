"""Client configuration: timeouts, pool sizes, TLS, proxy, retry policy, token refresh margin."""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field
from typing import Any

import httpx

from vaultswitch import __version__

from .retry import RetryPolicy


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Knobs shared by :class:`VaultClient` and :class:`AsyncVaultClient` (seconds, counts).

    ``verify``: True (system CAs), False (no verification: tests only) or a CA bundle path.
    ``proxy``: forward proxy URL (may hold credentials; it is never logged).
    ``token_refresh_margin`` / ``token_refresh_fraction``: a token is replaced when less than
    ``min(margin, fraction * lifetime)`` of its lifetime is left.
    """

    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    write_timeout: float = 20.0
    pool_timeout: float = 5.0
    max_connections: int = 100
    max_keepalive_connections: int = 20
    keepalive_expiry: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    token_refresh_margin: float = 30.0
    token_refresh_fraction: float = 0.1
    verify: bool | str = True
    proxy: str | None = None
    trust_env: bool = True
    user_agent: str = f"vaultswitch/{__version__}"

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "read_timeout", "write_timeout", "pool_timeout"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"ClientConfig.{name} must be a positive number of seconds")
        if self.max_connections < 1:
            raise ValueError("ClientConfig.max_connections must be at least 1")
        if self.max_keepalive_connections < 0:
            raise ValueError("ClientConfig.max_keepalive_connections must be 0 or more")
        if self.token_refresh_margin < 0 or not 0 <= self.token_refresh_fraction < 1:
            raise ValueError(
                "ClientConfig.token_refresh_margin must be >= 0 and "
                "token_refresh_fraction in [0, 1)"
            )
        if isinstance(self.verify, str) and not os.path.exists(self.verify):
            raise ValueError(
                "ClientConfig.verify names a CA bundle file that does not exist: " + self.verify
            )

    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(
            connect=self.connect_timeout,
            read=self.read_timeout,
            write=self.write_timeout,
            pool=self.pool_timeout,
        )

    def limits(self) -> httpx.Limits:
        return httpx.Limits(
            max_connections=self.max_connections,
            max_keepalive_connections=self.max_keepalive_connections,
            keepalive_expiry=self.keepalive_expiry,
        )

    def ssl_verify(self) -> ssl.SSLContext | bool:
        """What httpx gets as ``verify``: a CA bundle path becomes an SSLContext."""
        if isinstance(self.verify, str):
            return ssl.create_default_context(cafile=self.verify)
        return self.verify

    def httpx_options(self) -> dict[str, Any]:
        """Keyword arguments for ``httpx.Client`` / ``httpx.AsyncClient``."""
        return {
            "timeout": self.timeout(),
            "limits": self.limits(),
            "verify": self.ssl_verify(),
            "proxy": self.proxy,
            "trust_env": self.trust_env,
            "headers": {"user-agent": self.user_agent},
            "follow_redirects": False,
        }

    def __repr__(self) -> str:
        proxy = "set" if self.proxy else "none"
        return (
            f"ClientConfig(timeouts={self.connect_timeout}/{self.read_timeout}/"
            f"{self.write_timeout}/{self.pool_timeout}s, max_connections={self.max_connections}, "
            f"retry={self.retry}, proxy={proxy})"
        )
