"""`vaultswitch doctor` against our vault over real HTTP(S) on loopback: every failure mode a
real server can produce, each with its diagnosis; and the command itself as a subprocess
(table, --json, exit status, no secret printed)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import VaultAccount, make_tls_files

from vaultswitch.client import AsyncVaultClient, ClientConfig, RetryPolicy, VaultClient
from vaultswitch.client.checks import CheckReport
from vaultswitch.client.checks.doctor import DoctorOptions, run_doctor, run_doctor_async
from vaultswitch.connectors.base import (
    SignatureKey,
    StorageType,
    VaultConnector,
    VaultRequestData,
)
from vaultswitch.connectors.vgs import VgsConfig, VgsConnector
from vaultswitch.domain.secret import Secret
from vaultswitch.troubleshooting import find_entries

NETWORK = ["auth_dns", "auth_tcp", "auth_tls", "vault_dns", "vault_tcp", "vault_tls"]
BASE = [*NETWORK, "token", "scopes", "vault", "clock_skew"]
ROOT = Path(__file__).resolve().parents[3]


def _config(account: VaultAccount | None, **overrides: object) -> ClientConfig:
    verify: bool | str = str(account.ca_file) if account and account.ca_file else True
    options: dict[str, object] = {
        "verify": verify,
        "retry": RetryPolicy(attempts=1),
        "trust_env": False,
        "connect_timeout": 2.0,
    }
    options.update(overrides)
    return ClientConfig(**options)  # type: ignore[arg-type]


def _connector(account: VaultAccount, api_version: str = "v2", **urls: str) -> VgsConnector:
    options = {**account.connector_urls(), **urls, "api_version": api_version}
    return VgsConnector(VgsConfig.from_options(options))


def _doctor(
    account: VaultAccount,
    credentials: SignatureKey | None = None,
    *,
    connector: VgsConnector | None = None,
    config: ClientConfig | None = None,
    **options: object,
) -> CheckReport:
    with VaultClient(config or _config(account)) as client:
        return run_doctor(
            client,
            connector or _connector(account),
            credentials or account.oauth,
            DoctorOptions(**options),  # type: ignore[arg-type]
        )


def _by_name(report: CheckReport) -> dict[str, tuple[bool, str, str, str]]:
    return {c.name: (c.ok, c.code, c.message, c.hint) for c in report.checks}


def _shown(report: CheckReport) -> str:
    return json.dumps(report.to_dict()) + repr(report)


def _assert_explained(report: CheckReport) -> None:
    for check in report.checks:
        assert find_entries(check.code), f"vaultswitch explain does not know {check.code}"


def _service_account(account: VaultAccount, *scopes: str) -> SignatureKey:
    created, secret = account.service.create_service_account([account.vault_id], scopes=scopes)
    return SignatureKey(Secret(created.client_id), secret, Secret(account.vault_id))


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A loopback port that accepts TCP connections (the kernel's backlog) and says nothing."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock.getsockname()[1]
    sock.close()


# --- everything right ----------------------------------------------------------------------


def test_right_credentials_pass_every_check_with_a_round_trip(account: VaultAccount) -> None:
    report = _doctor(account, write=True)
    assert report.ok, report.to_dict()
    assert [c.name for c in report.checks] == [*BASE, "round_trip"]
    checks = _by_name(report)
    assert "127.0.0.1 is an IP address" in checks["auth_dns"][2]
    assert "accepts TCP connections" in checks["vault_tcp"][2]
    if account.ca_file is None:
        assert checks["auth_tls"][2] == checks["vault_tls"][2] == "not TLS (http URL)"
    else:
        assert "TLSv1" in checks["vault_tls"][2]
        assert "trusted" in checks["vault_tls"][2]
    assert "aliases:read" in checks["scopes"][2]
    assert "insert, retrieve and delete are allowed" in checks["scopes"][2]
    assert "within" in checks["clock_skew"][2]
    assert "it matched" in checks["round_trip"][2]
    assert "not card data" in checks["round_trip"][2]
    assert all(c.ms >= 0 for c in report.checks)
    _assert_explained(report)


def test_the_round_trip_leaves_nothing_behind_and_writes_no_card(
    http_account: VaultAccount,
) -> None:
    assert _doctor(http_account, write=True).ok
    service = http_account.service
    created = service.list_audit(http_account.vault_id, action="alias.create")
    deleted = service.list_audit(http_account.vault_id, action="alias.delete")
    assert len(created) == len(deleted) == 1
    alias = _by_name(_doctor(http_account, write=True))["round_trip"][2].rsplit("(", 1)[1][:-1]
    gone = _doctor(http_account, alias=alias, alias_storage=StorageType.PERSISTENT)
    assert _by_name(gone)["alias"][1] == "alias_not_found"  # deleted again


def test_without_write_the_doctor_writes_nothing(http_account: VaultAccount) -> None:
    report = _doctor(http_account)
    assert report.ok
    assert [c.name for c in report.checks] == BASE
    assert http_account.service.list_audit(http_account.vault_id, action="alias.create") == []


async def test_the_async_client_runs_the_same_checks(account: VaultAccount) -> None:
    async with AsyncVaultClient(_config(account)) as client:
        report = await run_doctor_async(
            client, _connector(account), account.oauth, DoctorOptions(write=True)
        )
    assert report.ok, report.to_dict()
    assert [c.name for c in report.checks] == [*BASE, "round_trip"]


def test_v1_basic_credentials_have_no_auth_host_and_no_scopes(account: VaultAccount) -> None:
    report = _doctor(account, account.basic, connector=_connector(account, "v1"), write=True)
    assert report.ok, report.to_dict()
    checks = _by_name(report)
    for name in ("auth_dns", "auth_tcp", "auth_tls"):
        assert "no auth host" in checks[name][2]
    assert "without an access token" in checks["scopes"][2]
    assert "no access token" in checks["clock_skew"][2]


# --- the seed's failure modes --------------------------------------------------------------


def test_wrong_secret_fails_the_token_and_skips_what_needs_it(http_account: VaultAccount) -> None:
    bad = SignatureKey(
        http_account.oauth.api_key, Secret("wrong-client-secret"), Secret(http_account.vault_id)
    )
    report = _doctor(http_account, bad, write=True, alias="tok_sandbox_whatever")
    assert not report.ok
    checks = _by_name(report)
    assert all(checks[name][0] for name in NETWORK)  # the hosts are fine
    ok, code, message, hint = checks["token"]
    assert (ok, code) == (False, "vault_authentication_failed")
    assert "HTTP 401" in message
    assert "Password (Key1)" in hint
    for name in ("scopes", "vault", "clock_skew", "round_trip", "alias"):
        assert checks[name][1] == "skipped", name
    assert report.first_failure is not None
    assert report.first_failure.name == "token"
    shown = _shown(report)
    assert "wrong-client-secret" not in shown
    assert http_account.oauth.api_key.reveal() not in shown
    _assert_explained(report)


def test_wrong_vault_id_is_vault_not_found_with_sandbox_versus_live(
    http_account: VaultAccount,
) -> None:
    other = SignatureKey(http_account.oauth.api_key, http_account.oauth.key1, Secret("tntzzzzzzzz"))
    report = _doctor(http_account, other, write=True)
    checks = _by_name(report)
    assert checks["token"][0]
    ok, code, message, hint = checks["vault"]
    assert (ok, code) == (False, "vault_not_found")
    assert "tntzzzzzzzz" in message
    assert "sandbox vault IDs do not work in live" in hint
    assert "vaultswitch vault list" in hint
    assert checks["round_trip"][1] == "skipped"
    assert http_account.oauth.key1.reveal() not in _shown(report)


def test_missing_scopes_name_the_flows_that_will_fail(http_account: VaultAccount) -> None:
    write_only = _service_account(http_account, "aliases:write")
    report = _doctor(http_account, write_only, write=True)
    checks = _by_name(report)
    ok, code, message, hint = checks["scopes"]
    assert (ok, code) == (False, "scope_missing")
    assert "aliases:read" in message
    assert "aliases:delete" in message
    assert "retrieve" in message
    assert "delete will fail" in message
    assert "insert" not in message.split("will fail")[0].split(":", 1)[1]  # insert works
    command = (
        f"vaultswitch vault service-account --vault {http_account.vault_id} "
        "--scopes aliases:read,aliases:write,aliases:delete"
    )
    assert command in hint
    # the probe gets 403: vault ID and credentials are right, reading is not allowed
    assert checks["vault"][0]
    assert "refuses to reveal" in checks["vault"][2]
    # the round trip: the insert works, the reveal and the delete are refused
    ok, code, message, _hint = checks["round_trip"]
    assert (ok, code) == (False, "vault_permission_denied")
    assert message.startswith("reveal failed")
    assert "was left in the vault" in message
    assert write_only.key1.reveal() not in _shown(report)
    _assert_explained(report)


def test_a_missing_delete_scope_fails_only_the_delete(http_account: VaultAccount) -> None:
    no_delete = _service_account(http_account, "aliases:read", "aliases:write")
    report = _doctor(http_account, no_delete, write=True)
    checks = _by_name(report)
    assert checks["scopes"][1] == "scope_missing"
    assert "aliases:delete" in checks["scopes"][2]
    assert "aliases:read" not in checks["scopes"][2].split("(granted")[0]
    ok, code, message, hint = checks["round_trip"]
    assert (ok, code) == (False, "vault_permission_denied")
    assert message.startswith("delete failed")
    assert "aliases:delete" in hint


def test_reveal_disabled_fails_the_round_trip_at_the_reveal(http_account: VaultAccount) -> None:
    http_account.service.set_reveal(http_account.vault_id, False)
    report = _doctor(http_account, write=True, alias="tok_sandbox_whatever")
    checks = _by_name(report)
    assert checks["scopes"][0]  # the scopes are all there
    assert checks["vault"][0]
    assert "refuses to reveal" in checks["vault"][2]
    ok, code, message, hint = checks["round_trip"]
    assert (ok, code) == (False, "vault_permission_denied")
    assert message.startswith("reveal failed")
    assert "was deleted again" in message
    assert f"vaultswitch vault reveal enable --vault {http_account.vault_id}" in hint
    ok, code, message, _hint = checks["alias"]
    assert (ok, code) == (False, "vault_permission_denied")
    assert "cannot be told" in message
    created = http_account.service.list_audit(http_account.vault_id, action="alias.create")
    deleted = http_account.service.list_audit(http_account.vault_id, action="alias.delete")
    assert len(created) == len(deleted) == 1


def test_a_stopped_vault_fails_tcp_for_both_hosts(
    http_account: VaultAccount, closed_port: int
) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    connector = _connector(http_account, vault_base_url=url + "/{vault_id}/", auth_base_url=url)
    report = _doctor(http_account, connector=connector, write=True)
    checks = _by_name(report)
    assert checks["auth_dns"][0]
    for stage in ("auth", "vault"):
        ok, code, message, hint = checks[f"{stage}_tcp"]
        assert (ok, code) == (False, "tcp_failed")
        assert "connection refused" in message
        assert f"127.0.0.1:{closed_port}" in message
        assert "vaultswitch up" in hint
        assert checks[f"{stage}_tls"][1] == "skipped"
    assert checks["token"][1] == "vault_unreachable"
    for name in ("scopes", "vault", "clock_skew", "round_trip"):
        assert checks[name][1] == "skipped"
    assert report.first_failure is not None
    assert report.first_failure.name == "auth_tcp"
    _assert_explained(report)


# --- aliases -------------------------------------------------------------------------------


def _persistent_alias(account: VaultAccount) -> str:
    with VaultClient(_config(account)) as client:
        connector = _connector(account)
        token = client.access_token(connector, account.oauth)
        call = connector.insert_field(account.oauth, token, "card_holder_name", Secret("Ada L"))
        alias: str = client.run(call, connector="vgs")
    return alias


def _volatile_alias(account: VaultAccount) -> str:
    with VaultClient(_config(account)) as client:
        connector = _connector(account)
        token = client.access_token(connector, account.oauth)
        alias: str = client.run(
            connector.insert_field(account.oauth, token, "card_cvc", Secret("123")),
            connector="vgs",
        )
    return alias


def test_an_existing_alias_passes_without_its_value_shown(http_account: VaultAccount) -> None:
    alias = _persistent_alias(http_account)
    report = _doctor(http_account, alias=alias)
    assert report.ok, report.to_dict()
    message = _by_name(report)["alias"][2]
    assert alias in message
    assert "PERSISTENT" in message
    assert "Ada L" not in _shown(report)


def test_an_unknown_alias_is_the_third_failure_mode_with_volatile_expiry(
    http_account: VaultAccount,
) -> None:
    report = _doctor(http_account, alias="tok_sandbox_nosuchaliasanywhere0000")
    ok, code, message, hint = _by_name(report)["alias"]
    assert (ok, code) == (False, "alias_not_found")
    assert "tok_sandbox_nosuchaliasanywhere0000" in message
    assert "PERSISTENT" in message
    assert "VOLATILE" in message  # the other storage was tried too
    assert "expired" in hint
    assert "TTL" in hint
    assert "sandbox aliases do not exist in live" in hint
    assert not report.ok
    _assert_explained(report)


def test_a_volatile_alias_read_as_persistent_says_where_it_is(
    http_account: VaultAccount,
) -> None:
    alias = _volatile_alias(http_account)
    report = _doctor(http_account, alias=alias)  # the connector reads PERSISTENT
    ok, code, message, hint = _by_name(report)["alias"]
    assert (ok, code) == (False, "alias_wrong_storage")
    assert "not in PERSISTENT storage" in message
    assert "it is in VOLATILE storage" in message
    assert f"vaultswitch doctor --alias {alias} --storage VOLATILE" in hint
    assert "expire" in hint
    _assert_explained(report)
    asked_volatile = _doctor(http_account, alias=alias, alias_storage=StorageType.VOLATILE)
    assert asked_volatile.ok, asked_volatile.to_dict()
    words = " ".join(c.message + " " + c.hint for c in asked_volatile.checks)
    assert "123" not in words.replace(alias, "")  # the CVC is never read out


def test_a_persistent_alias_read_as_volatile_says_where_it_is(
    http_account: VaultAccount,
) -> None:
    alias = _persistent_alias(http_account)
    report = _doctor(http_account, alias=alias, alias_storage=StorageType.VOLATILE)
    ok, code, message, _hint = _by_name(report)["alias"]
    assert (ok, code) == (False, "alias_wrong_storage")
    assert "it is in PERSISTENT storage" in message


# --- TLS -----------------------------------------------------------------------------------


@pytest.fixture
def tls_account(vault_settings: object, tmp_path: Path) -> Iterator[VaultAccount]:
    from e2e_support import serve_vault

    with serve_vault(vault_settings, tmp_path) as live:  # type: ignore[arg-type]
        yield live


def test_an_untrusted_certificate_fails_tls_and_names_the_ca_file(
    tls_account: VaultAccount,
) -> None:
    report = _doctor(tls_account, config=_config(None))  # the default trust store
    checks = _by_name(report)
    for stage in ("auth", "vault"):
        ok, code, message, hint = checks[f"{stage}_tls"]
        assert (ok, code) == (False, "tls_failed")
        assert "certificate not accepted" in message
        assert "vaultswitch doctor --ca-file FILE" in hint
    assert checks["token"][1] == "vault_unreachable"  # the client agrees
    assert report.first_failure is not None
    assert report.first_failure.name == "auth_tls"
    _assert_explained(report)


def test_an_https_url_on_a_plain_http_port_says_there_is_no_tls(
    http_account: VaultAccount,
) -> None:
    url = http_account.url.replace("http://", "https://")
    connector = _connector(http_account, vault_base_url=url + "/{vault_id}/", auth_base_url=url)
    report = _doctor(http_account, connector=connector)
    ok, code, message, hint = _by_name(report)["vault_tls"]
    assert (ok, code) == (False, "tls_failed")
    assert "no TLS on that port" in message
    assert "http://" in hint


# --- proxy ---------------------------------------------------------------------------------


def test_the_proxy_check_covers_reachability_and_the_ca_certificate(
    http_account: VaultAccount, listening_port: int, closed_port: int, tmp_path: Path
) -> None:
    tls = make_tls_files(tmp_path)
    ca_pem = tls.ca_file.read_text()
    proxy = f"http://US123:proxy-password-1@127.0.0.1:{listening_port}"
    good = _doctor(http_account, proxy_url=proxy, proxy_certificate=ca_pem)
    assert good.ok, good.to_dict()
    message = _by_name(good)["proxy"][2]
    assert f"127.0.0.1:{listening_port}" in message
    assert "vaultswitch test CA" in message
    down = _doctor(http_account, proxy_url=f"http://u:proxy-password-1@127.0.0.1:{closed_port}")
    ok, code, message, _hint = _by_name(down)["proxy"]
    assert (ok, code) == (False, "proxy_unreachable")
    assert "connection refused" in message
    not_ca = _doctor(http_account, proxy_url=proxy, proxy_certificate=tls.cert_file.read_text())
    assert _by_name(not_ca)["proxy"][1] == "proxy_certificate_invalid"
    assert "not a CA certificate" in _by_name(not_ca)["proxy"][2]
    garbage = _doctor(http_account, proxy_url=proxy, proxy_certificate="not a certificate")
    assert _by_name(garbage)["proxy"][1] == "proxy_certificate_invalid"
    for report in (good, down, not_ca, garbage):
        assert "proxy-password-1" not in _shown(report)
        assert [c.name for c in report.checks] == [*BASE, "proxy"]


# --- the command ---------------------------------------------------------------------------


def _cli(*args: str, secret: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULTSWITCH_")}
    env["COLUMNS"] = "200"
    if secret is not None:
        env["VAULTSWITCH_CLIENT_SECRET"] = secret
    return subprocess.run(
        [sys.executable, "-m", "vaultswitch.cli", "doctor", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def _raw_flags(account: VaultAccount, vault_id: str | None = None) -> list[str]:
    flags = [
        "--client-id",
        account.oauth.api_key.reveal(),
        "--vault-id",
        vault_id or account.vault_id,
        "--vault-base-url",
        account.url + "/{vault_id}/",
        "--auth-base-url",
        account.url + "/",
    ]
    if account.ca_file is not None:
        flags += ["--ca-file", str(account.ca_file)]
    return flags


def test_cli_json_with_the_secret_from_the_environment(account: VaultAccount) -> None:
    secret = account.oauth.key1.reveal()
    result = _cli(*_raw_flags(account), "--write", "--json", secret=secret)
    assert result.returncode == 0, result.stdout + result.stderr
    body = json.loads(result.stdout)
    assert set(body) == {"ok", "checks"}
    assert body["ok"] is True
    assert [c["name"] for c in body["checks"]] == [*BASE, "round_trip"]
    assert all(set(c) == {"name", "ok", "code", "message", "hint", "ms"} for c in body["checks"])
    assert secret not in result.stdout + result.stderr


def test_cli_wrong_secret_exits_1_with_the_failure_in_json(http_account: VaultAccount) -> None:
    result = _cli(*_raw_flags(http_account), "--json", "--client-secret", "wrong-secret-value")
    assert result.returncode == 1, result.stdout + result.stderr
    body = json.loads(result.stdout)
    assert body["ok"] is False
    token = next(c for c in body["checks"] if c["name"] == "token")
    assert token["code"] == "vault_authentication_failed"
    assert "wrong-secret-value" not in result.stdout + result.stderr


def test_cli_table_shows_each_check_and_the_fix_under_the_failure(
    http_account: VaultAccount,
) -> None:
    secret = http_account.oauth.key1.reveal()
    result = _cli(*_raw_flags(http_account, "tntzzzzzzzz"), secret=secret)
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    for name in BASE:
        assert name in out
    assert "✓" in out
    assert "✗ vault_not_found" in out
    assert "fix:" in out
    assert "sandbox vault IDs do not work in live" in " ".join(out.split())
    assert "Fix vault first" in out
    assert secret not in out + result.stderr
    assert http_account.oauth.api_key.reveal() not in out  # the client ID is redacted too


def test_cli_stopped_vault_exits_1(http_account: VaultAccount, closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    flags = [
        "--client-id",
        "ACwhatever",
        "--vault-id",
        http_account.vault_id,
        "--vault-base-url",
        url + "/{vault_id}/",
        "--auth-base-url",
        url + "/",
        "--json",
    ]
    result = _cli(*flags, secret="some-secret-value")
    assert result.returncode == 1, result.stdout + result.stderr
    codes = {c["name"]: c["code"] for c in json.loads(result.stdout)["checks"]}
    assert codes["auth_tcp"] == codes["vault_tcp"] == "tcp_failed"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--client-id", "ACx", "--vault-id", "tntabc12345"], "--client-secret"),
        (["--client-id", "ACx", "--client-secret", "s3cr3t-value"], "--vault-id"),
        (["--client-id", "ACx", "--client-secret", "s", "--vault-id", "nope"], "--vault-id"),
        (["mca_123", "--client-id", "ACx"], "not both"),
        (["mca_123", "--storage", "VOLATILE"], "--storage goes with --alias"),
        (["mca_123", "--alias", "a", "--storage", "SOMETIMES"], "PERSISTENT or VOLATILE"),
    ],
)
def test_cli_usage_errors_exit_2(args: list[str], words: str) -> None:
    result = _cli(*args, "--data-dir", "/nonexistent-vaultswitch-dir")
    assert result.returncode == 2, result.stdout + result.stderr
    assert words in " ".join(result.stderr.split())
    assert "hint:" in result.stderr
    assert result.stdout == ""
    assert "s3cr3t-value" not in result.stderr


class _CardsOnly(VaultConnector):
    """A connector whose insert takes cards only (no lone-field aliases): the VGS
    connector's card flows under another class, as a second provider would be."""

    name = "cards_only"
    accepted_credentials = (SignatureKey,)

    def __init__(self, inner: VgsConnector) -> None:
        self.inner = inner
        self.config = inner.config

    def check_credentials(self, credentials: Any) -> None:
        self.inner.check_credentials(credentials)

    def requires_access_token(self, credentials: Any) -> bool:
        return True

    def token_cache_key(self, credentials: Any) -> str:
        return "cards_only|" + self.inner.token_cache_key(credentials)

    def access_token(self, credentials: Any) -> Any:
        return self.inner.access_token(credentials)

    def insert(self, credentials: Any, token: Any, data: VaultRequestData) -> Any:
        return self.inner.insert(credentials, token, data)

    def retrieve(self, credentials: Any, token: Any, data: VaultRequestData) -> Any:
        return self.inner.retrieve(credentials, token, data)

    def delete(self, credentials: Any, token: Any, data: VaultRequestData) -> Any:
        return self.inner.delete(credentials, token, data)


def test_a_connector_that_stores_cards_only_round_trips_the_test_card(
    http_account: VaultAccount,
) -> None:
    connector = _CardsOnly(_connector(http_account))
    report = _doctor(http_account, connector=connector, write=True)  # type: ignore[arg-type]
    assert report.ok, report.to_dict()
    message = _by_name(report)["round_trip"][2]
    assert "test card 411111******1111" in message
    assert "stores cards only" in message
    assert "4111111111111111" not in _shown(report)
    deleted = http_account.service.list_audit(http_account.vault_id, action="alias.delete")
    assert len(deleted) == 1
