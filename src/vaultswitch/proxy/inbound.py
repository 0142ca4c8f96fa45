"""The inbound (reverse) proxy: redacts card data on its way to the vault owner's upstream.

A client sends its request to the proxy instead of the upstream; the vault is named by the
Host (``tntxxxxxxxx.<anything>``) or a path prefix (``/tntxxxxxxxx/...``, stripped), as for
the vault API. The first of the vault's inbound routes whose ``host_endpoint`` matches the
Host (and whose ``source_endpoint`` lets the client in) handles it: the request goes to the
route's ``destination_override_endpoint`` (its path, if any, is put before the request's)
with the route's REQUEST entries applied, the response comes back with its RESPONSE entries
applied (see :mod:`vaultswitch.proxy.forwarding`).

The upstream gets ``Host`` (its own), ``Vgs-Request-Id``, ``Vgs-Tenant``,
``X-Forwarded-Host`` (the Host the client used), ``X-Forwarded-For`` and
``X-Forwarded-Proto``. A request with no vault, an unknown vault, or no matching route is
answered 404 by the proxy (an inbound route names the upstream: without one there is
nowhere to pass the request to).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import h11

from vaultswitch.domain.tenants import resolve_tenant
from vaultswitch.proxy.edge import ClientState, Edge, RequestLog
from vaultswitch.proxy.errors import ProxyError
from vaultswitch.proxy.forwarding import Exchange, Outcome
from vaultswitch.proxy.http1 import H11Stream, end_to_end, header, without
from vaultswitch.proxy.routes import RequestFacts, first_route
from vaultswitch.proxy.upstream import PoolKey
from vaultswitch.vault.core.models import AuditContext

_FORWARDED = (b"x-forwarded-for", b"x-forwarded-host", b"x-forwarded-proto")


def no_tenant(host: str) -> ProxyError:
    return ProxyError(
        404,
        "VAULT_NOT_NAMED",
        f"the request names no vault (Host {host[:100]!r}, no /tntxxxxxxxx/ path prefix)",
        "send it to http://HOST:PORT/VAULT_ID/PATH, or with a Host header starting with "
        "the vault id (VAULT_ID.example.com)",
    )


def no_route(vault_id: str, host: str) -> ProxyError:
    return ProxyError(
        404,
        "NO_ROUTE",
        f"vault {vault_id} has no inbound route for the host {host[:100]!r}",
        "add an inbound route (destination_override_endpoint = your upstream URL, "
        f"host_endpoint matching this Host) with `vaultswitch routes apply --file routes.yaml "
        f"--vault {vault_id}`; `vaultswitch routes get --vault {vault_id}` lists them",
    )


def bad_upstream(route_id: str | None) -> ProxyError:
    return ProxyError(
        502,
        "ROUTE_UPSTREAM_INVALID",
        f"route {route_id} has no usable destination_override_endpoint (an http:// or "
        "https:// URL)",
        "fix the route's destination_override_endpoint: `vaultswitch routes get --vault ID` "
        "prints the routes, `vaultswitch routes apply --file routes.yaml --vault ID` stores the "
        "corrected document",
    )


def upstream_of(endpoint: str, route_id: str | None) -> tuple[PoolKey, str]:
    """(connection key, base path) of a route's ``destination_override_endpoint``."""
    try:
        url = urlsplit(endpoint)
        port = url.port
    except ValueError:
        raise bad_upstream(route_id) from None
    if url.scheme not in ("http", "https") or not url.hostname:
        raise bad_upstream(route_id)
    tls = url.scheme == "https"
    return PoolKey(url.hostname.lower(), port or (443 if tls else 80), tls), url.path.rstrip("/")


def _authority(key: PoolKey) -> bytes:
    shown = f"[{key.host}]" if ":" in key.host else key.host
    default = 443 if key.tls else 80
    return (shown if key.port == default else f"{shown}:{key.port}").encode("latin-1")


class InboundProxy(Edge):
    """The reverse proxy edge."""

    name = "inbound"

    async def exchange(
        self,
        client: H11Stream,
        request: h11.Request,
        state: ClientState,
        request_id: str,
        outcome: Outcome,
        entry: RequestLog,
    ) -> bool:
        raw_host = header(request.headers, b"host")
        host = raw_host.decode("latin-1") if raw_host is not None else ""
        target = request.target.decode("latin-1")
        if not target.startswith("/"):  # absolute form: its path
            url = urlsplit(target)
            target = (url.path or "/") + (f"?{url.query}" if url.query else "")
        path, _, query = target.partition("?")
        entry.host, entry.path = host, path
        tenant = resolve_tenant(host, path)
        if tenant.vault_id is None:
            raise no_tenant(host)
        vault_id = tenant.vault_id
        entry.vault_id = vault_id
        routes = await self.runtime.routes.routes_for(vault_id)
        route = first_route(routes, host, outbound=False, client=state.client_ip)
        if route is None:
            raise no_route(vault_id, host)
        key, base = upstream_of(route.destination_override_endpoint, route.id)
        upstream_target = base + tenant.path + (f"?{query}" if query else "")

        headers = without(end_to_end(request.headers), b"host", *_FORWARDED)
        headers.insert(0, (b"host", _authority(key)))
        forwarded_for = [v for n, v in request.headers if n == b"x-forwarded-for"]
        if state.client_ip:
            forwarded_for.append(state.client_ip.encode())
        proxy_headers = [
            (b"vgs-request-id", request_id.encode()),
            (b"vgs-tenant", vault_id.encode()),
            (b"x-forwarded-host", raw_host or b""),
            (b"x-forwarded-proto", b"http"),
        ]
        if forwarded_for:
            proxy_headers.append((b"x-forwarded-for", b", ".join(forwarded_for)))
        content_type = header(headers, b"content-type")
        facts = RequestFacts(
            tenant.path, query, None if content_type is None else content_type.decode("latin-1")
        )
        ctx = AuditContext("proxy:inbound", state.client_ip, request_id)
        exchange = Exchange(
            request_id=request_id,
            vault_id=vault_id,
            method=request.method,
            target=upstream_target.encode("latin-1"),
            headers=headers,
            upstream_headers=proxy_headers,
            facts=facts,
            routes=(route,),
            backend=self.runtime.backend(vault_id, ctx),
            key=key,
        )
        await self.runtime.forwarder.forward(
            client, exchange, self.runtime.policy.addresses, outcome
        )
        return True
