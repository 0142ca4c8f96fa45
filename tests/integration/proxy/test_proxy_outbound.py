"""The outbound (forward) proxy over real sockets: a real SQLite vault core, the proxy on its
own loop, a loopback HTTPS upstream with its own test CA that records what it receives, and
httpx clients using the proxy as VGS's is used (``http://USER:PASS@host:port``, CONNECT,
TLS interception under the local CA)."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from proxy_support import (
    CARD,
    OTHER_CARD,
    Upstream,
    Vault,
    enrich_route,
    proxy_ca_file,
    proxy_settings,
    start_proxy,
)

from vaultswitch.proxy.server import ProxyServer


def client_tls(vault: Vault) -> ssl.SSLContext:
    """What a client of the proxy trusts: the proxy's CA (it reads their TLS)."""
    return ssl.create_default_context(cafile=str(proxy_ca_file(vault)))


@pytest.fixture
def proxy(vault: Vault, upstream: Upstream) -> Iterator[ProxyServer]:
    server = start_proxy(
        "outbound", vault, proxy_settings(upstream, allow_private_destinations=True)
    )
    try:
        yield server
    finally:
        server.stop()


def through(vault: Vault, proxy: ProxyServer, **kw: Any) -> httpx.Client:
    return httpx.Client(proxy=vault.proxy_url(proxy), verify=client_tls(vault), **kw)


