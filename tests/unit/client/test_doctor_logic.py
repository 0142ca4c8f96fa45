"""Doctor's own logic without a vault: JWT claims read unverified, scopes against the flows,
clock skew against iat, DNS failures (an injected resolver), URLs, certificates, and the
command's rendering of a report."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import socket
import time
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from rich.console import Console

from vaultswitch.client import ClientConfig, VaultClient
from vaultswitch.client.checks import (
    Check,
    CheckContext,
    CheckReport,
    check_connection,
    claims,
    network,
)
from vaultswitch.client.checks.doctor import CHECK_NAMES, DoctorOptions, doctor_checks
from vaultswitch.client.checks.doctor_token import clock_skew_outcome, scopes_check
from vaultswitch.connectors.base import AccessToken, AccessTokenGrant, SignatureKey
from vaultswitch.connectors.vgs import VgsConnector
from vaultswitch.domain.secret import Secret
from vaultswitch.ops.doctor import render, report_json, report_of
from vaultswitch.troubleshooting import find_entries

CREDS = SignatureKey(Secret("client-id-0001"), Secret("client-secret-0001"), Secret("tntabc12345"))


def _jwt(**claims_: Any) -> str:
    return jwt.encode(claims_, "a-test-signing-key-of-32-bytes!!", algorithm="HS256")


def _ctx(token: str, scope: str | None = None, received: float | None = None) -> CheckContext:
    ctx = CheckContext(VgsConnector(), CREDS)
    ctx.grant = AccessTokenGrant(Secret(token), "Bearer", 300, scope)
    received = time.time() if received is None else received
    ctx.token = AccessToken(Secret(token), "Bearer", received + 300)
    return ctx


# --- JWT claims ----------------------------------------------------------------------------


def test_jwt_payload_is_read_without_the_key() -> None:
    token = _jwt(iat=1_700_000_000, scope="aliases:read aliases:write", azp="AC1")
    assert claims.jwt_payload(token) == {
        "iat": 1_700_000_000,
        "scope": "aliases:read aliases:write",
        "azp": "AC1",
    }


@pytest.mark.parametrize(
    "token",
    [
        "opaque-token-value",
        "a.b",
        "a..c",
        "a.!!!notbase64!!!.c",
        "a." + base64.urlsafe_b64encode(b"[1, 2]").decode().rstrip("=") + ".c",
        "a." + base64.urlsafe_b64encode(b"not json").decode().rstrip("=") + ".c",
        "a." + base64.urlsafe_b64encode(b"\xff\xfe").decode().rstrip("=") + ".c",
    ],
)
def test_a_token_that_is_not_a_jwt_has_no_claims(token: str) -> None:
    assert claims.jwt_payload(token) is None


def test_scopes_come_from_the_token_answer_first_then_the_claims() -> None:
    payload = {"scope": "aliases:read", "scp": ["aliases:write"]}
    assert claims.granted_scopes("aliases:delete", payload) == {"aliases:delete"}
    assert claims.granted_scopes(None, payload) == {"aliases:read"}
    assert claims.granted_scopes("  ", {"scp": ["aliases:write"]}) == {"aliases:write"}
    assert claims.granted_scopes(None, {"scope": 7}) is None
    assert claims.granted_scopes(None, {}) is None
    assert claims.granted_scopes(None, None) is None


@pytest.mark.parametrize(
    ("scopes", "failing"),
    [
        ({"aliases:read", "aliases:write", "aliases:delete"}, []),
        ({"aliases:write"}, [("retrieve", "aliases:read"), ("delete", "aliases:delete")]),
        ({"aliases:read", "aliases:write"}, [("delete", "aliases:delete")]),
        ({"aliases:read"}, [("insert", "aliases:write"), ("delete", "aliases:delete")]),
        ({"openid"}, [(f, s) for f, s in claims.FLOW_SCOPES]),
        ({"aliases:*"}, []),
    ],
)
def test_each_flow_needs_its_scope(scopes: set[str], failing: list[tuple[str, str]]) -> None:
    assert claims.failing_flows(scopes) == failing


def test_the_scopes_check_names_the_flows_that_will_fail() -> None:
    outcome = scopes_check(_ctx(_jwt(scope="aliases:read aliases:write aliases:delete")))
    assert outcome.ok
    outcome = scopes_check(_ctx(_jwt(scope="aliases:write")))  # no scope in the token answer
    assert (outcome.ok, outcome.code) == (False, "scope_missing")
    assert "aliases:read, aliases:delete" in outcome.message
    assert "retrieve (reveal for payments) and delete will fail" in outcome.message
    assert "VGS" in outcome.hint  # VGS's default hosts: not our vault's commands
    answer_wins = scopes_check(_ctx(_jwt(scope="aliases:write"), scope="aliases:read"))
    assert "insert (saving cards) and delete will fail" in answer_wins.message
    unknown = scopes_check(_ctx("opaque-token"))
    assert unknown.ok
    assert "does not say which scopes" in unknown.message
    assert "vaultswitch doctor --write" in unknown.hint


def test_issued_at_is_a_number_or_nothing() -> None:
    assert claims.issued_at({"iat": 1_700_000_000}) == 1_700_000_000.0
    assert claims.issued_at({"iat": 1.5}) == 1.5
    for bad in ({"iat": "1700000000"}, {"iat": True}, {"iat": float("nan")}, {}, None):
        assert claims.issued_at(bad) is None


# --- clock skew ----------------------------------------------------------------------------


def test_clock_skew_within_the_limit_passes() -> None:
    outcome = clock_skew_outcome(1000.0, 1030.0, 60.0)
    assert outcome.ok
    assert "within 30 s" in outcome.message


@pytest.mark.parametrize(("received", "direction"), [(1200.0, "ahead of"), (800.0, "behind")])
def test_clock_skew_beyond_the_limit_fails_with_a_fix(received: float, direction: str) -> None:
    outcome = clock_skew_outcome(1000.0, received, 60.0)
    assert (outcome.ok, outcome.code) == (False, "clock_skew")
    assert f"200 s {direction} the auth host's" in outcome.message
    assert "NTP" in outcome.hint
    assert find_entries("clock_skew")


def test_the_clock_check_reads_iat_and_skips_tokens_without_one() -> None:
    steps = {s.name: s for s in doctor_checks()}
    run = steps["clock_skew"].run

    def outcome(ctx: CheckContext) -> Any:
        gen = run(ctx)
        with pytest.raises(StopIteration) as stop:
            next(gen)
        return stop.value.value

    now = float(int(time.time()))
    assert outcome(_ctx(_jwt(iat=int(now)), received=now)).ok
    skewed = outcome(_ctx(_jwt(iat=int(now) - 600), received=now))
    assert skewed.code == "clock_skew"
    assert "600 s ahead of" in skewed.message
    opaque = outcome(_ctx("opaque-token"))
    assert opaque.ok
    assert "not a JWT" in opaque.message
    assert "no iat" in outcome(_ctx(_jwt(sub="x"))).message


# --- the list of checks --------------------------------------------------------------------


def test_the_checks_follow_the_options_in_order() -> None:
    names = [s.name for s in doctor_checks()]
    assert names == list(CHECK_NAMES[:10])
    every = DoctorOptions(write=True, alias="tok_x", proxy_url="http://127.0.0.1:9")
    assert [s.name for s in doctor_checks(every)] == list(CHECK_NAMES)
    assert [s.name for s in doctor_checks(DoctorOptions(alias="  "))] == list(CHECK_NAMES[:10])


def test_options_take_the_proxy_from_account_metadata_and_hide_it() -> None:
    options = DoctorOptions.for_account(
        {"proxy_url": "https://US1:pass-word-9@proxy.example:8443", "certificate": "  "},
        write=True,
    )
    assert options.proxy_url == "https://US1:pass-word-9@proxy.example:8443"
    assert options.proxy_certificate is None
    assert options.write
    assert "pass-word-9" not in repr(options)
    assert DoctorOptions.for_account(None).proxy_url is None


# --- DNS without a DNS server --------------------------------------------------------------


def _resolver(error: bool) -> network.Resolver:
    def resolve(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        if error:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.7", port))] * 2

    return resolve


def _dns_only(resolver: network.Resolver, connector: VgsConnector) -> CheckReport:
    steps = [s for s in doctor_checks(DoctorOptions(resolver=resolver)) if s.name.endswith("dns")]
    with VaultClient(ClientConfig(trust_env=False)) as client:
        return check_connection(client, connector, CREDS, checks=steps)


def test_a_vault_host_that_does_not_resolve_points_at_the_vault_id() -> None:
    report = _dns_only(_resolver(error=True), VgsConnector())  # VGS's default hosts
    auth, vault = report.checks
    assert (auth.ok, auth.code) == (False, "dns_failed")
    assert "auth.verygoodsecurity.com does not resolve" in auth.message
    assert "Vault ID" not in auth.hint
    assert (vault.ok, vault.code) == (False, "dns_failed")
    assert "tntabc12345.sandbox.vault-api.verygoodvault.com" in vault.message
    assert "sandbox vault IDs do not work in live" in vault.hint
    assert "vault_base_url" in vault.hint
    assert "client-secret-0001" not in json.dumps(report.to_dict())


def test_a_resolving_host_lists_its_addresses_once() -> None:
    report = _dns_only(_resolver(error=False), VgsConnector())
    assert report.ok
    assert report.checks[1].message.endswith("resolves to 192.0.2.7")


def test_a_malformed_vault_id_fails_the_first_check_naming_the_field() -> None:
    bad = SignatureKey(Secret("client-id-0001"), Secret("client-secret-0001"), Secret("nope"))
    steps = list(doctor_checks(DoctorOptions(resolver=_resolver(error=False))))[:1]
    with VaultClient(ClientConfig(trust_env=False)) as client:
        report = check_connection(client, VgsConnector(), bad, checks=steps)
    assert report.checks[0].code == "invalid_connector_credentials"
    assert "tnt" in report.checks[0].hint


# --- URLs and certificates -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://auth.example/", ("https", "auth.example", 443)),
        ("http://127.0.0.1:8220/tntabc12345/", ("http", "127.0.0.1", 8220)),
        ("https://u:p@[::1]:8443", ("https", "::1", 8443)),
        ("ftp://nowhere", None),
        ("http://:80/", None),
        ("http://host:notaport/", None),
    ],
)
def test_endpoint_of(url: str, expected: tuple[str, str, int] | None) -> None:
    endpoint = network.endpoint_of(url)
    if expected is None:
        assert endpoint is None
    else:
        assert endpoint is not None
        assert (endpoint.scheme, endpoint.host, endpoint.port) == expected
        assert "p@" not in repr(endpoint)


def _certificate(ca: bool | None) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "proxy CA")])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
    )
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), True)
    return builder.sign(key, hashes.SHA256())


def test_a_certificate_parses_as_pem_or_base64_of_pem_or_der() -> None:
    cert = _certificate(ca=True)
    pem = cert.public_bytes(serialization.Encoding.PEM)
    der = cert.public_bytes(serialization.Encoding.DER)
    for text in (
        pem.decode(),
        base64.b64encode(pem).decode(),
        base64.b64encode(der).decode(),
        "\n".join(base64.encodebytes(der).decode().split()),
    ):
        parsed = network.load_certificate(text)
        assert parsed.subject == "proxy CA"
        assert parsed.is_ca
    assert not network.load_certificate(
        base64.b64encode(_certificate(ca=False).public_bytes(serialization.Encoding.DER)).decode()
    ).is_ca
    for garbage in ("not a certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n", "QUJD"):
        with pytest.raises(ValueError):  # noqa: PT011 (cryptography's messages vary)
            network.load_certificate(garbage)


# --- the command's output ------------------------------------------------------------------


def _report() -> CheckReport:
    return CheckReport.of(
        (
            Check("token", True, "ok", "issued", "", 9.6),
            Check("vault", False, "vault_not_found", "no [bold]vault[/bold]", "check the ID", 4.0),
            Check("clock_skew", False, "skipped", "not run", "", 0.0),
        )
    )


def test_json_output_is_exactly_the_report() -> None:
    text = report_json(_report())
    body = json.loads(text)
    assert set(body) == {"ok", "checks"}
    assert body["ok"] is False
    assert report_of(body) == _report()
    with pytest.raises(ValueError, match="not a report"):
        report_of({"ok": True})


def test_the_table_shows_the_fix_under_a_failure_and_no_markup_from_messages() -> None:
    out = io.StringIO()
    render(_report(), "vault tntabc12345", Console(file=out, width=160, color_system=None))
    text = out.getvalue()
    assert "✓" in text
    assert "✗ vault_not_found" in text
    assert "- skipped" in text
    assert "fix: check the ID" in text
    assert "no [bold]vault[/bold]" in text  # shown as written, not as markup
    assert "1 of 3 checks failed, 1 skipped" in text
    assert "vaultswitch explain vault_not_found" in text
