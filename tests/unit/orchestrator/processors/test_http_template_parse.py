"""http_template: template validation naming its place, the response mapping, the shipped
templates and the registry."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import pytest

from vaultswitch.connectors.base import BodyKey, HeaderKey, HttpResponse
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
    ProcessorRateLimited,
    ProcessorRejectedRequest,
    ProcessorUnavailable,
)
from vaultswitch.orchestrator.processors.http_template import (
    HttpTemplateConnector,
    load_shipped_template,
    parse_template,
    shipped_template_names,
)
from vaultswitch.orchestrator.processors.registry import get_processor_connector


def _raw(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "url": "https://processor.example/pay",
        "headers": {"Authorization": "Bearer {{$api_key}}"},
        "body": '{"n": "{{$card_number}}", "a": {{$amount}}}',
        "response": {
            "status": "result.state",
            "statuses": {"ok": "succeeded", "no": "failed", "wait": "processing"},
            "reference": "result.id",
            "decline_code": "result.reason.code",
            "decline_message": "result.reason.text",
            "error_code": "error.code",
            "error_message": "error.message",
        },
    }
    raw.update(overrides)
    return {k: v for k, v in raw.items() if v is not None}


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"body": '{"n": "{{$card_numbr}}"}'}, "metadata.template.body", "card_numbr"),
        ({"body": '{"n": "{{$ card_number}}"}'}, "metadata.template.body", "malformed"),
        ({"body": '{"n": {{$amount}}'}, "metadata.template.body", "not valid JSON"),
        ({"body": '{"a": {{$amount}} {{$amount}}}'}, "metadata.template.body", "not valid JSON"),
        ({"body": {"n": 1}}, "metadata.template.body", "text"),
        (
            {"body_type": "form", "body": "a={{$cvv}}"},
            "metadata.template.body",
            "unknown placeholder",
        ),
        ({"body_type": "xml"}, "metadata.template.body_type", "json or form"),
        (
            {"headers": {"X-Key": "{{$apikey}}"}},
            "metadata.template.headers.X-Key",
            "unknown placeholder",
        ),
        ({"headers": {"Bad Name": "x"}}, "metadata.template.headers.Bad Name", "token"),
        ({"headers": {"X-A": "a\nb"}}, "metadata.template.headers.X-A", "one line"),
        ({"headers": ["x"]}, "metadata.template.headers", "object"),
        ({"url": None}, "metadata.template.url", "URL"),
        ({"url": "ftp://x.example/"}, "metadata.template.url", "http"),
        ({"url": "https://u:p@x.example/"}, "metadata.template.url", "credentials"),
        ({"url": "https://x.example/{{$reference}}"}, "metadata.template.url", "query"),
        ({"url": "https://x.example/?n={{$card_number}}"}, "metadata.template.url", "logs"),
        ({"url": "https://x.example/?k={{$api_key}}"}, "metadata.template.url", "logs"),
        ({"url": "https://x.example/?k={{$nope}}"}, "metadata.template.url", "unknown"),
        ({"method": "TRACE"}, "metadata.template.method", "POST"),
        ({"bodytype": "json"}, "metadata.template.bodytype", "not a template field"),
        ({"response": None}, "metadata.template.response", "status"),
        (
            {"response": {"status": "s", "statuses": {"ok": "approved"}}},
            "metadata.template.response.statuses.ok",
            "succeeded, failed or processing",
        ),
        (
            {"response": {"status": "s", "statuses": {}}},
            "metadata.template.response.statuses",
            "map",
        ),
        (
            {"response": {"statuses": {"ok": "succeeded"}}},
            "metadata.template.response.status",
            "dotted path",
        ),
        (
            {"response": {"status": "a..b", "statuses": {"ok": "succeeded"}}},
            "metadata.template.response.status",
            "empty segment",
        ),
        (
            {"response": {"status": "s", "statuses": {"ok": "succeeded"}, "extra": 1}},
            "metadata.template.response.extra",
            "not a response field",
        ),
        (
            {
                "response": {
                    "status": "s",
                    "statuses": {"o": "failed"},
                    "decline_http_statuses": [200],
                }
            },
            "metadata.template.response.decline_http_statuses",
            "300-599",
        ),
    ],
)
def test_validation_errors_name_their_place(
    overrides: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InvalidRequest) as raised:
        parse_template(_raw(**overrides))
    assert raised.value.field == field
    assert words in raised.value.message
    assert "docs/processors.md" in raised.value.hint


def test_a_template_must_be_an_object() -> None:
    with pytest.raises(InvalidRequest) as raised:
        parse_template(["not", "a", "template"])
    assert raised.value.field == "metadata.template"


def _connector(**overrides: Any) -> HttpTemplateConnector:
    return HttpTemplateConnector(parse_template(_raw(**overrides)))


def _answer(status: int, body: Any, **headers: str) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status, headers, raw)


def test_the_response_mapping_reads_status_reference_and_decline() -> None:
    connector = _connector()
    assert connector.parse_authorize(
        _answer(200, {"result": {"state": "ok", "id": "tx_1"}})
    ) == AuthorizeResult(AuthorizeStatus.SUCCEEDED, "tx_1")
    assert connector.parse_authorize(
        _answer(201, {"result": {"state": "wait", "id": "tx_2"}})
    ) == AuthorizeResult(AuthorizeStatus.PROCESSING, "tx_2")
    declined = {"result": {"state": "no", "id": "tx_3", "reason": {"code": 51, "text": "NSF"}}}
    assert connector.parse_authorize(_answer(200, declined)) == AuthorizeResult(
        AuthorizeStatus.FAILED, "tx_3", "51", "NSF"
    )
    # a decline without a code carries the processor's status value as its code
    bare = {"result": {"state": "no", "id": "tx_4"}}
    assert connector.parse_authorize(_answer(200, bare)).error_code == "no"


def test_paths_index_lists() -> None:
    connector = _connector(
        response={"status": "data.0.s", "statuses": {"ok": "succeeded"}, "reference": "data.0.id"}
    )
    result = connector.parse_authorize(_answer(200, {"data": [{"s": "ok", "id": "x1"}]}))
    assert result == AuthorizeResult(AuthorizeStatus.SUCCEEDED, "x1")


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (_answer(200, b"<html>"), "not a JSON object"),
        (_answer(200, [1, 2]), "not a JSON object"),
        (_answer(200, {"result": {"state": "maybe", "id": "t"}}), "result.state"),
        (_answer(200, {"result": {"state": "ok"}}), "result.id"),
    ],
)
def test_an_answer_the_mapping_cannot_read_is_malformed(answer: HttpResponse, problem: str) -> None:
    with pytest.raises(MalformedProcessorResponse) as raised:
        _connector().parse_authorize(answer)
    assert problem in raised.value.message
    assert raised.value.upstream_status == 200


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, ProcessorAuthenticationFailed),
        (403, ProcessorAuthenticationFailed),
        (429, ProcessorRateLimited),
        (500, ProcessorUnavailable),
        (503, ProcessorUnavailable),
        (400, ProcessorRejectedRequest),
        (422, ProcessorRejectedRequest),
        (302, MalformedProcessorResponse),
    ],
)
def test_http_errors_become_typed_errors(status: int, error: type[Exception]) -> None:
    answer = _answer(
        status, {"error": {"code": "bad_thing", "message": "nope"}}, **{"x-request-id": "req_abc"}
    )
    with pytest.raises(error) as raised:
        _connector().parse_authorize(answer)
    assert raised.value.upstream_status == status  # type: ignore[attr-defined]


def test_a_4xx_error_carries_the_processor_code() -> None:
    with pytest.raises(ProcessorRejectedRequest) as raised:
        _connector().parse_authorize(_answer(400, {"error": {"code": "bad_field", "message": "m"}}))
    assert raised.value.upstream_code == "bad_field"
    assert "m" in raised.value.message


def test_decline_http_statuses_are_declines() -> None:
    stripe = load_shipped_template("stripe_example")
    connector = HttpTemplateConnector(stripe)
    body = {"error": {"code": "card_error", "decline_code": "insufficient_funds", "message": "NSF"}}
    assert connector.parse_authorize(_answer(402, body)) == AuthorizeResult(
        AuthorizeStatus.FAILED, None, "insufficient_funds", "NSF"
    )


def test_the_shipped_templates_parse() -> None:
    assert shipped_template_names() == ["adyen_example", "sandbox", "stripe_example"]
    for name in shipped_template_names():
        template = load_shipped_template(name)
        assert template.name == name
        assert {"card_number", "amount", "currency", "api_key"} <= template.placeholders


def _data(**overrides: Any) -> AuthorizeData:
    values: dict[str, Any] = {
        "amount": 1050,
        "currency": "eur",
        "reference": "pay_&=+",
        "card": Card.parse("4242424242424242", 12, 2030, "123", "Zoë O'Brien"),
        "idempotency_key": "idem_1",
    }
    values.update(overrides)
    return AuthorizeData(**values)


def test_the_stripe_example_sends_a_form_body() -> None:
    connector = get_processor_connector("http_template", {"template": "stripe_example"})
    request = connector.build_authorize(HeaderKey(Secret("sk_test_12345678")), _data())
    assert request.url == "https://api.stripe.com/v1/payment_intents"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.body is not None
    form = parse_qs(request.body.decode("ascii"))
    assert form["payment_method_data[card][number]"] == ["4242424242424242"]
    assert form["metadata[reference]"] == ["pay_&=+"]
    assert form["amount"] == ["1050"]
    assert form["currency"] == ["EUR"]


def test_the_adyen_example_sends_json() -> None:
    connector = get_processor_connector("http_template", {"template": "adyen_example"})
    request = connector.build_authorize(HeaderKey(Secret("adyen_key_123")), _data())
    assert request.headers["x-api-key"] == "adyen_key_123"
    assert request.body is not None
    body = json.loads(request.body)
    assert body["amount"] == {"value": 1050, "currency": "EUR"}
    assert body["paymentMethod"]["holderName"] == "Zoë O'Brien"
    assert body["paymentMethod"]["expiryMonth"] == "12"
    result = connector.parse_authorize(
        _answer(200, {"resultCode": "Refused", "pspReference": "P1", "refusalReasonCode": "2"})
    )
    assert result == AuthorizeResult(AuthorizeStatus.FAILED, "P1", "2", None)


def test_the_registry_configures_an_http_template_account() -> None:
    connector = get_processor_connector(
        "http_template", {"template": "sandbox", "base_url": "http://127.0.0.1:8230"}
    )
    assert isinstance(connector, HttpTemplateConnector)
    assert connector.supports(ProcessorFlow.AUTHORIZE)
    assert not connector.supports(ProcessorFlow.SYNC)
    request = connector.build_authorize(HeaderKey(Secret("sk_test_12345678")), _data())
    assert request.url == "http://127.0.0.1:8230/v1/authorizations"
    assert request.retry_safe
    assert "sandbox" in repr(connector)
    inline = get_processor_connector("http_template", {"template": _raw()})
    assert isinstance(inline, HttpTemplateConnector)


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        (None, "metadata.template"),
        ({}, "metadata.template"),
        ({"template": "paypal"}, "metadata.template"),
        ({"template": {"url": "x"}}, "metadata.template.response"),
        ({"template": "sandbox"}, "metadata.base_url"),
        ({"template": "sandbox", "base_url": "nope"}, "metadata.base_url"),
        ({"template": "sandbox", "base_url": 5}, "metadata.base_url"),
    ],
)
def test_bad_account_metadata_is_named(metadata: Any, field: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        get_processor_connector("http_template", metadata)
    assert raised.value.field == field


def test_credentials_must_be_header_key() -> None:
    connector = get_processor_connector("http_template", {"template": "stripe_example"})
    with pytest.raises(WrongCredentialType):
        connector.build_authorize(BodyKey(Secret("a" * 10), Secret("b" * 10)), _data())
