"""The outbound (forward) proxy: an HTTP/1.1 proxy that reveals aliases on the way out.

Clients use it as ``HTTPS_PROXY`` / ``HTTP_PROXY`` = ``http://USERNAME:PASSWORD@HOST:PORT``
with a vault's access credentials, which name the vault whose routes apply:

- ``CONNECT host:443``: the credentials and the destination are checked, the proxy answers
  ``200 Connection established`` and takes the client's TLS with a certificate for the host
  minted by the local CA (clients must trust it: ``vaultswitch proxy ca``). The requests in
  the tunnel go to the destination over verified TLS.
- ``GET http://host/path`` (absolute URI): the same, to a plain-HTTP destination (or an
  ``https://`` one, over TLS from the proxy).

For each request, the vault's outbound routes (``destination_override_endpoint: '*'``)
whose ``host_endpoint`` matches the destination host apply their entries (see
:mod:`vaultswitch.proxy.forwarding`). The upstream gets ``Vgs-Request-Id``.
"""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit

import h11

from vaultswitch.logs import get_logger
from vaultswitch.proxy.ca import LocalCA
from vaultswitch.proxy.edge import ClientState, Edge, RequestLog, Tunnel
from vaultswitch.proxy.errors import ProxyError, bad_request
from vaultswitch.proxy.forwarding import Exchange, Outcome
from vaultswitch.proxy.http1 import H11Stream, end_to_end, header
from vaultswitch.proxy.proxy_auth import basic_credentials, wrong_credentials
from vaultswitch.proxy.routes import RequestFacts, host_name, matching_routes
from vaultswitch.proxy.runtime import ProxyRuntime
from vaultswitch.proxy.upstream import PoolKey
from vaultswitch.vault.core.models import AuditContext

log = get_logger("vaultswitch.proxy")

_NOT_PROXY_HINT = (
    "this is a forward proxy: set it as the client's proxy (HTTPS_PROXY=http://USERNAME:"
    "PASSWORD@HOST:PORT) instead of sending requests to it directly"
)


def split_authority(authority: str, default_port: int) -> tuple[str, int]:
    """``host:port`` / ``[v6]:port`` / ``host`` → (lower-case host, port); ProxyError if bad."""
    text = authority.strip()
    port_text = ""
    if text.startswith("["):
        end = text.find("]")
        if end == -1:
            raise bad_request(f"invalid authority {text[:100]!r}", _NOT_PROXY_HINT)
        host, rest = text[1:end], text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise bad_request(f"invalid authority {text[:100]!r}", _NOT_PROXY_HINT)
            port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":", 1)
    else:
        host = text
    host = host_name(host) if host else ""
    if not host or any(c.isspace() or c in "/@?#" for c in host):
        raise bad_request(f"invalid destination host in {text[:100]!r}", _NOT_PROXY_HINT)
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise bad_request(f"invalid destination port in {text[:100]!r}", _NOT_PROXY_HINT)
    return host, int(port_text)


def _split_target(target: bytes) -> tuple[str, str]:
    """Origin-form target → (path, query)."""
    text = target.decode("latin-1")
    path, _, query = text.partition("?")
    return path or "/", query


