"""Payments over HTTP with our live vault and the live sandbox processor, on SQLite and on
PostgreSQL: saved cards read back from the vault and new cards, approved and declined by
every outcome card, as Hyperswitch's PaymentsResponse."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from orch_pay_support import (
    AMEX,
    APPROVED,
    DECLINES,
    OTHER_APPROVED,
    LiveProcessor,
    Shop,
    open_shop,
    serve_processor,
)
from orch_support import LiveVault, Orchestrator


@pytest.fixture(scope="module")
def processor() -> Iterator[LiveProcessor]:
    with serve_processor() as live:
        yield live


def _one_authorization(processor: LiveProcessor, payment: dict[str, Any]) -> dict[str, Any]:
    found = processor.authorizations(payment["id"])
    assert len(found) == 1, found
    authorization = found[0]
    assert authorization["id"] == payment["connector_transaction_id"]
    assert authorization["amount"] == payment["amount"]["order_amount"]
    assert authorization["currency"] == payment["amount"]["currency"]
    return authorization


def _assert_succeeded(shop: Shop, payment: dict[str, Any], *, pm_id: str | None) -> None:
    assert re.fullmatch(r"cell1_pay_[0-9a-f]{32}", payment["id"])
    assert payment["status"] == "succeeded"
    assert payment["error"] is None
    assert payment["amount"]["order_amount"] == 1050
    assert payment["amount"]["currency"] == "USD"
    assert payment["amount"]["net_amount"] == 1050
    assert payment["amount"]["amount_captured"] == 1050
    assert payment["amount"]["amount_capturable"] == 0
    assert payment["customer_id"] == shop.customer_id
    assert payment["payment_method_id"] == pm_id
    assert payment["payment_method_type"] == "card"
    assert payment["payment_method_subtype"] == "credit"
    assert payment["connector"] == "sandbox"
    assert payment["merchant_connector_id"] == shop.processor_account_id
    assert payment["processor_merchant_id"] == shop.setup.merchant_id
    assert payment["profile_id"] == shop.setup.profile_id
    assert payment["path"] == "detokenize"
    assert payment["created"].endswith("Z")
    assert payment["modified_at"].endswith("Z")
    assert payment["attempt_count"] == 1
    assert shop.get(payment["id"]).json() == payment


def test_saved_cards_are_read_from_the_vault_and_approved(
    any_orchestrator: Orchestrator, live_vault: LiveVault, processor: LiveProcessor
) -> None:
    shop = open_shop(any_orchestrator, processor.url, live_vault)
    # saved with its CVC (kept VOLATILE in the vault): paid with no CVC in the request
    visa = shop.save_card(APPROVED, with_cvc=True)
    paid = shop.paid(
        shop.saved_payment(visa, merchant_reference_id="order-1", metadata={"cart": 7})
    )
    _assert_succeeded(shop, paid, pm_id=visa)
    assert paid["merchant_reference_id"] == "order-1"
    assert paid["metadata"] == {"cart": 7}
    assert _one_authorization(processor, paid)["card"] == {
        "brand": "visa",
        "last4": "4242",
        "exp_month": 12,
        "exp_year": 2099,
    }
    saved = shop.orch.http.get(f"/v2/payment-methods/{visa}", headers=shop.headers).json()
    assert saved["last_used_at"] is not None
    # saved without a CVC, the CVC sent with the payment
    master = shop.save_card(OTHER_APPROVED)
    again = shop.paid(shop.saved_payment(master, cvc="321"))
    _assert_succeeded(shop, again, pm_id=master)
    assert _one_authorization(processor, again)["card"]["last4"] == "4444"
    # customer_id may be left out: the payment method's customer is the payment's
    amex = shop.save_card(AMEX)
    body = shop.saved_payment(amex, cvc="4321")
    del body["customer_id"]
    third = shop.paid(body)
    _assert_succeeded(shop, third, pm_id=amex)
    assert _one_authorization(processor, third)["card"]["brand"] == "amex"


def test_new_cards_are_paid_without_being_saved(
    any_orchestrator: Orchestrator, processor: LiveProcessor
) -> None:
    shop = open_shop(any_orchestrator, processor.url)  # no vault: nothing is saved
    for number in (APPROVED, OTHER_APPROVED):
        paid = shop.paid(shop.card_payment(number))
        _assert_succeeded(shop, paid, pm_id=None)
        assert _one_authorization(processor, paid)["card"]["last4"] == number[-4:]
    listed = shop.orch.http.get(
        f"/v2/customers/{shop.customer_id}/saved-payment-methods", headers=shop.headers
    )
    assert listed.status_code == 200, listed.text
    assert listed.json()["customer_payment_methods"] == []


def test_every_decline_card_fails_with_its_code(
    any_orchestrator: Orchestrator, live_vault: LiveVault, processor: LiveProcessor
) -> None:
    shop = open_shop(any_orchestrator, processor.url, live_vault)
    assert len(DECLINES) == 5
    for number, code in DECLINES.items():
        saved = shop.save_card(number)
        for body in (shop.saved_payment(saved, cvc="123"), shop.card_payment(number)):
            response = shop.pay(body)
            assert response.status_code == 200, response.text  # a decline is not an HTTP error
            payment = response.json()
            assert payment["status"] == "failed", payment
            assert payment["error"]["code"] == code
            assert payment["error"]["message"]
            assert payment["amount"]["amount_captured"] is None
            assert payment["amount"]["amount_capturable"] == 0
            authorization = _one_authorization(processor, payment)
            assert authorization["status"] == "declined"
            assert authorization["decline_code"] == code
            assert shop.get(payment["id"]).json() == payment
