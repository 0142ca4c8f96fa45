"""Authorize over real HTTP: every outcome card, every other valid card, expiry, look-ups."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from proc_support import APPROVED, OUTCOMES, VALID_CARDS, Processor, body, card

from vaultswitch.processor.outcomes import OUTCOME_CARDS


def _ref() -> str:
    return f"pay_{uuid.uuid4().hex}"


def test_the_processor_carries_the_outcome_table_of_the_test_data() -> None:
    assert {number: str(outcome) for number, outcome in OUTCOME_CARDS.items()} == OUTCOMES


@pytest.mark.parametrize(("number", "expected"), sorted(OUTCOMES.items()))
def test_each_outcome_card_gets_its_outcome(
    processor: Processor, number: str, expected: str
) -> None:
    reference = _ref()
    with processor.client() as client:
        response = client.post("/v1/authorizations", json=body(number, reference))
    assert response.status_code == 201, response.text
    answer = response.json()
    # letters only: a long digit run could pass Luhn and be masked in logs like a card number
    assert re.fullmatch(r"auth_[a-z]{24}", answer["id"])
    assert re.fullmatch(r"req_[a-z]{24}", response.headers["x-request-id"])
    assert answer["amount"] == 1050
    assert answer["currency"] == "USD"
    assert answer["reference"] == reference
    assert answer["card"] == {
        "brand": "visa",
        "last4": number[-4:],
        "exp_month": 12,
        "exp_year": 2099,
    }
    if expected == "succeeded":
        assert answer["status"] == "succeeded"
        assert "decline_code" not in answer
    else:
        assert answer["status"] == "declined"
        assert answer["decline_code"] == expected
        assert answer["message"]
    assert number not in response.text
    assert '"123"' not in response.text  # the CVC


@pytest.mark.parametrize(("brand", "number"), [(b, n) for b, n in VALID_CARDS if n not in OUTCOMES])
def test_any_other_valid_card_is_approved(processor: Processor, brand: str, number: str) -> None:
    with processor.client() as client:
        response = client.post("/v1/authorizations", json=body(number, _ref()))
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["status"] == "succeeded"
    assert answer["card"]["brand"] == brand
    assert answer["card"]["last4"] == number[-4:]
    assert number not in response.text


def test_a_card_past_its_expiry_month_is_declined_as_expired(processor: Processor) -> None:
    payload = body(APPROVED, _ref(), card=card(APPROVED, exp_month=1, exp_year=2021))
    with processor.client() as client:
        response = client.post("/v1/authorizations", json=payload)
    assert response.status_code == 201
    assert response.json()["status"] == "declined"
    assert response.json()["decline_code"] == "expired_card"


def test_fields_are_normalised(processor: Processor) -> None:
    payload = body(
        "4242 4242 4242 4242",
        _ref(),
        currency="eur",
        card=card("4242-4242-4242-4242", exp_month="07", exp_year="99", cvc=None),
    )
    with processor.client() as client:
        response = client.post("/v1/authorizations", json=payload)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["status"] == "succeeded"
    assert answer["currency"] == "EUR"
    assert answer["card"] == {"brand": "visa", "last4": "4242", "exp_month": 7, "exp_year": 2099}


def test_an_authorization_reads_back_by_id_and_by_reference(processor: Processor) -> None:
    reference = _ref()
    with processor.client() as client:
        first = client.post("/v1/authorizations", json=body(APPROVED, reference)).json()
        second = client.post("/v1/authorizations", json=body("4000000000000002", reference)).json()
        client.post("/v1/authorizations", json=body(APPROVED, _ref()))
        got = client.get(f"/v1/authorizations/{first['id']}")
        listed = client.get("/v1/authorizations", params={"reference": reference})
        limited = client.get("/v1/authorizations", params={"reference": reference, "limit": 1})
    assert got.status_code == 200
    assert got.json() == first
    assert listed.json()["count"] == 2
    assert [a["id"] for a in listed.json()["data"]] == [second["id"], first["id"]]  # newest first
    assert [a["id"] for a in limited.json()["data"]] == [second["id"]]


def test_an_api_key_sees_only_its_own_authorizations(processor: Processor) -> None:
    reference = _ref()
    with processor.client() as client:
        mine = client.post("/v1/authorizations", json=body(APPROVED, reference)).json()
    with processor.client(processor.other_api_key) as other:
        by_id = other.get(f"/v1/authorizations/{mine['id']}")
        by_reference = other.get("/v1/authorizations", params={"reference": reference})
        unknown = other.get("/v1/authorizations/auth_000000000000000000000000")
    assert by_id.status_code == 404
    assert by_id.json()["error"]["code"] == "not_found"
    same = ("code", "message", "field", "hint")  # the same answer as for an id that never was
    assert [by_id.json()["error"][k] for k in same] == [unknown.json()["error"][k] for k in same]
    assert by_reference.json() == {"object": "list", "count": 0, "data": []}


def test_health_needs_no_key(processor: Processor) -> None:
    response = httpx.get(processor.url + "/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "vaultswitch-sandbox-processor"}
    assert re.fullmatch(r"req_[a-z]{24}", response.headers["x-request-id"])


def test_unknown_routes_and_methods_get_json_errors(processor: Processor) -> None:
    with processor.client() as client:
        missing = client.get("/v2/payments")
        wrong_method = client.delete("/v1/authorizations")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert missing.json()["error"]["hint"]
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    assert "POST" in wrong_method.headers["allow"]
