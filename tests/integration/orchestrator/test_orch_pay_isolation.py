"""A merchant never sees, confirms or pays with another merchant's payments, payment
methods or processor accounts: they answer 404, as ids that do not exist."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from orch_pay_support import APPROVED, LiveProcessor, open_shop, serve_processor
from orch_support import LiveVault, Orchestrator, assert_error


@pytest.fixture(scope="module")
def processor() -> Iterator[LiveProcessor]:
    with serve_processor() as live:
        yield live


def test_other_merchants_objects_answer_404(
    any_orchestrator: Orchestrator, live_vault: LiveVault, processor: LiveProcessor
) -> None:
    orch = any_orchestrator
    owner = open_shop(orch, processor.url, live_vault, name="Owner")
    other = open_shop(orch, processor.url, live_vault, name="Other")
    pm_id = owner.save_card(APPROVED)
    paid = owner.paid(owner.saved_payment(pm_id, cvc="123"))
    intent = orch.http.post(
        "/v2/payments/create-intent", json={"amount_details": owner.amount()}, headers=owner.headers
    ).json()

    missing = other.get("cell1_pay_" + "0" * 32)
    foreign = other.get(paid["id"])
    assert_error(foreign, 404, "HE_02")
    assert foreign.json()["error"]["message"] == missing.json()["error"]["message"]
    assert_error(orch.http.get(f"/v2/payments/{paid['id']}/get-intent", headers=other.headers), 404)
    # paying with the owner's saved card, as the other merchant's customer or with none
    with_card = other.pay(other.saved_payment(pm_id, cvc="123"))
    assert_error(with_card, 404, "HE_02")
    assert "Payment method" in with_card.json()["error"]["message"]
    no_customer = other.saved_payment(pm_id, cvc="123")
    del no_customer["customer_id"]
    assert_error(other.pay(no_customer), 404, "HE_02")
    # the owner's customer, processor account, intent
    foreign_customer = other.card_payment(APPROVED, customer_id=owner.customer_id)
    assert "Customer" in assert_error(other.pay(foreign_customer), 404, "HE_02")["message"]
    foreign_processor = other.card_payment(APPROVED, connector_id=owner.processor_account_id)
    assert_error(other.pay(foreign_processor), 404, "HE_02")
    confirm = orch.http.post(
        f"/v2/payments/{intent['id']}/confirm-intent",
        json={"payment_method_id": pm_id},
        headers=other.headers,
    )
    assert_error(confirm, 404, "HE_02")
    listed = orch.http.get("/v2/payments/list", headers=other.headers).json()
    assert listed == {"count": 0, "total_count": 0, "data": []}
    # nothing of this reached the processor
    assert len(processor.authorizations(paid["id"])) == 1
    assert processor.authorizations(intent["id"]) == []
    # and the owner still sees its own
    assert owner.get(paid["id"]).json() == paid


def test_a_payment_method_of_another_customer_or_a_vault_account_is_refused(
    orchestrator: Orchestrator, live_vault: LiveVault, processor: LiveProcessor
) -> None:
    shop = open_shop(orchestrator, processor.url, live_vault)
    pm_id = shop.save_card(APPROVED)
    second = orchestrator.http.post(
        "/v2/customers", json={"name": "B", "email": "b@example.test"}, headers=shop.headers
    ).json()
    wrong_customer = shop.saved_payment(pm_id, cvc="123", customer_id=second["id"])
    assert assert_error(shop.pay(wrong_customer), 422, "IR_06")["field"] == "payment_method_id"
    vault_as_processor = shop.card_payment(APPROVED, connector_id=shop.vault_account_id)
    assert assert_error(shop.pay(vault_as_processor), 422, "IR_06")["field"] == "connector_id"
    assert orchestrator.http.get("/v2/payments/list", headers=shop.headers).json()["count"] == 0
