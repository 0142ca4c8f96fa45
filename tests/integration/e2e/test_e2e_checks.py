"""The connection test against our vault over real HTTP(S) on loopback: every failure mode
a real server can produce, each with its diagnosis, through the sync and the async client."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import VaultAccount, serve_vault

from vaultswitch.client import AsyncVaultClient, ClientConfig, RetryPolicy, VaultClient
from vaultswitch.client.checks import CheckReport, check_connection, check_connection_async
from vaultswitch.connectors.base import SignatureKey, VaultRequestData
from vaultswitch.connectors.vgs import VgsConfig, VgsConnector
from vaultswitch.domain.cards import Card
from vaultswitch.domain.secret import Secret
from vaultswitch.troubleshooting import find_entries
from vaultswitch.vault.settings import VaultSettings


def _config(account: VaultAccount | None = None, **overrides: object) -> ClientConfig:
    verify: bool | str = str(account.ca_file) if account and account.ca_file else True
    options: dict[str, object] = {
        "verify": verify,
        "retry": RetryPolicy(attempts=1),
        "trust_env": False,
    }
    options.update(overrides)
    return ClientConfig(**options)  # type: ignore[arg-type]


def _connector(account: VaultAccount, api_version: str = "v2", **urls: str) -> VgsConnector:
    options = {**account.connector_urls(), **urls, "api_version": api_version}
    return VgsConnector(VgsConfig.from_options(options))


def _check(
    account: VaultAccount,
    credentials: SignatureKey,
    connector: VgsConnector | None = None,
    config: ClientConfig | None = None,
) -> CheckReport:
    with VaultClient(config or _config(account)) as client:
        return check_connection(client, connector or _connector(account), credentials)


def _shown(report: CheckReport) -> str:
    return json.dumps(report.to_dict()) + repr(report)


def _assert_explained(report: CheckReport) -> None:
    for check in report.checks:
        assert find_entries(check.code), f"vaultswitch explain does not know {check.code}"


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (kernel backlog) and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock.getsockname()[1]
    sock.close()


# --- right credentials ---------------------------------------------------------------------


def test_right_credentials_pass_every_check(account: VaultAccount) -> None:
    report = _check(account, account.oauth)
    assert report.ok, report.to_dict()
    assert [c.name for c in report.checks] == ["token", "vault"]
    token, vault = report.checks
    assert token.code == vault.code == "ok"
    assert token.hint == vault.hint == ""
    assert "issued an access token" in token.message
    assert "aliases:read" in token.message  # the granted scopes
    assert account.vault_id in vault.message
    assert "nothing was written" in vault.message
    assert all(c.ms >= 0 for c in report.checks)
    body = report.to_dict()
    assert set(body) == {"ok", "checks"}
    assert all(set(c) == {"name", "ok", "code", "message", "hint", "ms"} for c in body["checks"])
    _assert_explained(report)


def test_the_test_writes_nothing_to_the_vault(http_account: VaultAccount) -> None:
    for _ in range(3):
        assert _check(http_account, http_account.oauth).ok
    service = http_account.service
    assert service.list_audit(http_account.vault_id, action="alias.create") == []
    assert service.list_audit(http_account.vault_id, action="alias.delete") == []
    # control: a write through the same connector does show up there
    card = Card.parse("4111111111111111", "12", "2030")
    with VaultClient(_config(http_account)) as client:
        client.insert(_connector(http_account), http_account.oauth, VaultRequestData(card))
    assert service.list_audit(http_account.vault_id, action="alias.create")


def test_v1_basic_credentials_need_no_token(account: VaultAccount) -> None:
    report = _check(account, account.basic, _connector(account, "v1"))
    assert report.ok, report.to_dict()
    token, vault = report.checks
    assert token.ok
    assert "no access token needed" in token.message
    assert "HTTP Basic" in token.message
    assert "accepted the credentials" in vault.message


# --- the seed's failure modes --------------------------------------------------------------


def test_wrong_secret_fails_the_token_check_with_the_oauth_401_mode(
    http_account: VaultAccount,
) -> None:
    bad = SignatureKey(
        http_account.oauth.api_key, Secret("wrong-client-secret"), Secret(http_account.vault_id)
    )
    report = _check(http_account, bad)
    assert not report.ok
    token, vault = report.checks
    assert (token.ok, token.code) == (False, "vault_authentication_failed")
    assert "HTTP 401" in token.message
    assert "invalid_client" in token.message
    for words in ("Username (API Key)", "Password (Key1)", "scopes"):
        assert words in token.hint
    assert "vaultswitch vault service-account --vault " + http_account.vault_id in token.hint
    assert (vault.ok, vault.code) == (False, "skipped")
    assert "token check" in vault.message
    assert report.first_failure is token
    shown = _shown(report)
    assert "wrong-client-secret" not in shown
    assert http_account.oauth.api_key.reveal() not in shown
    _assert_explained(report)


def test_unknown_client_id_is_the_same_mode(http_account: VaultAccount) -> None:
    bad = SignatureKey(Secret("no-such-client"), Secret("whatever"), Secret(http_account.vault_id))
    report = _check(http_account, bad)
    assert report.checks[0].code == "vault_authentication_failed"
    assert "no-such-client" not in _shown(report)


def test_wrong_vault_id_fails_the_vault_check_with_the_vault_not_found_mode(
    http_account: VaultAccount,
) -> None:
    other = SignatureKey(http_account.oauth.api_key, http_account.oauth.key1, Secret("tntzzzzzzzz"))
    report = _check(http_account, other)
    token, vault = report.checks
    assert token.ok  # the credentials are right: only the vault ID is not
    assert (vault.ok, vault.code) == (False, "vault_not_found")
    assert "tntzzzzzzzz" in vault.message
    assert "HTTP 404" in vault.message
    assert "trace id" in vault.message
    assert "Vault ID (API Secret)" in vault.hint
    assert "sandbox vault IDs do not work in live" in vault.hint
    assert "vaultswitch vault list" in vault.hint
    assert http_account.oauth.key1.reveal() not in _shown(report)
    _assert_explained(report)


def test_a_vault_the_account_is_not_assigned_to_is_vault_not_found(
    http_account: VaultAccount,
) -> None:
    foreign = http_account.service.create_vault("someone else's").vault_id
    creds = SignatureKey(http_account.oauth.api_key, http_account.oauth.key1, Secret(foreign))
    report = _check(http_account, creds)
    vault = report.checks[1]
    assert vault.code == "vault_not_found"
    assert foreign in vault.message
    assert "assigned" in vault.message


def test_v1_wrong_password_fails_the_vault_check(account: VaultAccount) -> None:
    bad = SignatureKey(account.basic.api_key, Secret("not-the-password"), Secret(account.vault_id))
    report = _check(account, bad, _connector(account, "v1"))
    token, vault = report.checks
    assert token.ok
    assert (vault.ok, vault.code) == (False, "vault_authentication_failed")
    assert "access credentials" in vault.hint
    assert "Password (Key1)" in vault.hint
    assert "vaultswitch vault access-credentials --vault " + account.vault_id in vault.hint
    assert "not-the-password" not in _shown(report)


def test_malformed_vault_id_names_the_field(http_account: VaultAccount) -> None:
    creds = SignatureKey(http_account.oauth.api_key, http_account.oauth.key1, Secret("TNT-oops"))
    report = _check(http_account, creds)
    token = report.checks[0]
    assert token.code == "invalid_connector_credentials"
    assert "Vault ID (API Secret)" in token.message
    assert "TNT-oops" not in _shown(report)


def test_missing_read_scope_and_reveal_off_pass_with_a_warning(
    http_account: VaultAccount,
) -> None:
    """A 403 proves the vault ID and the credentials (a new VGS vault has reveal off): the
    check passes, warns that detokenize payments need reveal, and says how to turn it on."""
    service, vault_id = http_account.service, http_account.vault_id
    writer, secret = service.create_service_account([vault_id], ["aliases:write"])
    write_only = SignatureKey(Secret(writer.client_id), secret, Secret(vault_id))
    report = _check(http_account, write_only)
    vault = report.checks[1]
    assert report.ok
    assert vault.ok
    assert "refuses to reveal (HTTP 403" in vault.message
    assert "aliases:read" in vault.hint

    service.set_reveal(vault_id, False)
    vault = _check(http_account, http_account.oauth).checks[1]
    assert vault.ok
    assert "REVEAL_DISABLED" in vault.message
    assert "detokenize" in vault.message
    assert f"vaultswitch vault reveal enable --vault {vault_id}" in vault.hint


def test_rate_limited_vault(tmp_path: Path) -> None:
    settings = VaultSettings(data_dir=tmp_path / "limited", rate_limit_per_minute=1)
    with serve_vault(settings) as account:
        assert _check(account, account.oauth).ok  # the one request of this minute
        report = _check(account, account.oauth)
    vault = report.checks[1]
    assert vault.code == "vault_rate_limited"
    assert "wait" in vault.hint
    _assert_explained(report)


# --- network -------------------------------------------------------------------------------


def test_closed_port_is_the_network_mode_naming_the_auth_host(
    http_account: VaultAccount, closed_port: int
) -> None:
    dead = f"http://127.0.0.1:{closed_port}/"
    connector = _connector(http_account, auth_base_url=dead)
    report = _check(http_account, http_account.oauth, connector)
    token, vault = report.checks
    assert (token.ok, token.code) == (False, "vault_unreachable")
    assert f"127.0.0.1:{closed_port}" in token.message
    assert f"127.0.0.1:{closed_port}" in token.hint
    assert "auth_base_url" in token.hint
    assert "vaultswitch up" in token.hint
    assert vault.code == "skipped"
    _assert_explained(report)


def test_closed_vault_port_names_the_vault_host(
    http_account: VaultAccount, closed_port: int
) -> None:
    connector = _connector(
        http_account, vault_base_url=f"http://127.0.0.1:{closed_port}/{{vault_id}}/"
    )
    report = _check(http_account, http_account.oauth, connector)
    token, vault = report.checks
    assert token.ok
    assert vault.code == "vault_unreachable"
    assert f"127.0.0.1:{closed_port}" in vault.message
    assert "vault_base_url" in vault.hint


def test_untrusted_tls_certificate_is_the_network_mode_with_the_ca_fix(tmp_path: Path) -> None:
    settings = VaultSettings(data_dir=tmp_path / "tls")
    with serve_vault(settings, tmp_path) as account:
        report = _check(account, account.oauth, config=_config(None))  # system CAs only
    token = report.checks[0]
    assert token.code == "vault_unreachable"
    assert "TLS" in token.message
    assert "ClientConfig.verify" in token.hint


def test_a_host_that_never_answers_is_a_timeout(
    http_account: VaultAccount, silent_port: int
) -> None:
    connector = _connector(http_account, auth_base_url=f"http://127.0.0.1:{silent_port}/")
    report = _check(http_account, http_account.oauth, connector, _config(read_timeout=0.2))
    token = report.checks[0]
    assert token.code == "vault_unreachable"
    assert "did not answer in time" in token.hint


# --- async ---------------------------------------------------------------------------------


def test_async_client_gives_the_same_report(account: VaultAccount) -> None:
    wrong = SignatureKey(account.oauth.api_key, Secret("wrong-secret"), Secret(account.vault_id))
    other = SignatureKey(account.oauth.api_key, account.oauth.key1, Secret("tntzzzzzzzz"))
    v1 = _connector(account, "v1")

    async def scenario() -> list[CheckReport]:
        async with AsyncVaultClient(_config(account)) as client:
            vgs = _connector(account)
            return list(
                await asyncio.gather(
                    check_connection_async(client, vgs, account.oauth),
                    check_connection_async(client, vgs, wrong),
                    check_connection_async(client, vgs, other),
                    check_connection_async(client, v1, account.basic),
                )
            )

    good, bad_secret, bad_vault, basic = asyncio.run(scenario())
    assert good.ok
    assert [c.code for c in good.checks] == ["ok", "ok"]
    assert [c.code for c in bad_secret.checks] == ["vault_authentication_failed", "skipped"]
    assert [c.code for c in bad_vault.checks] == ["ok", "vault_not_found"]
    assert basic.ok
    sync = _check(account, wrong)
    assert [(c.name, c.code, c.hint) for c in sync.checks] == [
        (c.name, c.code, c.hint) for c in bad_secret.checks
    ]
    assert "wrong-secret" not in _shown(bad_secret)
