"""Which routes and entries apply to a request: pure functions over the model.

- A route applies to a host when ``host_endpoint`` (a regular expression, case-insensitive)
  matches the *whole* host name, without the port (inbound: the Host header; outbound: the
  destination host). ``*`` or no ``host_endpoint`` matches any host (inbound routes only).
- Inbound routes go to the inbound proxy, outbound ones (``destination_override_endpoint:
  '*'``) to the outbound proxy; ``source_endpoint`` limits the clients a route serves.
- Routes are tried in order: those with an ``ordinal`` first (lowest first), then the others
  in the order they were created (the order the vault lists them in).
- An entry applies to a request in its ``phase`` whose facts satisfy its ``config``.

``port`` is kept as VGS gives it and is not used for matching.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from vaultswitch.proxy.routes.conditions import RequestFacts, holds
from vaultswitch.proxy.routes.model import Entry, Route


def host_name(authority: str) -> str:
    """``Host`` header or URL authority → lower-case host without port or IPv6 brackets."""
    host = authority.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end != -1 else host[1:]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def host_matches(route: Route, host: str) -> bool:
    """Whether ``host_endpoint`` matches this host (a Host header value is accepted too)."""
    if route.host_pattern is None:
        return not route.outbound
    return route.host_pattern.fullmatch(host_name(host)) is not None


def client_allowed(route: Route, client: str | None) -> bool:
    """``source_endpoint``: ``*`` lets every client in; else the client's address must be in
    one of its networks (an unknown or unparsable address is not)."""
    if route.sources is None:
        return True
    if client is None:
        return False
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False
    return any(address in network for network in route.sources)


def ordered(routes: Iterable[Route]) -> list[Route]:
    """Routes in the order they are tried (stable: ``routes`` is the vault's listing order)."""
    listed = list(routes)
    return sorted(listed, key=lambda r: (r.ordinal is None, r.ordinal or 0))


def matching_routes(
    routes: Iterable[Route], host: str, *, outbound: bool, client: str | None = None
) -> list[Route]:
    """The routes of one proxy (inbound or outbound) for a host, in the order tried."""
    return [
        route
        for route in ordered(routes)
        if route.outbound == outbound
        and host_matches(route, host)
        and client_allowed(route, client)
    ]


def first_route(
    routes: Iterable[Route], host: str, *, outbound: bool, client: str | None = None
) -> Route | None:
    """The route that handles a request (inbound: it also names the upstream), or None."""
    found = matching_routes(routes, host, outbound=outbound, client=client)
    return found[0] if found else None


def entry_applies(entry: Entry, phase: str, facts: RequestFacts) -> bool:
    return entry.phase == phase and holds(entry.condition, facts)


def applicable_entries(route: Route, phase: str, facts: RequestFacts) -> list[Entry]:
    """The entries of a route to apply in this phase to this request, in route order."""
    return [entry for entry in route.entries if entry_applies(entry, phase, facts)]


def entries_for(
    routes: Sequence[Route], phase: str, facts: RequestFacts
) -> list[tuple[Route, Entry]]:
    """Every (route, entry) that applies, over several routes, in order."""
    return [(route, entry) for route in routes for entry in applicable_entries(route, phase, facts)]
