"""The connection test's own logic: report shape, ordering and skipping, redaction, the
sync and async drivers, failure diagnosis. No sockets: steps are plain generators, and the
only client calls are calls with no request."""

from __future__ import annotations

import contextlib
import re
import threading
from typing import Any

import pytest

from vaultswitch.client import AsyncVaultClient, ClientConfig, VaultClient
from vaultswitch.client.checks import (
    CONNECTION_CHECKS,
    Blocking,
    Check,
    CheckContext,
    CheckReport,
    CheckStep,
    Outcome,
    RunCall,
    StepRun,
    Target,
    check_connection,
    check_connection_async,
    diagnose,
    failure_kind,
    probe_alias,
    target_for,
    validate_steps,
)
from vaultswitch.client.engine import transport_error
from vaultswitch.client.retry import FailureKind, TransportFailure
from vaultswitch.connectors.base import Call, Flow, HttpRequest, SignatureKey
from vaultswitch.connectors.vgs import VgsConnector
from vaultswitch.domain.errors import (
    PermissionDenied,
    RateLimited,
    VaultAuthenticationFailed,
    VaultNotFound,
    VaultUnavailable,
)
from vaultswitch.domain.secret import Secret
from vaultswitch.troubleshooting import find_entries

CLIENT_ID = "client-id-0001"
CLIENT_SECRET = "client-secret-0001"
VAULT_ID = "tntabc12345"
CREDS = SignatureKey(Secret(CLIENT_ID), Secret(CLIENT_SECRET), Secret(VAULT_ID))
LOCAL = VgsConnector(
    vault_base_url="http://127.0.0.1:9/{vault_id}/", auth_base_url="http://127.0.0.1:9/"
)


def _passing(name: str, needs: tuple[str, ...] = ()) -> CheckStep:
    def run(ctx: CheckContext) -> StepRun:
        return Outcome.passed(f"{name} fine")
        yield  # a generator that yields nothing

    return CheckStep(name, run, needs)


def _failing(name: str, code: str = "vault_not_found", needs: tuple[str, ...] = ()) -> CheckStep:
    def run(ctx: CheckContext) -> StepRun:
        return Outcome.failed(code, f"{name} broke", f"fix {name}")
        yield

    return CheckStep(name, run, needs)


def _run(*steps: CheckStep) -> CheckReport:
    with VaultClient(ClientConfig(trust_env=False)) as client:
        return check_connection(client, LOCAL, CREDS, checks=steps)


# --- report --------------------------------------------------------------------------------


def test_to_dict_has_exactly_the_documented_keys() -> None:
    report = _run(_passing("token"), _failing("vault", needs=("token",)))
    body = report.to_dict()
    assert list(body) == ["ok", "checks"]
    assert [list(check) for check in body["checks"]] == [
        ["name", "ok", "code", "message", "hint", "ms"]
    ] * 2
    assert body["ok"] is False
    assert body["checks"][0] == {
        "name": "token",
        "ok": True,
        "code": "ok",
        "message": "token fine",
        "hint": "",
        "ms": body["checks"][0]["ms"],
    }
    assert isinstance(body["checks"][0]["ms"], float)
    assert body["checks"][1]["hint"] == "fix vault"


def test_report_is_ok_only_when_every_check_passed() -> None:
    assert _run(_passing("a"), _passing("b")).ok
    assert not _run(_passing("a"), _failing("b")).ok
    assert not CheckReport.of(()).ok  # no check proves nothing


def test_a_check_whose_need_failed_is_skipped_and_the_others_still_run() -> None:
    report = _run(
        _failing("token", "vault_authentication_failed"),
        _passing("vault", needs=("token",)),
        _passing("clock"),
        _passing("alias", needs=("token", "clock")),
    )
    codes = [(c.name, c.ok, c.code) for c in report.checks]
    assert codes == [
        ("token", False, "vault_authentication_failed"),
        ("vault", False, "skipped"),
        ("clock", True, "ok"),
        ("alias", False, "skipped"),
    ]
    vault = report.get("vault")
    assert vault is not None
    assert vault.message == "not run: the token check did not pass"
    assert (vault.hint, vault.ms) == ("", 0.0)
    assert report.first_failure is report.checks[0]


def test_a_skipped_check_is_skipped_again_downstream() -> None:
    report = _run(_failing("a"), _passing("b", needs=("a",)), _passing("c", needs=("b",)))
    assert [c.code for c in report.checks] == ["vault_not_found", "skipped", "skipped"]


def test_malformed_lists_of_checks_are_refused() -> None:
    with pytest.raises(ValueError, match="two checks"):
        validate_steps([_passing("a"), _passing("a")])
    with pytest.raises(ValueError, match="needs 'token'"):
        validate_steps([_passing("vault", needs=("token",)), _passing("token")])
    validate_steps(CONNECTION_CHECKS)
    assert [s.name for s in CONNECTION_CHECKS] == ["token", "vault"]


