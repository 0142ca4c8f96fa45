"""The inbound (reverse) proxy over real sockets: a client sends card data to the proxy, the
HTTPS upstream the route names records what reaches it (aliases), the vault core holds the
cards, and the answers carry VGS's proxy headers."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

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
    redact_route,
    start_proxy,
)

from vaultswitch.proxy.server import ProxyServer
from vaultswitch.vault.core.models import AuditContext


@pytest.fixture
def proxy(vault: Vault, upstream: Upstream) -> Iterator[ProxyServer]:
    server = start_proxy("inbound", vault, proxy_settings(upstream))
    try:
        yield server
    finally:
        server.stop()


def revealed(vault: Vault, alias: str) -> str:
    records = vault.service.reveal(vault.vault_id, [alias], "PERSISTENT", AuditContext("t"))
    value = records[alias].value
    assert value is not None
    return value.reveal()


def test_card_numbers_reach_the_upstream_as_aliases(
    vault: Vault, upstream: Upstream, proxy: ProxyServer
) -> None:
    vault.routes(redact_route(upstream.url + "/app"))
    response = httpx.post(
        f"{proxy.url}/{vault.vault_id}/cards?save=1",
        json={"card": {"number": CARD}, "name": "A. Holder"},
    )
    assert response.status_code == 201
    got = upstream.recorder.last()
    alias = got.json()["card"]["number"]
    assert alias != CARD
    assert CARD not in got.body.decode()
    assert revealed(vault, alias) == CARD
    assert got.json()["name"] == "A. Holder"
    assert got.path == "/app/cards"  # the route's path, then the request's without the vault
    assert got.query == "save=1"
    assert got.headers["vgs-tenant"] == vault.vault_id
    assert got.headers["x-forwarded-host"] == f"127.0.0.1:{proxy.port}"
    assert got.headers["host"] == f"127.0.0.1:{upstream.port}"
    assert len(got.headers["vgs-request-id"]) == 32
    assert response.headers["vgs-request-id"] == got.headers["vgs-request-id"]
    assert response.headers["vgs-upstream-status-code"] == "201"


def test_the_vault_can_be_named_by_the_host(
    vault: Vault, upstream: Upstream, proxy: ProxyServer
) -> None:
    vault.routes(redact_route(upstream.url))
    response = httpx.post(
        f"{proxy.url}/pay",
        json={"card": {"number": OTHER_CARD}},
        headers={"host": f"{vault.vault_id}.sandbox.example.test"},
    )
    assert response.status_code == 201
    got = upstream.recorder.last()
    assert got.path == "/pay"
    assert got.headers["x-forwarded-host"] == f"{vault.vault_id}.sandbox.example.test"
    assert revealed(vault, got.json()["card"]["number"]) == OTHER_CARD


def test_the_same_card_gets_the_same_alias_over_kept_alive_connections(
    vault: Vault, upstream: Upstream, proxy: ProxyServer
) -> None:
    vault.routes(redact_route(upstream.url))
    with httpx.Client(base_url=f"{proxy.url}/{vault.vault_id}") as client:
        for _ in range(3):
            assert client.post("/p", json={"card": {"number": CARD}}).status_code == 201
    aliases = {r.json()["card"]["number"] for r in upstream.recorder.received}
    assert len(aliases) == 1  # fingerprinting: one alias per card
    assert len({r.client_port for r in upstream.recorder.received}) == 1
    assert proxy.edge.runtime.pool.opened == 1


def test_a_response_entry_redacts_the_answer(
    vault: Vault, upstream: Upstream, proxy: ProxyServer
) -> None:
    vault.routes(redact_route(upstream.url, phase="RESPONSE"))
    response = httpx.get(f"{proxy.url}/{vault.vault_id}/card?number={CARD}")
    assert response.status_code == 201
    alias = response.json()["card"]["number"]
    assert alias != CARD
    assert revealed(vault, alias) == CARD
    # the request itself went as it was (a GET: nothing to redact in it)
    assert upstream.recorder.last().query == f"number={CARD}"


def test_a_card_number_that_is_not_a_card_number_is_refused_naming_the_field(
    vault: Vault, upstream: Upstream, proxy: ProxyServer
) -> None:
    route = redact_route(upstream.url)
    route["entries"][0]["public_token_generator"] = "FPE_SIX_T_FOUR"
    vault.routes(route)
    response = httpx.post(f"{proxy.url}/{vault.vault_id}/p", json={"card": {"number": "12ab"}})
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert "card.number" in error["detail"]
    assert error["hint"]
    assert not upstream.recorder.received


def test_without_a_route_or_a_vault_the_proxy_answers_404_with_a_hint(
    vault: Vault, upstream: Upstream, proxy: ProxyServer
) -> None:
    no_route = httpx.post(f"{proxy.url}/{vault.vault_id}/p", json={"card": {"number": CARD}})
    assert no_route.status_code == 404
    error = no_route.json()["errors"][0]
    assert error["code"] == "NO_ROUTE"
    assert f"vaultswitch routes apply --file routes.yaml --vault {vault.vault_id}" in error["hint"]
    assert CARD not in no_route.text

    no_vault = httpx.get(f"{proxy.url}/p")
    assert no_vault.status_code == 404
    assert no_vault.json()["errors"][0]["code"] == "VAULT_NOT_NAMED"

    unknown = httpx.get(f"{proxy.url}/tntaaaaaaaa/p")
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["code"] == "VAULT_NOT_FOUND"
    assert not upstream.recorder.received


def test_an_unreachable_upstream_is_a_502_with_a_hint(vault: Vault, proxy: ProxyServer) -> None:
    vault.routes(redact_route("http://127.0.0.1:9"))  # discard port: nothing listens
    response = httpx.get(f"{proxy.url}/{vault.vault_id}/p")
    assert response.status_code == 502
    error = response.json()["errors"][0]
    assert error["code"] == "UPSTREAM_UNREACHABLE"
    assert error["hint"]


@pytest.mark.postgres
def test_both_proxies_on_a_postgresql_vault(pg_vault: Vault, upstream: Upstream) -> None:
    """Inbound redacts a card, outbound reveals the alias it became: the round trip."""
    pg_vault.routes(redact_route(upstream.url), enrich_route())
    inbound = start_proxy("inbound", pg_vault, proxy_settings(upstream))
    outbound = start_proxy(
        "outbound", pg_vault, proxy_settings(upstream, allow_private_destinations=True)
    )
    try:
        httpx.post(f"{inbound.url}/{pg_vault.vault_id}/in", json={"card": {"number": CARD}})
        alias = upstream.recorder.last().json()["card"]["number"]
        assert alias != CARD
        verify = ssl.create_default_context(cafile=str(proxy_ca_file(pg_vault)))
        with httpx.Client(proxy=pg_vault.proxy_url(outbound), verify=verify) as client:
            client.post(f"{upstream.url}/out", json={"card": {"number": alias}})
    finally:
        inbound.stop()
        outbound.stop()
    assert upstream.recorder.last().json() == {"card": {"number": CARD}}
