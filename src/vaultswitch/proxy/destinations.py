"""Where the outbound proxy may connect: host patterns, and no private addresses unless allowed.

A destination host must match ``allowed_hosts`` (when set). Its addresses are resolved once,
checked, and the connection is made to a checked address (so a name that resolves to a
public address when checked and to a private one when connecting cannot slip through).
Loopback, private (RFC 1918, unique-local), link-local, carrier-grade NAT, multicast,
reserved and unspecified addresses are refused unless ``allow_private_destinations``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from vaultswitch.proxy.errors import ProxyError
from vaultswitch.proxy.settings import ProxySettings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_public(address: IPAddress) -> bool:
    """A globally routable unicast address (IPv4-mapped IPv6 judged as its IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def refused_host(host: str) -> ProxyError:
    return ProxyError(
        403,
        "DESTINATION_NOT_ALLOWED",
        f"the outbound proxy is not allowed to connect to {host}",
        "add the host (or a pattern like *.example.com) to VAULTSWITCH_PROXY_ALLOWED_HOSTS "
        "(comma-separated) or --allowed-host, or leave it empty to allow any host",
    )


def refused_private(host: str, address: str) -> ProxyError:
    where = host if host == address else f"{host} ({address})"
    return ProxyError(
        403,
        "PRIVATE_DESTINATION",
        f"{where} is a loopback or private address; the outbound proxy refuses those",
        "for a local sandbox, start the proxy with --allow-private-destinations "
        "(or VAULTSWITCH_PROXY_ALLOW_PRIVATE_DESTINATIONS=true)",
    )


class DestinationPolicy:
    """Checks a destination and resolves it to the addresses the proxy may connect to."""

    def __init__(self, settings: ProxySettings, *, unrestricted: bool = False) -> None:
        self._settings = settings
        #: unrestricted: any host, any address (the inbound proxy's upstreams, which the
        #: vault's own routes name)
        self.unrestricted = unrestricted
        self.allow_private = unrestricted or settings.allow_private_destinations

    def check_host(self, host: str) -> None:
        """Refuse a host that ``allowed_hosts`` does not name (ProxyError 403)."""
        if not self.unrestricted and not self._settings.host_allowed(host):
            raise refused_host(host)

    async def addresses(self, host: str, port: int) -> tuple[str, ...]:
        """The host's addresses to connect to (checked); ProxyError when refused or unknown."""
        self.check_host(host)
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            found = [literal]
        else:
            found = await self._resolve(host, port)
        if not self.allow_private:
            for address in found:
                if not is_public(address):
                    raise refused_private(host, str(address))
        return tuple(dict.fromkeys(str(a) for a in found))

    @staticmethod
    async def _resolve(host: str, port: int) -> list[IPAddress]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError, OSError):
            raise ProxyError(
                502,
                "UPSTREAM_UNKNOWN_HOST",
                f"the destination host {host} could not be resolved",
                "check the host name in the request URL",
            ) from None
        found: list[IPAddress] = []
        for _family, _type, _proto, _name, sockaddr in infos:
            text = str(sockaddr[0]).split("%", 1)[0]
            try:
                found.append(ipaddress.ip_address(text))
            except ValueError:
                continue
        if not found:
            raise ProxyError(
                502,
                "UPSTREAM_UNKNOWN_HOST",
                f"the destination host {host} has no usable address",
                "check the host name in the request URL",
            )
        return found