# --- safety --------------------------------------------------------------------------------


def test_messages_and_hints_never_carry_credentials_tokens_or_card_numbers() -> None:
    def leaky(ctx: CheckContext) -> StepRun:
        return Outcome.failed(
            "vault_not_found",
            f"{CLIENT_ID} / {CLIENT_SECRET} on {VAULT_ID}: 4111111111111111",
            f"secret was {CLIENT_SECRET}; Bearer abcdefghijklmnop",
        )
        yield

    check = _run(CheckStep("leak", leaky)).checks[0]
    shown = f"{check.message} {check.hint} {check!r}"
    assert CLIENT_ID not in shown
    assert CLIENT_SECRET not in shown
    assert "4111111111111111" not in shown
    assert "abcdefghijklmnop" not in shown
    assert VAULT_ID in check.message  # an identifier, shown so the user sees which vault


def test_an_unexpected_exception_becomes_an_internal_error_without_its_text() -> None:
    def broken(ctx: CheckContext) -> StepRun:
        raise KeyError(f"{CLIENT_SECRET} 4111111111111111")
        yield

    report = _run(CheckStep("broken", broken), _passing("after", needs=("broken",)))
    check = report.checks[0]
    assert (check.ok, check.code) == (False, "internal_error")
    assert check.message == "the broken check failed inside vaultswitch (KeyError)"
    assert check.hint
    assert report.checks[1].code == "skipped"


def test_context_repr_shows_no_credentials() -> None:
    ctx = CheckContext(LOCAL, CREDS)
    ctx.results["token"] = Check("token", True, "ok", "fine", "", 1.0)
    assert repr(ctx) == "CheckContext(connector=vgs, results=[token=ok])"


# --- drivers -------------------------------------------------------------------------------


def _thread_step(seen: list[int]) -> CheckStep:
    def run(ctx: CheckContext) -> StepRun:
        ident = yield Blocking(threading.get_ident)
        seen.append(ident)
        with contextlib.suppress(ZeroDivisionError):
            yield Blocking(lambda: 1 / 0)
        answer = yield RunCall(Call((), lambda responses: 42), "none")
        ctx.facts["answer"] = answer
        return Outcome.passed(f"answer {answer}")

    return CheckStep("threads", run)


def test_sync_driver_runs_blocking_calls_inline_and_throws_their_errors_in() -> None:
    seen: list[int] = []
    report = _run(_thread_step(seen))
    assert report.ok, report.to_dict()
    assert report.checks[0].message == "answer 42"
    assert seen == [threading.get_ident()]


async def test_async_driver_runs_blocking_calls_in_a_worker_thread() -> None:
    seen: list[int] = []
    async with AsyncVaultClient(ClientConfig(trust_env=False)) as client:
        report = await check_connection_async(client, LOCAL, CREDS, checks=[_thread_step(seen)])
    assert report.ok, report.to_dict()
    assert seen
    assert seen[0] != threading.get_ident()


def test_v1_token_check_sends_nothing() -> None:
    v1 = VgsConnector(api_version="v1", v1_base_url="http://127.0.0.1:9/")
    with VaultClient(ClientConfig(trust_env=False)) as client:
        report = check_connection(client, v1, CREDS, checks=CONNECTION_CHECKS[:1])
    assert report.ok
    assert "no access token needed" in report.checks[0].message


# --- probe alias and targets ---------------------------------------------------------------


def test_probe_alias_is_a_fresh_well_formed_uuid_alias() -> None:
    shape = re.compile(r"tok_sandbox_[1-9A-HJ-NP-Za-km-z]{22}")
    first, second = probe_alias(LOCAL), probe_alias(LOCAL)
    assert shape.fullmatch(first)
    assert shape.fullmatch(second)
    assert first != second
    assert probe_alias(VgsConnector(environment="live")).startswith("tok_live_")


def test_target_tells_vgs_hosts_from_our_vault() -> None:
    vgs = VgsConnector()
    url = "https://tntabc12345.sandbox.vault-api.verygoodvault.com/aliases/x"
    real = target_for(vgs, CREDS, "vault", url)
    assert real == Target(
        stage="vault",
        host="tntabc12345.sandbox.vault-api.verygoodvault.com",
        setting="vault_base_url",
        api_version="v2",
        vault_id=VAULT_ID,
        environment="sandbox",
        own_vault=False,
        host_has_vault_id=True,
    )
    ours = target_for(LOCAL, CREDS, "token", "http://127.0.0.1:9/auth/realms/vgs/x")
    assert (ours.host, ours.setting, ours.own_vault, ours.host_has_vault_id) == (
        "127.0.0.1:9",
        "auth_base_url",
        True,
        False,
    )
    v1 = target_for(VgsConnector(api_version="v1"), CREDS, "vault", "https://api.x/aliases")
    assert (v1.setting, v1.api_version) == ("v1_base_url", "v1")