def raw_exchange(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes to the proxy, read one response head (status, headers, rest)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers, rest


def test_connect_enrich_reveals_the_card_the_client_sent_an_alias_of(
    vault: Vault, upstream: Upstream, proxy: ProxyServer
) -> None:
    alias = vault.alias(CARD)
    vault.routes(enrich_route())
    with through(vault, proxy) as client:
        response = client.post(
            f"{upstream.url}/charges?x=1", json={"card": {"number": alias}, "amount": 100}
        )
    assert response.status_code == 201
    got = upstream.recorder.last()
    assert got.json() == {"card": {"number": CARD}, "amount": 100}
    assert got.path == "/charges"
    assert got.query == "x=1"
    assert len(got.headers["vgs-request-id"]) == 32
    assert "proxy-authorization" not in got.headers
    assert response.headers["vgs-request-id"] == got.headers["vgs-request-id"]
    assert response.headers["vgs-upstream-status-code"] == "201"
    # the client never held the card; the answer is the upstream's
    assert response.json()["path"] == "/charges"


def test_without_a_route_the_request_passes_unchanged(
    vault: Vault, upstream: Upstream, proxy: ProxyServer
) -> None:
    alias = vault.alias(CARD)
    vault.routes(enrich_route(host=r"api\.example\.com"))  # another destination's route
    with through(vault, proxy) as client:
        client.post(f"{upstream.url}/charges", json={"card": {"number": alias}})
    assert upstream.recorder.last().json() == {"card": {"number": alias}}


def test_plain_http_absolute_uri_request_is_enriched_too(
    vault: Vault, plain_upstream: Upstream
) -> None:
    alias = vault.alias(OTHER_CARD)
    vault.routes(enrich_route())
    server = start_proxy("outbound", vault, proxy_settings(allow_private_destinations=True))
    try:
        with httpx.Client(proxy=vault.proxy_url(server)) as client:
            response = client.post(f"{plain_upstream.url}/pay", json={"card": {"number": alias}})
    finally:
        server.stop()
    assert response.status_code == 201
    assert plain_upstream.recorder.last().json() == {"card": {"number": OTHER_CARD}}


def test_unknown_alias_passes_through_and_strict_mode_answers_400(
    vault: Vault, upstream: Upstream, proxy: ProxyServer
) -> None:
    vault.routes(enrich_route())
    unknown = "tok_sandbox_" + "a" * 22
    with through(vault, proxy) as client:
        assert (
            client.post(f"{upstream.url}/p", json={"card": {"number": unknown}}).status_code == 201
        )
    assert upstream.recorder.last().json() == {"card": {"number": unknown}}
    strict = start_proxy(
        "outbound",
        vault,
        proxy_settings(upstream, allow_private_destinations=True, strict_aliases=True),
    )
    try:
        with through(vault, strict) as client:
            response = client.post(f"{upstream.url}/p", json={"card": {"number": unknown}})
    finally:
        strict.stop()
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == "ALIAS_NOT_FOUND"
    assert error["hint"]


# ---------------------------------------------------------------- proxy authentication


def test_connect_without_credentials_gets_407(
    vault: Vault, upstream: Upstream, proxy: ProxyServer
) -> None:
    target = f"127.0.0.1:{upstream.port}"
    status, headers, _ = raw_exchange(
        proxy.port, f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode()
    )
    assert status == 407
    assert headers["proxy-authenticate"].startswith("Basic realm=")


def test_connect_with_a_wrong_password_gets_407(
    vault: Vault, upstream: Upstream, proxy: ProxyServer
) -> None:
    status, headers, body = raw_exchange(
        proxy.port,
        (
            f"CONNECT 127.0.0.1:{upstream.port} HTTP/1.1\r\nHost: x\r\n"
            f"Proxy-Authorization: {vault.basic('not-the-password')}\r\n\r\n"
        ).encode(),
    )
    assert status == 407
    assert "proxy-authenticate" in headers
    assert b"not-the-password" not in body
    assert not upstream.recorder.received


def test_plain_request_without_or_with_wrong_credentials_gets_407_with_a_hint(
    vault: Vault, plain_upstream: Upstream
) -> None:
    server = start_proxy("outbound", vault, proxy_settings(allow_private_destinations=True))
    try:
        with httpx.Client(proxy=f"http://127.0.0.1:{server.port}") as client:
            missing = client.get(f"{plain_upstream.url}/x")
        with httpx.Client(proxy=vault.proxy_url(server, password="wrong")) as client:
            wrong = client.get(f"{plain_upstream.url}/x")
        with httpx.Client(proxy=vault.proxy_url(server)) as client:
            right = client.get(f"{plain_upstream.url}/x")
    finally:
        server.stop()
    for response in (missing, wrong):
        assert response.status_code == 407
        assert response.headers["proxy-authenticate"].startswith("Basic")
        error = response.json()["errors"][0]
        assert error["code"] == "PROXY_AUTHENTICATION_REQUIRED"
        assert "vaultswitch vault access-credentials create --vault" in error["hint"]
    assert right.status_code == 201
    assert len(plain_upstream.recorder.received) == 1


def test_revoked_credentials_get_407_on_a_new_connection(
    vault: Vault, upstream: Upstream, proxy: ProxyServer
) -> None:
    with through(vault, proxy) as client:
        assert client.get(f"{upstream.url}/a").status_code == 201
    vault.service.revoke_access_credentials(vault.username)
    with through(vault, proxy) as client, pytest.raises(httpx.ProxyError, match="407"):
        client.get(f"{upstream.url}/a")


# ---------------------------------------------------------------- destinations


def test_private_destinations_are_refused_by_default(vault: Vault, upstream: Upstream) -> None:
    server = start_proxy("outbound", vault, proxy_settings(upstream))
    try:
        status, _, rest = raw_exchange(
            server.port,
            (
                f"CONNECT 127.0.0.1:{upstream.port} HTTP/1.1\r\nHost: x\r\n"
                f"Proxy-Authorization: {vault.basic()}\r\n\r\n"
            ).encode(),
        )
        status_localhost, _, _ = raw_exchange(
            server.port,
            (
                f"CONNECT localhost:{upstream.port} HTTP/1.1\r\nHost: x\r\n"
                f"Proxy-Authorization: {vault.basic()}\r\n\r\n"
            ).encode(),
        )
    finally:
        server.stop()
    assert status == 403
    assert b"PRIVATE_DESTINATION" in rest
    assert b"--allow-private-destinations" in rest
    assert status_localhost == 403
    assert not upstream.recorder.received


def test_allowed_hosts_limit_the_destinations(vault: Vault, upstream: Upstream) -> None:
    settings = proxy_settings(
        upstream, allow_private_destinations=True, allowed_hosts="api.example.com, *.stripe.com"
    )
    server = start_proxy("outbound", vault, settings)
    try:
        with through(vault, server) as client, pytest.raises(httpx.ProxyError, match="403"):
            client.get(f"{upstream.url}/x")
    finally:
        server.stop()
    allowed = start_proxy(
        "outbound",
        vault,
        proxy_settings(upstream, allow_private_destinations=True, allowed_hosts="127.0.0.*"),
    )
    try:
        with through(vault, allowed) as client:
            assert client.get(f"{upstream.url}/x").status_code == 201
    finally:
        allowed.stop()


def test_upstream_tls_is_verified(vault: Vault, upstream: Upstream) -> None:
    """Without the upstream's CA in VAULTSWITCH_PROXY_UPSTREAM_CA_FILE: 502, nothing sent."""
    server = start_proxy("outbound", vault, proxy_settings(allow_private_destinations=True))
    try:
        with through(vault, server) as client:
            response = client.get(f"{upstream.url}/x")
    finally:
        server.stop()
    assert response.status_code == 502
    error = response.json()["errors"][0]
    assert error["code"] == "UPSTREAM_TLS_ERROR"
    assert "VAULTSWITCH_PROXY_UPSTREAM_CA_FILE" in error["hint"]
    assert not upstream.recorder.received


def test_client_that_does_not_trust_the_proxy_ca_cannot_talk_through_it(
    vault: Vault, upstream: Upstream, proxy: ProxyServer
) -> None:
    with httpx.Client(proxy=vault.proxy_url(proxy)) as client, pytest.raises(httpx.ConnectError):
        client.get(f"{upstream.url}/x")
    assert not upstream.recorder.received


# ---------------------------------------------------------------- connections and bodies


def test_keep_alive_on_both_sides(vault: Vault, upstream: Upstream, proxy: ProxyServer) -> None:
    alias = vault.alias(CARD)
    vault.routes(enrich_route())
    with through(vault, proxy) as client:
        for _ in range(5):
            client.post(f"{upstream.url}/p", json={"card": {"number": alias}})
            client.get(f"{upstream.url}/g")
    received = upstream.recorder.received
    assert len(received) == 10
    assert len({r.client_port for r in received}) == 1  # one upstream connection
    assert proxy.edge.runtime.pool.opened == 1
    assert all(r.json() == {"card": {"number": CARD}} for r in received if r.method == "POST")


def test_large_bodies_no_entry_touches_are_streamed_untouched(
    vault: Vault, upstream: Upstream
) -> None:
    """Bodies far beyond max_body_bytes pass both ways: they are streamed, not buffered."""
    vault.routes(enrich_route())  # a route for the host, whose entry reads JSON bodies only
    settings = proxy_settings(upstream, allow_private_destinations=True, max_body_bytes=65536)
    server = start_proxy("outbound", vault, settings)
    size = 8 * 1024 * 1024
    payload = bytes(range(256)) * (size // 256)
    try:
        with through(vault, server, timeout=60) as client:

            def chunks() -> Iterator[bytes]:
                for start in range(0, size, 100_000):
                    yield payload[start : start + 100_000]

            sent = client.post(
                f"{upstream.url}/upload",
                content=chunks(),
                headers={"content-type": "application/octet-stream"},
            )
            with client.stream("GET", f"{upstream.url}/big?size={size}") as down:
                received = b"".join(down.iter_bytes())
            # a JSON body the entry reads is limited
            too_big = client.post(
                f"{upstream.url}/p",
                content=b'{"card": {"number": "' + b"1" * 70_000 + b'"}}',
                headers={"content-type": "application/json"},
            )
    finally:
        server.stop()
    assert sent.status_code == 201
    assert upstream.recorder.received[0].body == payload
    assert received == b"x" * size
    assert too_big.status_code == 413
    assert too_big.json()["errors"][0]["code"] == "BODY_TOO_LARGE"


def test_a_request_to_the_proxy_itself_is_told_how_to_use_it(
    vault: Vault, proxy: ProxyServer
) -> None:
    response = httpx.get(f"{proxy.url}/")
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == "NOT_A_PROXY_REQUEST"
    assert "HTTPS_PROXY" in error["hint"]


def test_a_header_entry_reveals_a_header_and_the_body_is_streamed(
    vault: Vault, upstream: Upstream, proxy: ProxyServer
) -> None:
    alias = vault.alias(CARD)
    route = enrich_route(rules=[])
    route["entries"][0].update(
        {"transformer": "FORM_FIELD", "transformer_config": ["x-card"], "targets": ["headers"]}
    )
    vault.routes(route)
    with through(vault, proxy) as client:
        response = client.post(
            f"{upstream.url}/h", content=b"plain body", headers={"x-card": alias}
        )
    assert response.status_code == 201
    got = upstream.recorder.last()
    assert got.headers["x-card"] == CARD
    assert got.body == b"plain body"


def test_head_and_bodiless_answers_keep_the_connection_usable(
    vault: Vault, upstream: Upstream, proxy: ProxyServer
) -> None:
    vault.routes(enrich_route(rules=[]))  # an entry that reads every body
    with through(vault, proxy) as client:
        head = client.head(f"{upstream.url}/h")
        after = client.post(f"{upstream.url}/p", json={"card": {"number": "x"}})
    assert head.status_code == 201
    assert head.content == b""
    assert after.status_code == 201
    assert [r.method for r in upstream.recorder.received] == ["HEAD", "POST"]
    assert len({r.client_port for r in upstream.recorder.received}) == 1
