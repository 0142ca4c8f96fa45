"""The shared flow logic driven by hand: no sockets, scripted outcomes."""

from __future__ import annotations

import random
from collections.abc import Generator, Sequence
from typing import Any

import pytest

from vaultswitch.client import ClientConfig, Engine, RetryPolicy
from vaultswitch.client.engine import NeedToken, Send, Sleep, bind_credentials
from vaultswitch.client.logs import host_of, url_for_log
from vaultswitch.client.retry import FailureKind, TransportFailure
from vaultswitch.connectors.base import (
    AccessToken,
    BodyKey,
    Call,
    Credentials,
    Flow,
    HeaderKey,
    HttpRequest,
    HttpResponse,
    InsertResult,
    SingleVaultId,
    VaultConnector,
    VaultRequestData,
)
from vaultswitch.domain.errors import (
    MalformedVaultResponse,
    RateLimited,
    VaultswitchError,
    VaultUnavailable,
    WrongCredentialType,
)
from vaultswitch.domain.secret import Secret

CREDS = HeaderKey(Secret("api-key-value"))


class Scripted(VaultConnector):
    """A connector whose insert is one POST; the parser echoes statuses."""

    name = "scripted"
    accepted_credentials = (HeaderKey,)
    checks = 0

    def check_credentials(self, credentials: Credentials) -> None:
        type(self).checks += 1
        super().check_credentials(credentials)

    def requires_access_token(self, credentials: Credentials) -> bool:
        return True

    def token_cache_key(self, credentials: Credentials) -> str:
        return "scripted|key"

    def insert(
        self, credentials: Credentials, token: AccessToken | None, data: VaultRequestData
    ) -> Call[InsertResult]:
        assert token is not None
        request = HttpRequest(
            "POST",
            "https://vault.example/aliases?x=1",
            Flow.INSERT,
            headers={"Authorization": "Bearer " + token.token.reveal()},
            retry_safe=False,
            uses_access_token=True,
        )

        def parse(responses: Sequence[HttpResponse]) -> InsertResult:
            (response,) = responses
            if response.status == 429:
                raise RateLimited("slow down")
            if response.status != 201:
                raise VaultUnavailable(f"HTTP {response.status}")
            return InsertResult(SingleVaultId("tok_1"), "tok_1")

        return Call((request,), parse)


def token(value: str) -> AccessToken:
    return AccessToken(Secret(value), "Bearer", 2e9)


def drive(steps: Generator[Any, Any, Any], outcomes: list[Any]) -> tuple[Any, list[Any]]:
    """Run a step generator: Send gets the next scripted outcome, NeedToken a new token."""
    seen: list[Any] = []
    value: Any = None
    tokens = iter(["t1", "t2", "t3"])
    while True:
        try:
            op = steps.send(value)
        except StopIteration as stop:
            return stop.value, seen
        seen.append(op)
        if isinstance(op, Send):
            value = outcomes.pop(0)
        elif isinstance(op, Sleep):
            value = None
        else:
            assert isinstance(op, NeedToken)
            value = token(next(tokens))


def engine(attempts: int = 3) -> Engine:
    return Engine(RetryPolicy(attempts=attempts, base_delay=0.01), random.Random(1).random)


def test_a_401_yields_one_token_refetch_with_the_stale_token() -> None:
    result, ops = drive(
        engine().insert(Scripted(), CREDS, VaultRequestData()),
        [HttpResponse(401), HttpResponse(201)],
    )
    assert result.fingerprint_id == "tok_1"
    kinds = [type(op).__name__ for op in ops]
    assert kinds == ["NeedToken", "Send", "NeedToken", "Send"]
    assert ops[2].stale.token.reveal() == "t1"
    assert ops[3].request.headers["Authorization"] == "Bearer t2"


def test_a_second_401_goes_to_the_parser() -> None:
    with pytest.raises(VaultUnavailable, match="HTTP 401"):
        drive(
            engine().insert(Scripted(), CREDS, VaultRequestData()),
            [HttpResponse(401), HttpResponse(401)],
        )


def test_429_then_success_sleeps_for_retry_after() -> None:
    _result, ops = drive(
        engine().insert(Scripted(), CREDS, VaultRequestData()),
        [HttpResponse(429, {"retry-after": "1.5"}), HttpResponse(201)],
    )
    sleeps = [op.seconds for op in ops if isinstance(op, Sleep)]
    assert sleeps == [1.5]


