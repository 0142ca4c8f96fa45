"""The two-step form: create-intent, then confirm-intent with a saved or a new card; an
intent is confirmed once (Hyperswitch's PaymentUnexpectedState, 400 IR_14)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from orch_pay_support import APPROVED, DECLINES, LiveProcessor, open_shop, serve_processor
from orch_support import LiveVault, Orchestrator, assert_error


@pytest.fixture(scope="module")
def processor() -> Iterator[LiveProcessor]:
    with serve_processor() as live:
        yield live


def test_create_intent_then_confirm_with_a_saved_card(
    any_orchestrator: Orchestrator, live_vault: LiveVault, processor: LiveProcessor
) -> None:
    shop = open_shop(any_orchestrator, processor.url, live_vault)
    http = shop.orch.http
    created = http.post(
        "/v2/payments/create-intent",
        json={
            "amount_details": {"order_amount": 2500, "currency": "eur"},
            "customer_id": shop.customer_id,
            "merchant_reference_id": "order-77",
            "return_url": "https://shop.example/done",
        },
        headers=shop.headers,
    )
    assert created.status_code == 200, created.text
    intent = created.json()
    assert re.fullmatch(r"cell1_pay_[0-9a-f]{32}", intent["id"])
    assert intent["status"] == "requires_payment_method"
    assert intent["amount_details"]["order_amount"] == 2500
    assert intent["amount_details"]["currency"] == "EUR"
    assert intent["customer_id"] == shop.customer_id
    assert intent["profile_id"] == shop.setup.profile_id
    assert intent["merchant_reference_id"] == "order-77"
    assert "client_secret" not in intent  # no client (publishable-key) auth here
    pending = shop.get(intent["id"]).json()
    assert pending["status"] == "requires_payment_method"
    assert pending["connector"] is None
    assert pending["amount"]["amount_capturable"] == 2500
    assert processor.authorizations(intent["id"]) == []

    pm_id = shop.save_card(APPROVED)
    path = f"/v2/payments/{intent['id']}/confirm-intent"
    confirmed = http.post(
        path,
        json={
            "payment_method_id": pm_id,
            "payment_method_type": "card",
            "payment_method_data": {"card_token": {"card_cvc": "123"}},
        },
        headers=shop.headers,
    )
    assert confirmed.status_code == 200, confirmed.text
    payment = confirmed.json()
    assert payment["id"] == intent["id"]
    assert payment["status"] == "succeeded"
    assert payment["payment_method_id"] == pm_id
    assert payment["amount"]["amount_captured"] == 2500
    assert payment["return_url"] == "https://shop.example/done"
    (authorization,) = processor.authorizations(intent["id"])
    assert authorization["id"] == payment["connector_transaction_id"]
    assert authorization["amount"] == 2500
    assert authorization["currency"] == "EUR"
    assert shop.get(intent["id"]).json() == payment
    got_intent = http.get(f"/v2/payments/{intent['id']}/get-intent", headers=shop.headers)
    assert got_intent.json()["status"] == "succeeded"

    # a confirmed intent cannot be confirmed again; the processor is not called again
    again = http.post(path, json={"payment_method_id": pm_id}, headers=shop.headers)
    error = assert_error(again, 400, "IR_14")
    assert "succeeded" in error["message"]
    assert error["payment_id"] == intent["id"]
    assert len(processor.authorizations(intent["id"])) == 1


def test_confirm_with_a_new_card_declined(
    orchestrator: Orchestrator, processor: LiveProcessor
) -> None:
    shop = open_shop(orchestrator, processor.url)
    http = shop.orch.http
    intent = http.post(
        "/v2/payments/create-intent",
        json={"amount_details": shop.amount()},
        headers=shop.headers,
    ).json()
    assert intent["customer_id"] is None
    number, code = next(iter(DECLINES.items()))
    body = shop.card_payment(number)
    for field in ("amount_details", "customer_id"):
        body.pop(field)
    confirmed = http.post(
        f"/v2/payments/{intent['id']}/confirm-intent", json=body, headers=shop.headers
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "failed"
    assert confirmed.json()["error"]["code"] == code
    # failed is final for confirm-intent too
    retry_body = shop.card_payment(APPROVED)
    for field in ("amount_details", "customer_id"):
        retry_body.pop(field)
    retry = http.post(
        f"/v2/payments/{intent['id']}/confirm-intent", json=retry_body, headers=shop.headers
    )
    assert "failed" in assert_error(retry, 400, "IR_14")["message"]
    assert len(processor.authorizations(intent["id"])) == 1


def test_intent_errors(orchestrator: Orchestrator, processor: LiveProcessor) -> None:
    shop = open_shop(orchestrator, processor.url)
    http = shop.orch.http
    unknown_customer = http.post(
        "/v2/payments/create-intent",
        json={"amount_details": shop.amount(), "customer_id": "cell1_cus_" + "0" * 32},
        headers=shop.headers,
    )
    assert_error(unknown_customer, 404, "HE_02")
    no_amount = http.post(
        "/v2/payments/create-intent", json={"customer_id": shop.customer_id}, headers=shop.headers
    )
    assert assert_error(no_amount, 400, "IR_04")["field"] == "amount_details"
    unknown = http.post(
        "/v2/payments/cell1_pay_" + "0" * 32 + "/confirm-intent",
        json={"payment_method_id": "cell1_pm_" + "0" * 32},
        headers=shop.headers,
    )
    assert_error(unknown, 404, "HE_02")
    intent = http.post(
        "/v2/payments/create-intent", json={"amount_details": shop.amount()}, headers=shop.headers
    ).json()
    no_method = http.post(
        f"/v2/payments/{intent['id']}/confirm-intent", json={}, headers=shop.headers
    )
    assert assert_error(no_method, 400, "IR_04")["field"] == "payment_method_id"
    amount_on_confirm = http.post(
        f"/v2/payments/{intent['id']}/confirm-intent",
        json={"amount_details": shop.amount()},
        headers=shop.headers,
    )
    assert assert_error(amount_on_confirm, 400, "IR_07")["field"] == "amount_details"
    assert shop.get(intent["id"]).json()["status"] == "requires_payment_method"
