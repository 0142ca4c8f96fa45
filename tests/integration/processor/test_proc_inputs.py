"""Bad input gets a 4xx naming the field, never a 500, and never echoes a card number."""

from __future__ import annotations

import json
from typing import Any

import pytest
from proc_support import APPROVED, INVALID_NUMBERS, Processor, body, card

CVC = "987"


def _post(processor: Processor, payload: Any, **kwargs: Any) -> Any:
    with processor.client() as client:
        return client.post("/v1/authorizations", json=payload, **kwargs)


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["message"]
    assert error["hint"]
    assert error["request_id"] == response.headers["x-request-id"]
    return error


BAD_BODIES: list[tuple[str, dict[str, Any], str, str]] = [
    ("no amount", {"amount": None}, "missing_field", "amount"),
    ("amount zero", {"amount": 0}, "invalid_field", "amount"),
    ("amount negative", {"amount": -5}, "invalid_field", "amount"),
    ("amount float", {"amount": 10.5}, "invalid_field", "amount"),
    ("amount string", {"amount": "1000"}, "invalid_field", "amount"),
    ("amount bool", {"amount": True}, "invalid_field", "amount"),
    ("amount huge", {"amount": 10**13}, "invalid_field", "amount"),
    ("no currency", {"currency": None}, "missing_field", "currency"),
    ("currency long", {"currency": "USDX"}, "invalid_field", "currency"),
    ("currency digits", {"currency": "840"}, "invalid_field", "currency"),
    ("currency unknown", {"currency": "ZZZ"}, "invalid_field", "currency"),
    ("no reference", {"reference": None}, "missing_field", "reference"),
    ("reference blank", {"reference": "  "}, "invalid_field", "reference"),
    ("reference number", {"reference": 12}, "invalid_field", "reference"),
    ("reference control", {"reference": "a\nb"}, "invalid_field", "reference"),
    ("reference long", {"reference": "r" * 256}, "invalid_field", "reference"),
    ("unknown field", {"amount_cents": 5}, "invalid_field", "amount_cents"),
    ("no card", {"card": None}, "missing_field", "card"),
    ("card not object", {"card": APPROVED}, "invalid_field", "card"),
    ("no number", {"card": card(None)}, "missing_field", "card.number"),
    ("number as int", {"card": card(4111111111111111)}, "invalid_field", "card.number"),
    ("no exp_month", {"card": card(exp_month=None)}, "missing_field", "card.exp_month"),
    ("exp_month 13", {"card": card(exp_month=13)}, "invalid_field", "card.exp_month"),
    ("exp_month 0", {"card": card(exp_month="0")}, "invalid_field", "card.exp_month"),
    ("no exp_year", {"card": card(exp_year=None)}, "missing_field", "card.exp_year"),
    ("exp_year 3 digits", {"card": card(exp_year=202)}, "invalid_field", "card.exp_year"),
    ("exp_year 1999", {"card": card(exp_year=1999)}, "invalid_field", "card.exp_year"),
    ("cvc 2 digits", {"card": card(cvc="12")}, "invalid_field", "card.cvc"),
    ("cvc 4 digits visa", {"card": card(cvc="1234")}, "invalid_field", "card.cvc"),
    (
        "cvc 3 digits amex",
        {"card": card("378282246310005", cvc="123")},
        "invalid_field",
        "card.cvc",
    ),
    ("cvc letters", {"card": card(cvc="12a")}, "invalid_field", "card.cvc"),
    ("cvc as int", {"card": card(cvc=123)}, "invalid_field", "card.cvc"),
    ("holder too long", {"card": card(holder_name="x" * 65)}, "invalid_field", "card.holder_name"),
    ("holder number", {"card": card(holder_name=5)}, "invalid_field", "card.holder_name"),
    ("unknown card field", {"card": card(cvv="123")}, "invalid_field", "card.cvv"),
]


@pytest.mark.parametrize(
    ("change", "code", "field"), [case[1:] for case in BAD_BODIES], ids=[c[0] for c in BAD_BODIES]
)
def test_a_bad_field_is_named(
    processor: Processor, change: dict[str, Any], code: str, field: str
) -> None:
    payload = {k: v for k, v in {**body(APPROVED, "pay_bad"), **change}.items() if v is not None}
    response = _post(processor, payload)
    error = _error(response, 400)
    assert (error["code"], error["field"]) == (code, field)
    assert APPROVED not in response.text
    assert processor.authorizations("pay_bad") == []


@pytest.mark.parametrize(("number", "why"), INVALID_NUMBERS)
def test_every_invalid_card_number_is_refused_without_echoing_it(
    processor: Processor, number: str, why: str
) -> None:
    response = _post(processor, body(number, "pay_invalid_number"))
    error = _error(response, 400)
    assert error["field"] == "card.number", why
    if number.strip():
        assert number not in response.text


def test_the_cvc_and_number_never_appear_in_an_error(processor: Processor) -> None:
    payload = body(APPROVED, "pay_no_echo", currency="ZZZ", card=card(APPROVED, cvc=CVC))
    response = _post(processor, payload)
    _error(response, 400)
    assert CVC not in response.text
    assert APPROVED not in response.text


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "code", "field"),
    [
        (b"{not json", "application/json", 400, "invalid_json", None),
        (b"\xff\xfe", "application/json", 400, "invalid_json", None),
        (b"[1, 2]", "application/json", 400, "invalid_json", None),
        (b"", "application/json", 400, "invalid_json", None),
        (b'{"amount": 1}', "text/plain", 415, "unsupported_media_type", "Content-Type"),
        (b'{"amount": 1}', None, 415, "unsupported_media_type", "Content-Type"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(
    processor: Processor,
    raw: bytes,
    content_type: str | None,
    status: int,
    code: str,
    field: str | None,
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    with processor.client() as client:
        response = client.post("/v1/authorizations", content=raw, headers=headers)
    error = _error(response, status)
    assert error["code"] == code
    assert error.get("field") == field


def test_a_body_over_the_limit_is_refused(processor: Processor) -> None:
    payload = body(APPROVED, "pay_big", card=card(APPROVED, holder_name="x" * 64))
    raw = json.dumps(payload).encode() + b" " * 70_000
    with processor.client() as client:
        response = client.post(
            "/v1/authorizations", content=raw, headers={"Content-Type": "application/json"}
        )
    assert _error(response, 413)["code"] == "body_too_large"


@pytest.mark.parametrize("key", [b"", b"has space", b"x" * 256, "caf\u00e9".encode()])
def test_a_malformed_idempotency_key_is_named(processor: Processor, key: bytes) -> None:
    with processor.client() as client:
        response = client.post(
            "/v1/authorizations",
            json=body(APPROVED, "pay_bad_key"),
            headers={b"Idempotency-Key": key},
        )
    assert _error(response, 400)["field"] == "Idempotency-Key"


@pytest.mark.parametrize("limit", ["0", "1001", "ten", "-1"])
def test_a_bad_list_limit_is_named(processor: Processor, limit: str) -> None:
    with processor.client() as client:
        response = client.get("/v1/authorizations", params={"limit": limit})
    assert _error(response, 400)["field"] == "limit"
