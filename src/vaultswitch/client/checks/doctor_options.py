"""The options of ``doctor``'s checks (:mod:`.doctor`)."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vaultswitch.connectors.base import StorageType

from . import network

DEFAULT_MAX_CLOCK_SKEW = 60.0


@dataclass(frozen=True, slots=True)
class DoctorOptions:
    """What to check beyond the connection test, and how.

    ``write``: add the ``round_trip`` check (writes, reads and deletes one throwaway value).
    ``alias`` / ``alias_storage``: add the ``alias`` check for that alias (storage: the
    connector's token storage when None). ``proxy_url`` / ``proxy_certificate``: the
    account's ``metadata.proxy_url`` and ``metadata.certificate``; a ``proxy`` check runs
    when ``proxy_url`` is set. ``verify`` / ``trust_env`` / ``network_timeout``: TLS trust
    and the socket timeout of the DNS/TCP/TLS checks, the client's own (its
    :class:`~vaultswitch.client.ClientConfig`) when None. ``resolver``: the host name
    resolver (``socket.getaddrinfo``).
    """

    write: bool = False
    alias: str | None = None
    alias_storage: StorageType | None = None
    proxy_url: str | None = field(default=None, repr=False)
    proxy_certificate: str | None = field(default=None, repr=False)
    max_clock_skew: float = DEFAULT_MAX_CLOCK_SKEW
    verify: bool | str | None = None
    trust_env: bool | None = None
    network_timeout: float | None = None
    resolver: network.Resolver = field(default=socket.getaddrinfo, repr=False)

    @classmethod
    def for_account(cls, metadata: Mapping[str, Any] | None, **options: Any) -> DoctorOptions:
        """Options for a connector account: its ``proxy_url`` and ``certificate`` metadata."""
        metadata = metadata or {}
        proxy = metadata.get("proxy_url")
        certificate = metadata.get("certificate")
        return cls(
            proxy_url=proxy if isinstance(proxy, str) and proxy.strip() else None,
            proxy_certificate=certificate
            if isinstance(certificate, str) and certificate.strip()
            else None,
            **options,
        )

    def with_client_settings(
        self, verify: bool | str, trust_env: bool, timeout: float
    ) -> DoctorOptions:
        """These options with the client's TLS trust and timeout where none was given."""
        return dataclasses.replace(
            self,
            verify=self.verify if self.verify is not None else verify,
            trust_env=self.trust_env if self.trust_env is not None else trust_env,
            network_timeout=self.network_timeout if self.network_timeout is not None else timeout,
        )

    @property
    def timeout(self) -> float:
        return self.network_timeout if self.network_timeout is not None else 5.0