# --- diagnosis -----------------------------------------------------------------------------

VGS_VAULT = Target(
    "vault",
    "tntabc12345.sandbox.vault-api.verygoodvault.com",
    "vault_base_url",
    vault_id=VAULT_ID,
    environment="sandbox",
    host_has_vault_id=True,
)
OUR_VAULT = Target(
    "vault",
    "127.0.0.1:8220",
    "vault_base_url",
    vault_id=VAULT_ID,
    environment="sandbox",
    own_vault=True,
)
OUR_AUTH = Target("token", "127.0.0.1:8220", "auth_base_url", vault_id=VAULT_ID, own_vault=True)


def _unreachable(
    kind: FailureKind, host: str = "tntabc12345.sandbox.vault-api.verygoodvault.com"
) -> Any:
    request = HttpRequest("GET", f"https://{host}/aliases/x", Flow.RETRIEVE)
    return transport_error(request, TransportFailure(kind), 3, "vgs")


@pytest.mark.parametrize("kind", list(FailureKind))
def test_failure_kind_is_recovered_from_the_clients_transport_error(kind: FailureKind) -> None:
    exc = _unreachable(kind)
    expected = None if kind is FailureKind.DECODING else kind  # that one is malformed
    assert failure_kind(exc) is expected


def test_a_vault_that_answered_5xx_is_not_a_network_failure() -> None:
    assert failure_kind(VaultUnavailable("HTTP 503", upstream_status=503)) is None
    assert failure_kind(VaultNotFound()) is None


def test_network_failures_name_the_host_the_setting_and_the_vault_id_trap() -> None:
    refused = diagnose(_unreachable(FailureKind.CONNECT), VGS_VAULT)
    assert refused.code == "vault_unreachable"
    assert "tntabc12345.sandbox.vault-api.verygoodvault.com" in refused.message
    assert "vault_base_url" in refused.hint
    assert "DNS" in refused.hint
    assert "Vault ID (API Secret)" in refused.hint  # the host is built from it
    assert "vaultswitch up" not in refused.hint  # a VGS host: not ours to start
    local = diagnose(_unreachable(FailureKind.CONNECT, "127.0.0.1:8220"), OUR_AUTH)
    assert "vaultswitch up" in local.hint
    assert "Vault ID" not in local.hint
    tls = diagnose(_unreachable(FailureKind.TLS), VGS_VAULT)
    assert "ClientConfig.verify" in tls.hint
    slow = diagnose(_unreachable(FailureKind.READ_TIMEOUT), VGS_VAULT)
    assert "did not answer in time" in slow.hint
    assert "Vault ID" not in slow.hint  # it connected: the host exists


def test_each_failure_mode_has_its_own_fix() -> None:
    oauth = diagnose(VaultAuthenticationFailed("401"), OUR_AUTH)
    assert "Username (API Key)" in oauth.hint
    assert "Password (Key1)" in oauth.hint
    assert "scopes" in oauth.hint
    assert f"`vaultswitch vault service-account --vault {VAULT_ID}`" in oauth.hint
    oauth_vgs = diagnose(VaultAuthenticationFailed("401"), Target("token", "auth", "auth_base_url"))
    assert "vaultswitch" not in oauth_vgs.hint

    missing = diagnose(VaultNotFound("404", trace_id="abc"), VGS_VAULT)
    assert missing.code == "vault_not_found"
    assert "sandbox vault IDs do not work in live and vice versa" in missing.hint
    assert missing.message.endswith("(trace id: abc)")
    assert "`vaultswitch vault list`" in diagnose(VaultNotFound(), OUR_VAULT).hint

    denied = diagnose(PermissionDenied("403"), OUR_VAULT)
    assert f"`vaultswitch vault reveal enable --vault {VAULT_ID}`" in denied.hint
    assert "VGS Support" in diagnose(PermissionDenied("403"), VGS_VAULT).hint

    limited = diagnose(RateLimited("429", retry_after=12.0), VGS_VAULT)
    assert (limited.code, "wait 12 s" in limited.hint) == ("vault_rate_limited", True)

    down = diagnose(VaultUnavailable("HTTP 502", upstream_status=502), VGS_VAULT)
    assert down.code == "vault_unavailable"
    assert "transient" in down.hint


def test_every_code_a_check_can_report_is_in_the_catalogue() -> None:
    for code in (
        "ok",
        "skipped",
        "vault_unreachable",
        "vault_authentication_failed",
        "vault_not_found",
        "vault_permission_denied",
        "vault_rate_limited",
        "vault_unavailable",
        "malformed_vault_response",
        "internal_error",
        "invalid_connector_credentials",
    ):
        assert find_entries(code), code