def test_rate_limited_gets_retry_after_and_trace_id_from_the_response() -> None:
    headers = {"retry-after": "60", "vgs-request-id": "abc123"}
    with pytest.raises(RateLimited) as info:
        drive(engine().insert(Scripted(), CREDS, VaultRequestData()), [HttpResponse(429, headers)])
    assert info.value.retry_after == 60.0
    assert info.value.trace_id == "abc123"
    assert info.value.upstream_status == 429


def test_transport_failure_on_a_create_is_final_unless_not_sent() -> None:
    lost = TransportFailure(FailureKind.CONNECTION_LOST)
    with pytest.raises(VaultUnavailable) as info:
        drive(engine().insert(Scripted(), CREDS, VaultRequestData()), [lost])
    assert "vault.example" in info.value.message
    assert "x=1" not in info.value.message
    refused = TransportFailure(FailureKind.CONNECT)
    result, ops = drive(
        engine().insert(Scripted(), CREDS, VaultRequestData()), [refused, HttpResponse(201)]
    )
    assert result.fingerprint_id == "tok_1"
    assert sum(isinstance(op, Sleep) for op in ops) == 1


def test_decoding_failure_is_malformed_vault_response() -> None:
    with pytest.raises(MalformedVaultResponse):
        drive(
            engine().insert(Scripted(), CREDS, VaultRequestData()),
            [TransportFailure(FailureKind.DECODING)],
        )


def test_parser_bugs_become_malformed_vault_response_without_their_text() -> None:
    def parse(_responses: Sequence[HttpResponse]) -> int:
        raise KeyError("4111111111111111")

    call = Call((HttpRequest("GET", "https://v.example/a", Flow.RETRIEVE),), parse)
    with pytest.raises(MalformedVaultResponse) as info:
        drive(engine().run(call, "custom"), [HttpResponse(200)])
    assert "4111" not in str(info.value)
    assert "KeyError" in info.value.message
    assert info.value.__cause__ is None


def test_builder_bugs_become_vaultswitch_errors_without_their_text() -> None:
    class Broken(Scripted):
        def insert(self, *args: Any) -> Call[InsertResult]:
            raise ValueError("secret-in-message")

    with pytest.raises(VaultswitchError) as info:
        drive(engine().insert(Broken(), CREDS, VaultRequestData()), [])
    assert "secret-in-message" not in str(info.value)
    assert "ValueError" in str(info.value)


def test_credentials_are_checked_once_per_pair_and_failures_are_not_remembered() -> None:
    eng = engine()
    connector = Scripted()
    Scripted.checks = 0
    for _ in range(3):
        drive(eng.insert(connector, CREDS, VaultRequestData()), [HttpResponse(201)])
    assert Scripted.checks == 1
    wrong = BodyKey(Secret("a"), Secret("b"))
    for _ in range(2):
        with pytest.raises(WrongCredentialType):
            drive(eng.insert(connector, wrong, VaultRequestData()), [])
    assert Scripted.checks == 3


def test_token_key_binds_every_credential_value() -> None:
    one = bind_credentials("k", HeaderKey(Secret("a")))
    assert one == bind_credentials("k", HeaderKey(Secret("a")))
    assert one != bind_credentials("k", HeaderKey(Secret("b")))
    assert one != bind_credentials("k2", HeaderKey(Secret("a")))
    assert len(one) == 64


def test_empty_call_is_parsed_without_sending() -> None:
    result, ops = drive(engine().run(Call((), lambda r: len(r)), "custom"), [])
    assert result == 0
    assert ops == []


def test_url_and_host_helpers_drop_user_info_and_query() -> None:
    url = "https://user:pw@vault.example:8443/tnt/aliases/tok?storage=VOLATILE#f"
    assert url_for_log(url) == "https://vault.example:8443/tnt/aliases/tok"
    assert host_of(url) == "vault.example:8443"
    assert url_for_log("http://[::1]:80/x") == "http://[::1]:80/x"
    assert host_of("http://[bad") == "<invalid url>"


def test_config_validation_and_httpx_options(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="read_timeout"):
        ClientConfig(read_timeout=0)
    with pytest.raises(ValueError, match="max_connections"):
        ClientConfig(max_connections=0)
    with pytest.raises(ValueError, match="CA bundle"):
        ClientConfig(verify=str(tmp_path / "missing.pem"))
    options = ClientConfig(connect_timeout=1, read_timeout=2, max_connections=7).httpx_options()
    assert options["timeout"].connect == 1
    assert options["timeout"].read == 2
    assert options["limits"].max_connections == 7
    assert options["follow_redirects"] is False
