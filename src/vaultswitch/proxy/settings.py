"""Proxy server settings: CLI flags > ``VAULTSWITCH_PROXY_*`` env > TOML ``[proxy]`` > defaults.

The proxies run on the vault's own data (``VaultSettings``: data dir, database, master key,
Redis); these are only what the proxy servers add. One settings object serves both edges
(the inbound and the outbound proxy), each taking its port from ``port``.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from vaultswitch.config_file import TomlSection

DEFAULT_HOST = "127.0.0.1"
DEFAULT_OUTBOUND_PORT = 8240
DEFAULT_INBOUND_PORT = 8250


class _TomlProxySection(TomlSection):
    table = "proxy"


class ProxySettings(BaseSettings):
    """Configuration of the inbound and outbound proxy servers."""

    model_config = SettingsConfigDict(
        env_prefix="VAULTSWITCH_PROXY_", extra="ignore", validate_default=True
    )

    host: str = DEFAULT_HOST
    #: 0 = any free port; None = the edge's default (8240 outbound, 8250 inbound)
    port: int | None = Field(default=None, ge=0, le=65535)
    #: outbound: destination host patterns (``api.stripe.com``, ``*.adyen.com``); empty = any
    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    #: outbound: allow loopback, private, link-local and other non-public destinations
    allow_private_destinations: bool = False
    #: a PEM bundle trusted for upstream TLS in addition to the system CAs
    upstream_ca_file: Path | None = None
    #: outbound: an alias the vault does not hold fails the request (400) instead of
    #: passing on as it is
    strict_aliases: bool = False
    connect_timeout: float = Field(default=10.0, gt=0)
    #: the longest wait for upstream bytes (response head or the next body chunk)
    upstream_timeout: float = Field(default=60.0, gt=0)
    #: a kept-alive client connection with no request for this long is closed
    idle_timeout: float = Field(default=75.0, gt=0)
    #: the largest body the proxy reads into memory (one a route entry applies to)
    max_body_bytes: int = Field(default=33_554_432, ge=1024)
    #: the largest request or response head (request line or status line + headers)
    max_head_bytes: int = Field(default=65_536, ge=1024)
    #: idle upstream connections kept per (host, port, tls)
    pool_size: int = Field(default=64, ge=0)
    #: how long an idle upstream connection is kept
    pool_idle_seconds: float = Field(default=30.0, gt=0)
    #: how often a vault's routes are read again (changes apply within this time)
    routes_refresh_seconds: float = Field(default=1.0, ge=0)
    #: minted per-host certificates kept in memory
    leaf_cache_size: int = Field(default=1024, ge=1)
    #: threads that run vault work (credential checks, routes, alias look-ups); None: 1 on
    #: SQLite (one writer at a time: more threads only contend), 4 on PostgreSQL
    vault_threads: int | None = Field(default=None, ge=1, le=64)
    log_level: str = "info"

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip().lower() for part in value.split(",") if part.strip())
        if isinstance(value, list | tuple):
            return tuple(str(part).strip().lower() for part in value if str(part).strip())
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlProxySection(settings_cls))

    def host_allowed(self, host: str) -> bool:
        """Whether a destination host name matches ``allowed_hosts`` (any, when empty)."""
        if not self.allowed_hosts:
            return True
        name = host.lower().rstrip(".")
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.allowed_hosts)
