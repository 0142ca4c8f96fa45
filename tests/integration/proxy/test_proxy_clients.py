"""The client-side helper: httpx clients built from a VGS connector account's
``metadata.proxy_url`` and ``metadata.certificate`` reach an HTTPS upstream through our
outbound proxy (trusting our CA), and read VGS's own proxy CA certificates."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from proxy_support import (
    CARD,
    Upstream,
    Vault,
    enrich_route,
    proxy_ca_file,
    proxy_settings,
    start_proxy,
)

from vaultswitch.client.proxy_clients import (
    ProxyConfigError,
    async_proxy_client_from_metadata,
    certificate_pem,
    proxy_client_from_metadata,
    proxy_ssl_context,
)
from vaultswitch.proxy.server import ProxyServer


@pytest.fixture
def proxy(vault: Vault, upstream: Upstream) -> Iterator[ProxyServer]:
    server = start_proxy(
        "outbound", vault, proxy_settings(upstream, allow_private_destinations=True)
    )
    try:
        yield server
    finally:
        server.stop()


def metadata(vault: Vault, proxy: ProxyServer, *, b64: bool = False) -> dict[str, str]:
    pem = proxy_ca_file(vault).read_text()
    certificate = base64.b64encode(pem.encode()).decode() if b64 else pem
    return {"proxy_url": vault.proxy_url(proxy), "certificate": certificate}


def test_sync_client_from_metadata_goes_through_our_proxy(
    vault: Vault, upstream: Upstream, proxy: ProxyServer
) -> None:
    alias = vault.alias(CARD)
    vault.routes(enrich_route())
    with proxy_client_from_metadata(metadata(vault, proxy)) as client:
        response = client.post(f"{upstream.url}/charge", json={"card": {"number": alias}})
    assert response.status_code == 201
    assert response.headers["vgs-upstream-status-code"] == "201"
    assert upstream.recorder.last().json() == {"card": {"number": CARD}}


async def test_async_client_from_metadata_with_a_base64_certificate(
    vault: Vault, upstream: Upstream, proxy: ProxyServer
) -> None:
    alias = vault.alias(CARD)
    vault.routes(enrich_route())
    async with async_proxy_client_from_metadata(metadata(vault, proxy, b64=True)) as client:
        for _ in range(3):
            response = await client.post(f"{upstream.url}/c", json={"card": {"number": alias}})
            assert response.status_code == 201
    assert [r.json() for r in upstream.recorder.received] == [{"card": {"number": CARD}}] * 3


def test_without_the_proxy_certificate_the_intercepted_tls_is_not_trusted(
    vault: Vault, upstream: Upstream, proxy: ProxyServer
) -> None:
    import httpx

    with (
        proxy_client_from_metadata({"proxy_url": vault.proxy_url(proxy)}) as client,
        pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        client.get(f"{upstream.url}/x")


def test_vgs_own_proxy_certificates_are_read() -> None:
    import vgs

    certs = Path(vgs.__file__).parent / "certs"
    for name in ("vgs-proxy-sandbox.pem", "vgs-proxy-live.pem"):
        text = (certs / name).read_text()
        assert certificate_pem(text).startswith("-----BEGIN CERTIFICATE-----")
        assert certificate_pem(base64.b64encode(text.encode()).decode()) == certificate_pem(text)
        proxy_ssl_context(text)  # loads


def test_bad_settings_name_the_field_and_never_show_the_credentials() -> None:
    with pytest.raises(ProxyConfigError) as bad_cert:
        proxy_client_from_metadata(
            {"proxy_url": "http://US1:secret-pass@127.0.0.1:1", "certificate": "not a cert"}
        )
    assert bad_cert.value.field == "metadata.certificate"
    assert "vaultswitch proxy ca" in bad_cert.value.hint
    with pytest.raises(ProxyConfigError) as bad_url:
        proxy_client_from_metadata({"proxy_url": "ftp://US1:secret-pass@host:21"})
    assert bad_url.value.field == "metadata.proxy_url"
    assert "secret-pass" not in str(bad_url.value)
    with pytest.raises(ProxyConfigError, match=r"metadata\.proxy_url: is not set"):
        proxy_client_from_metadata({})
