"""The sandbox processor connector as plain functions: request values in, results out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from vaultswitch.connectors.base import HeaderKey, HttpResponse, SignatureKey
from vaultswitch.domain.cards import Card
from vaultswitch.domain.errors import InvalidRequest, WrongCredentialType
from vaultswitch.domain.secret import Secret
from vaultswitch.orchestrator.processors.base import (
    AuthorizeData,
    AuthorizeResult,
    AuthorizeStatus,
    ProcessorFlow,
)
from vaultswitch.orchestrator.processors.errors import (
    MalformedProcessorResponse,
    ProcessorAuthenticationFailed,
    ProcessorError,
    ProcessorRateLimited,
    ProcessorRejectedRequest,
    ProcessorTransactionNotFound,
    ProcessorUnavailable,
)
from vaultswitch.orchestrator.processors.sandbox import SandboxConfig, SandboxProcessorConnector

PAN = "4000000000009995"
CVC = "737"
KEY = "sk_unit_test_key_42"
CREDS = HeaderKey(Secret(KEY))
CONNECTOR = SandboxProcessorConnector(base_url="http://127.0.0.1:9999/proc")


def _data(**overrides: Any) -> AuthorizeData:
    values: dict[str, Any] = {
        "amount": 2500,
        "currency": "eur",
        "reference": "pay_123",
        "card": Card.parse(PAN, 3, 2031, CVC, "Ada Lovelace"),
        "idempotency_key": "pay_123_attempt_1",
    }
    values.update(overrides)
    return AuthorizeData(**values)


def _response(status: int, body: Any, **headers: str) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status, {k.replace("_", "-"): v for k, v in headers.items()}, raw)


def _authorization(status: str = "succeeded", **extra: Any) -> dict[str, Any]:
    return {"id": "auth_0123456789abcdef01234567", "status": status, "amount": 2500, **extra}


# --- the request builder -------------------------------------------------------------------


def test_authorize_request_carries_the_card_only_in_its_body() -> None:
    request = CONNECTOR.build_authorize(CREDS, _data())
    assert request.method == "POST"
    assert request.url == "http://127.0.0.1:9999/proc/v1/authorizations"
    assert request.flow is ProcessorFlow.AUTHORIZE
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["idempotency-key"] == "pay_123_attempt_1"
    assert request.retry_safe
    assert request.body is not None
    assert json.loads(request.body) == {
        "amount": 2500,
        "currency": "EUR",
        "reference": "pay_123",
        "card": {
            "number": PAN,
            "exp_month": 3,
            "exp_year": 2031,
            "cvc": CVC,
            "holder_name": "Ada Lovelace",
        },
    }


def test_the_request_repr_shows_no_card_and_no_key() -> None:
    request = CONNECTOR.build_authorize(CREDS, _data())
    for text in (repr(request), str(request), f"{request}", repr(_data())):
        assert PAN not in text
        assert CVC not in text
        assert KEY not in text
    assert "body=" in repr(request)
    assert "authorization" in repr(request)  # header names only


def test_without_an_idempotency_key_the_authorize_is_not_retry_safe() -> None:
    request = CONNECTOR.build_authorize(CREDS, _data(idempotency_key=None))
    assert "idempotency-key" not in request.headers
    assert not request.retry_safe


def test_optional_card_fields_are_left_out() -> None:
    request = CONNECTOR.build_authorize(CREDS, _data(card=Card.parse(PAN, 3, 2031)))
    assert request.body is not None
    assert json.loads(request.body)["card"] == {"number": PAN, "exp_month": 3, "exp_year": 2031}


def test_sync_request_reads_one_authorization() -> None:
    request = CONNECTOR.build_sync(CREDS, "auth_abc")
    assert (request.method, request.url, request.body) == (
        "GET",
        "http://127.0.0.1:9999/proc/v1/authorizations/auth_abc",
        None,
    )
    assert request.flow is ProcessorFlow.SYNC
    assert request.retry_safe
    with pytest.raises(InvalidRequest) as raised:
        CONNECTOR.build_sync(CREDS, "../health")
    assert raised.value.field == "connector_transaction_id"


def test_other_credential_types_are_refused_naming_the_field() -> None:
    creds = SignatureKey(Secret("a"), Secret("b"), Secret("c"))
    with pytest.raises(WrongCredentialType) as raised:
        CONNECTOR.build_authorize(creds, _data())
    assert raised.value.field == "connector_account_details.auth_type"
    assert "HeaderKey" in raised.value.hint


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": 12.5}, "amount"),
        ({"currency": "EURO"}, "currency"),
        ({"reference": ""}, "reference"),
        ({"card": PAN}, "card"),
    ],
)
def test_authorize_data_is_checked(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        _data(**change)
    assert raised.value.field == field


# --- configuration -------------------------------------------------------------------------


def test_base_url_defaults_to_the_local_sandbox_and_gains_a_slash() -> None:
    assert SandboxConfig().base_url == "http://127.0.0.1:8230/"
    assert SandboxConfig.from_metadata(None).base_url == "http://127.0.0.1:8230/"
    assert SandboxConfig.from_metadata({"other": 1}).base_url == "http://127.0.0.1:8230/"
    assert SandboxConfig("https://proc.example/api").base_url == "https://proc.example/api/"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        42,
        "ftp://host/",
        "http://",
        "127.0.0.1:8230",
        "http://user:pass@host/",
        "http://host/?a=1",
        "http://host/#frag",
        "http://host:99999/",
        "http://host:0/",
    ],
)
def test_a_bad_base_url_names_the_field(url: Any) -> None:
    with pytest.raises(InvalidRequest) as raised:
        SandboxConfig.from_metadata({"base_url": url})
    assert raised.value.field == "metadata.base_url"
    assert "vaultswitch processor serve" in raised.value.hint
    if isinstance(url, str) and "pass" in url:
        assert "pass" not in raised.value.message


def test_metadata_must_be_an_object() -> None:
    with pytest.raises(InvalidRequest) as raised:
        SandboxConfig.from_metadata(["http://host/"])  # type: ignore[arg-type]
    assert raised.value.field == "metadata"


# --- the response parser -------------------------------------------------------------------


def test_an_approval_is_succeeded() -> None:
    result = CONNECTOR.parse_authorize(_response(201, _authorization()))
    assert result == AuthorizeResult(AuthorizeStatus.SUCCEEDED, "auth_0123456789abcdef01234567")


@pytest.mark.parametrize(
    "code",
    ["card_declined", "insufficient_funds", "incorrect_cvc", "expired_card", "processing_error"],
)
def test_a_decline_is_a_failed_result_with_its_code_not_an_error(code: str) -> None:
    body = _authorization("declined", decline_code=code, message="The card was declined.")
    result = CONNECTOR.parse_authorize(_response(201, body))
    assert result.status is AuthorizeStatus.FAILED
    assert result.error_code == code
    assert result.error_message == "The card was declined."
    assert result.connector_transaction_id == body["id"]


def test_processing_is_passed_on() -> None:
    result = CONNECTOR.parse_sync(_response(200, _authorization("processing")))
    assert result.status is AuthorizeStatus.PROCESSING


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"<html>ok</html>", "is not JSON"),
        (b"\xff", "is not JSON"),
        ([1, 2], "is not a JSON object"),
        ({"status": "succeeded"}, "has no valid id"),
        ({"id": 5, "status": "succeeded"}, "has no valid id"),
        ({"id": "auth_1", "status": "approved"}, "has a status"),
        ({"id": "auth_1"}, "has a status"),
        ({"id": "auth_1", "status": "declined"}, "without a decline_code"),
    ],
)
def test_a_2xx_that_is_not_an_authorization_is_malformed(body: Any, problem: str) -> None:
    with pytest.raises(MalformedProcessorResponse) as raised:
        CONNECTOR.parse_authorize(_response(200, body, x_request_id="req_1"))
    error = raised.value
    assert problem in error.message
    assert (error.status, error.upstream_status, error.trace_id) == (502, 200, "req_1")
    assert "metadata.base_url" in error.hint


def _error_body(code: str, message: str = "nope", field: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "request_id": "req_9"}
    if field:
        error["field"] = field
    return {"error": error}


@pytest.mark.parametrize("status", [401, 403])
def test_a_rejected_key_is_a_424_with_a_hint(status: int) -> None:
    with pytest.raises(ProcessorAuthenticationFailed) as raised:
        CONNECTOR.parse_authorize(_response(status, _error_body("invalid_api_key")))
    error = raised.value
    assert (error.status, error.code) == (424, "processor_authentication_failed")
    assert (error.upstream_status, error.upstream_code, error.trace_id) == (
        status,
        "invalid_api_key",
        "req_9",
    )
    assert "api_key" in error.hint


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_5xx_is_unavailable_and_says_the_outcome_is_unknown(status: int) -> None:
    with pytest.raises(ProcessorUnavailable) as raised:
        CONNECTOR.parse_authorize(_response(status, b"upstream down"))
    assert raised.value.status == 503
    assert "outcome is unknown" in raised.value.message
    assert "Idempotency-Key" in raised.value.hint


def test_a_429_is_rate_limited_with_retry_after() -> None:
    with pytest.raises(ProcessorRateLimited) as raised:
        CONNECTOR.parse_authorize(_response(429, b"", retry_after="7"))
    assert (raised.value.status, raised.value.retry_after) == (429, 7.0)


@pytest.mark.parametrize("status", [400, 413, 415, 422])
def test_a_rejected_request_names_the_processors_field(status: int) -> None:
    body = _error_body("invalid_field", "currency is not an ISO 4217 currency code", "currency")
    with pytest.raises(ProcessorRejectedRequest) as raised:
        CONNECTOR.parse_authorize(_response(status, body))
    error = raised.value
    assert (error.status, error.field, error.upstream_code) == (422, "currency", "invalid_field")
    assert "currency is not an ISO 4217" in error.message


def test_a_reused_idempotency_key_says_what_to_change() -> None:
    with pytest.raises(ProcessorRejectedRequest) as raised:
        CONNECTOR.parse_authorize(_response(422, _error_body("idempotency_key_reused")))
    assert raised.value.field == "Idempotency-Key"
    assert "new key per attempt" in raised.value.hint


def test_a_404_on_authorize_means_the_base_url_is_wrong() -> None:
    with pytest.raises(MalformedProcessorResponse) as raised:
        CONNECTOR.parse_authorize(_response(404, _error_body("not_found")))
    assert "metadata.base_url" in raised.value.message


def test_a_404_on_sync_is_transaction_not_found() -> None:
    with pytest.raises(ProcessorTransactionNotFound) as raised:
        CONNECTOR.parse_sync(_response(404, _error_body("not_found", field="id")))
    assert raised.value.status == 404


@pytest.mark.parametrize("status", [301, 304, 409, 418])
def test_any_other_status_is_malformed(status: int) -> None:
    with pytest.raises(MalformedProcessorResponse) as raised:
        CONNECTOR.parse_authorize(_response(status, b""))
    assert f"HTTP {status}" in raised.value.message


def test_an_upstream_message_with_a_card_number_is_scrubbed() -> None:
    body = _error_body("invalid_field", f"bad card {PAN}", "card.number")
    with pytest.raises(ProcessorError) as raised:
        CONNECTOR.parse_authorize(_response(400, body))
    assert PAN not in str(raised.value)
    assert PAN not in raised.value.message
