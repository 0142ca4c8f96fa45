"""Connection-test failures our loopback vault cannot produce, through a mock transport:
a host name that does not resolve, and a vault answering 5xx."""

from __future__ import annotations

import json

import httpx

from vaultswitch.client import AsyncVaultClient, ClientConfig, RetryPolicy, VaultClient
from vaultswitch.client.checks import CheckReport, check_connection, check_connection_async
from vaultswitch.connectors.base import SignatureKey
from vaultswitch.connectors.vgs import VgsConnector
from vaultswitch.domain.secret import Secret

CREDS = SignatureKey(Secret("client-id-0001"), Secret("client-secret-0001"), Secret("tntabc12345"))
CONFIG = ClientConfig(retry=RetryPolicy(attempts=2, base_delay=0.0, max_delay=0.0))
ACCESS_TOKEN = "eyJ.not-a-real.jwt-token"  # a fake token
TOKEN = {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 300}


def _vgs(request: httpx.Request, vault: httpx.Response | None = None) -> httpx.Response:
    """Real VGS hosts: the token endpoint works; the vault answers ``vault`` or does not resolve."""
    if request.url.host == "auth.verygoodsecurity.com":
        return httpx.Response(200, json=TOKEN)
    if vault is None:
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)
    return vault


def _check(handler: httpx.MockTransport) -> CheckReport:
    with httpx.Client(transport=handler) as http, VaultClient(CONFIG, http_client=http) as client:
        return check_connection(client, VgsConnector(), CREDS)


def test_a_vault_host_that_does_not_resolve_points_at_the_vault_id() -> None:
    report = _check(httpx.MockTransport(_vgs))
    token, vault = report.checks
    assert token.ok
    assert vault.code == "vault_unreachable"
    assert "tntabc12345.sandbox.vault-api.verygoodvault.com" in vault.message
    assert "DNS" in vault.hint
    assert "Vault ID (API Secret)" in vault.hint
    assert "sandbox vault IDs do not work in live" in vault.hint
    shown = json.dumps(report.to_dict())
    assert ACCESS_TOKEN not in shown
    assert "client-secret-0001" not in shown


def test_an_auth_host_that_does_not_resolve_is_named() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    report = _check(httpx.MockTransport(handler))
    token, vault = report.checks
    assert token.code == "vault_unreachable"
    assert "auth.verygoodsecurity.com" in token.message
    assert "auth_base_url" in token.hint
    assert vault.code == "skipped"


def test_a_vault_answering_503_is_vault_unavailable() -> None:
    body = {"errors": [{"status": 503, "code": "UNAVAILABLE", "detail": "try later"}]}
    unavailable = httpx.Response(503, json=body, headers={"vgs-request-id": "trace-503"})
    report = _check(httpx.MockTransport(lambda request: _vgs(request, unavailable)))
    vault = report.checks[1]
    assert vault.code == "vault_unavailable"
    assert "HTTP 503" in vault.message
    assert "trace-503" in vault.message
    assert "transient" in vault.hint


async def test_the_async_client_diagnoses_the_same_way() -> None:
    transport = httpx.MockTransport(_vgs)
    async with (
        httpx.AsyncClient(transport=transport) as http,
        AsyncVaultClient(CONFIG, http_client=http) as client,
    ):
        report = await check_connection_async(client, VgsConnector(), CREDS)
    assert [(c.name, c.code) for c in report.checks] == [
        ("token", "ok"),
        ("vault", "vault_unreachable"),
    ]
    assert report.checks[1].hint == _check(transport).checks[1].hint