class OutboundProxy(Edge):
    """The forward proxy edge."""

    name = "outbound"

    def __init__(self, runtime: ProxyRuntime, ca: LocalCA) -> None:
        super().__init__(runtime)
        self.ca = ca

    async def _authenticate(self, request: h11.Request, state: ClientState) -> tuple[str, str]:
        """(vault id, username) of the request's proxy credentials; 407 ProxyError if none."""
        value = header(request.headers, b"proxy-authorization")
        if value is not None:
            known = state.authenticated.get(value)
            if known is not None:
                return known
        username, password = basic_credentials(value)
        service = self.runtime.service
        vault_id = await self.runtime.run(
            lambda: service.authenticate_access_credentials(username, password)
        )
        if vault_id is None:
            log.warning("proxy.auth_failed", edge=self.name, client=state.client_ip)
            raise wrong_credentials()
        assert value is not None
        state.authenticated[value] = (vault_id, username)
        return vault_id, username

    async def exchange(
        self,
        client: H11Stream,
        request: h11.Request,
        state: ClientState,
        request_id: str,
        outcome: Outcome,
        entry: RequestLog,
    ) -> bool:
        if state.tunnel is not None:
            return await self._in_tunnel(client, request, state, request_id, outcome, entry)
        if request.method == b"CONNECT":
            return await self._connect(client, request, state, request_id, outcome, entry)
        target = request.target.decode("latin-1")
        if target.startswith("/") or target == "*":
            raise bad_request(
                f"{target[:100]!r} is not an absolute URI",
                _NOT_PROXY_HINT,
                code="NOT_A_PROXY_REQUEST",
            )
        url = urlsplit(target)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise bad_request(
                f"the proxy forwards http:// and https:// URLs, not {target[:100]!r}",
                _NOT_PROXY_HINT,
                code="NOT_A_PROXY_REQUEST",
            )
        tls = url.scheme == "https"
        host, port = split_authority(url.netloc.rpartition("@")[2], 443 if tls else 80)
        entry.host, entry.path = host, url.path or "/"
        vault_id, username = await self._authenticate(request, state)
        entry.vault_id = vault_id
        self.runtime.policy.check_host(host)
        origin = (url.path or "/") + (f"?{url.query}" if url.query else "")
        await self._forward(
            client,
            request,
            state,
            request_id,
            outcome,
            vault_id=vault_id,
            username=username,
            key=PoolKey(host, port, tls),
            target=origin.encode("latin-1"),
            addresses=None,
        )
        return True

    async def _connect(
        self,
        client: H11Stream,
        request: h11.Request,
        state: ClientState,
        request_id: str,
        outcome: Outcome,
        entry: RequestLog,
    ) -> bool:
        host, port = split_authority(request.target.decode("latin-1"), 443)
        entry.host = host
        vault_id, username = await self._authenticate(request, state)
        entry.vault_id = vault_id
        addresses = await self.runtime.policy.addresses(host, port)
        try:
            context = self.ca.server_context(host)
        except (ValueError, ssl.SSLError) as exc:
            raise ProxyError(
                502,
                "TLS_INTERCEPTION_FAILED",
                f"could not make a certificate for {host}: {type(exc).__name__}",
                "use a valid DNS host name or IP address in CONNECT",
            ) from None
        await client.send(
            h11.Response(status_code=200, headers=[], reason=b"Connection established")
        )
        outcome.status = 200
        leftover, _closed = client.conn.trailing_data
        if leftover:
            outcome.notes.append("bytes before the TLS handshake")
            return False
        try:
            await client.writer.start_tls(
                context, ssl_handshake_timeout=self.settings.connect_timeout
            )
        except (ssl.SSLError, OSError, TimeoutError) as exc:
            # most often: the client does not trust the local CA
            log.warning(
                "proxy.tls_handshake_failed",
                edge=self.name,
                request_id=request_id,
                host=host,
                error=getattr(exc, "reason", None) or type(exc).__name__,
                hint="the client must trust the proxy CA (`vaultswitch proxy ca` prints it)",
            )
            outcome.notes.append("TLS handshake failed")
            return False
        inner = H11Stream(
            client.reader, client.writer, h11.SERVER, max_head_bytes=self.settings.max_head_bytes
        )
        tunnel_state = ClientState(
            state.client_ip, tunnel=Tunnel(host, port, vault_id, username, addresses)
        )
        await self.serve(inner, tunnel_state)
        return False

    async def _in_tunnel(
        self,
        client: H11Stream,
        request: h11.Request,
        state: ClientState,
        request_id: str,
        outcome: Outcome,
        entry: RequestLog,
    ) -> bool:
        tunnel = state.tunnel
        assert tunnel is not None
        entry.host, entry.vault_id = tunnel.host, tunnel.vault_id
        target = request.target
        if not target.startswith(b"/"):  # absolute form inside a tunnel: its path
            url = urlsplit(target.decode("latin-1"))
            target = ((url.path or "/") + (f"?{url.query}" if url.query else "")).encode("latin-1")
        entry.path = target.split(b"?", 1)[0].decode("latin-1")
        await self._forward(
            client,
            request,
            state,
            request_id,
            outcome,
            vault_id=tunnel.vault_id,
            username=tunnel.username,
            key=PoolKey(tunnel.host, tunnel.port, True),
            target=target,
            addresses=tunnel.addresses,
        )
        return True

    async def _forward(
        self,
        client: H11Stream,
        request: h11.Request,
        state: ClientState,
        request_id: str,
        outcome: Outcome,
        *,
        vault_id: str,
        username: str,
        key: PoolKey,
        target: bytes,
        addresses: tuple[str, ...] | None,
    ) -> None:
        routes = await self.runtime.routes.routes_for(vault_id)
        matching = matching_routes(routes, key.host, outbound=True, client=state.client_ip)
        headers = end_to_end(request.headers)
        if header(headers, b"host") is None:
            default = 443 if key.tls else 80
            shown = f"[{key.host}]" if ":" in key.host else key.host
            authority = shown if key.port == default else f"{shown}:{key.port}"
            headers.insert(0, (b"host", authority.encode("latin-1")))
        path, query = _split_target(target)
        content_type = header(headers, b"content-type")
        facts = RequestFacts(
            path, query, None if content_type is None else content_type.decode("latin-1")
        )
        ctx = AuditContext(f"proxy:{username}", state.client_ip, request_id)
        exchange = Exchange(
            request_id=request_id,
            vault_id=vault_id,
            method=request.method,
            target=target,
            headers=headers,
            upstream_headers=[(b"vgs-request-id", request_id.encode())],
            facts=facts,
            routes=matching,
            backend=self.runtime.backend(vault_id, ctx),
            key=key,
            addresses=addresses,
        )
        await self.runtime.forwarder.forward(
            client, exchange, self.runtime.policy.addresses, outcome
        )
