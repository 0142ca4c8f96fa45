"""What can go wrong before a payment reaches the processor: bad requests (400/422 naming
the field, never echoing a card number), and vault failures, which keep their own status
(alias missing 404, vault configuration 424, vault unreachable 503) and leave a failed
payment that the error names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from orch_pay_support import (
    APPROVED,
    LiveProcessor,
    Shop,
    card,
    open_shop,
    serve_processor,
)
from orch_support import LiveVault, Orchestrator, assert_error, new_merchant, serve_vault

from vaultswitch.orchestrator.crypto import Keyring, decode_key
from vaultswitch.orchestrator.db import Database
from vaultswitch.orchestrator.repos import payment_methods as pm_repo

BAD_PAN = "4242424242424241"  # fails the Luhn check


@pytest.fixture(scope="module")
def processor() -> Iterator[LiveProcessor]:
    with serve_processor() as live:
        yield live


def _field(shop: Shop, body: dict[str, Any], status: int, code: str) -> str:
    response = shop.pay(body)
    error = assert_error(response, status, code)
    assert APPROVED not in response.text
    assert BAD_PAN not in response.text
    field: str = error.get("field", "")
    return field


def test_bad_requests_name_the_field(orchestrator: Orchestrator, processor: LiveProcessor) -> None:
    shop = open_shop(orchestrator, processor.url)
    good = shop.card_payment(APPROVED)

    def variant(**changes: Any) -> dict[str, Any]:
        body = {**good, **changes}
        return {k: v for k, v in body.items() if v is not None}

    assert _field(shop, variant(amount_details=None), 400, "IR_04") == "amount_details"
    for amount, field in (
        ({"order_amount": 0, "currency": "USD"}, "amount_details.order_amount"),
        ({"order_amount": "1050", "currency": "USD"}, "amount_details.order_amount"),
        ({"order_amount": 10.5, "currency": "USD"}, "amount_details.order_amount"),
        ({"order_amount": 1050, "currency": "XYZ"}, "amount_details.currency"),
        ({"order_amount": 1050, "currency": "USD", "tip": 1}, "amount_details.tip"),
    ):
        assert _field(shop, variant(amount_details=amount), 400, "IR_07") == field
    no_method = variant(payment_method_data=None)
    assert _field(shop, no_method, 400, "IR_04") == "payment_method_id"
    assert (
        _field(shop, variant(payment_method_subtype=None), 400, "IR_04") == "payment_method_subtype"
    )
    assert _field(shop, variant(payment_method_type=None), 400, "IR_04") == "payment_method_type"
    assert _field(shop, variant(payment_method_type="wallet"), 400, "IR_07") == (
        "payment_method_type"
    )
    bad_number = variant(payment_method_data={"card": card(BAD_PAN)})
    assert _field(shop, bad_number, 400, "IR_07") == "payment_method_data.card.card_number"
    bad_month = variant(payment_method_data={"card": card(APPROVED, card_exp_month="13")})
    assert _field(shop, bad_month, 400, "IR_07") == "payment_method_data.card.card_exp_month"
    bad_cvc = variant(payment_method_data={"card": card(APPROVED, card_cvc="12a")})
    assert _field(shop, bad_cvc, 400, "IR_07") == "payment_method_data.card.card_cvc"
    no_cvc = variant(payment_method_data={"card": card(APPROVED, card_cvc=None)})
    assert _field(shop, no_cvc, 400, "IR_04") == "payment_method_data.card.card_cvc"
    both = variant(payment_method_id="cell1_pm_" + "0" * 32)
    assert _field(shop, both, 400, "IR_07") == "payment_method_data.card"
    token_only = variant(payment_method_data={"card_token": {"card_cvc": "123"}})
    assert _field(shop, token_only, 400, "IR_07") == "payment_method_data.card_token"
    bad_token_cvc = shop.saved_payment("cell1_pm_" + "0" * 32, cvc="12")
    assert _field(shop, bad_token_cvc, 400, "IR_07") == "payment_method_data.card_token.card_cvc"
    assert _field(shop, variant(surprise=True), 400, "IR_07") == "surprise"
    assert _field(shop, variant(return_url="ftp://x"), 400, "IR_07") == "return_url"
    assert _field(shop, variant(metadata={"x": "y" * 9000}), 400, "IR_07") == "metadata"
    # well-formed, but not this merchant's or not usable
    assert_error(shop.pay(variant(customer_id="cell1_cus_" + "0" * 32)), 404, "HE_02")
    assert_error(shop.pay(shop.saved_payment("cell1_pm_" + "0" * 32)), 404, "HE_02")
    assert_error(shop.pay(variant(connector_id="mca_" + "0" * 32)), 404, "HE_02")
    not_json = shop.orch.http.post(
        "/v2/payments",
        content=b"{not json",
        headers={**shop.headers, "Content-Type": "application/json"},
    )
    assert_error(not_json, 400, "IR_06")
    assert_error(shop.orch.http.post("/v2/payments", json=good), 401, "IR_01")
    # none of these made a payment
    assert shop.orch.http.get("/v2/payments/list", headers=shop.headers).json()["total_count"] == 0


def test_a_profile_without_a_processor_account(
    orchestrator: Orchestrator, processor: LiveProcessor
) -> None:
    setup = new_merchant(orchestrator, "No Processor")
    shop = Shop(orchestrator, setup, "", "", None)
    body = shop.card_payment(APPROVED)
    del body["customer_id"]
    error = assert_error(shop.pay(body), 422, "IR_06")
    assert error["field"] == "connector_id"
    assert "POST /v2/connector-accounts" in error["hint"]


def _vault_ids(orch: Orchestrator, merchant_id: str, pm_id: str) -> dict[str, str]:
    """The aliases a saved card holds (read the way the orchestrator does, for the test)."""
    key = decode_key(orch.settings.resolved_master_key_file().read_text())
    db = Database(orch.settings.resolved_database_url())
    try:
        record = db.read_sync(lambda conn: pm_repo.get(conn, Keyring(key), merchant_id, pm_id))
    finally:
        db.close()
    assert record is not None
    return dict(record.vault_ids.aliases)


def _delete_alias(vault: LiveVault, alias: str, storage: str) -> None:
    """Delete an alias in our vault behind the orchestrator's back (Vault API v2)."""
    token = httpx.post(
        f"{vault.url}/auth/realms/vgs/protocol/openid-connect/token",
        data={"grant_type": "client_credentials"},
        auth=(vault.client_id, vault.client_secret),
    )
    assert token.status_code == 200, token.text
    deleted = httpx.delete(
        f"{vault.url}/{vault.vault_id}/aliases/{alias}",
        params={"storage": storage},
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
    )
    assert deleted.status_code in (200, 204), deleted.text


def _failed_payment(shop: Shop, error: dict[str, Any], code: str) -> dict[str, Any]:
    assert error["payment_status"] == "failed"
    payment = shop.get(error["payment_id"]).json()
    assert payment["status"] == "failed"
    assert payment["error"]["code"] == code
    assert payment["connector_transaction_id"] is None
    return payment


def test_a_missing_alias_is_404_with_the_expiry_hint(
    any_orchestrator: Orchestrator, live_vault: LiveVault, processor: LiveProcessor
) -> None:
    shop = open_shop(any_orchestrator, processor.url, live_vault)
    pm_id = shop.save_card(APPROVED, with_cvc=True)
    aliases = _vault_ids(any_orchestrator, shop.setup.merchant_id, pm_id)
    _delete_alias(live_vault, aliases["card_cvc"], "VOLATILE")  # as if it had expired
    response = shop.pay(shop.saved_payment(pm_id))
    error = assert_error(response, 404, "alias_not_found")
    assert "VOLATILE" in error["hint"]
    assert "card_cvc" in error["hint"]  # send the CVC again
    payment = _failed_payment(shop, error, "alias_not_found")
    assert processor.authorizations(payment["id"]) == []
    # sending the CVC with the payment works without the expired alias
    assert shop.paid(shop.saved_payment(pm_id, cvc="123"))["status"] == "succeeded"
    # the card's own alias gone: 404 as well, nothing sent to the processor
    (card_alias,) = (a for name, a in aliases.items() if name != "card_cvc")
    _delete_alias(live_vault, card_alias, "PERSISTENT")
    gone = assert_error(shop.pay(shop.saved_payment(pm_id, cvc="123")), 404, "alias_not_found")
    assert "VOLATILE" in gone["hint"]
    assert processor.authorizations(_failed_payment(shop, gone, "alias_not_found")["id"]) == []


def test_vault_configuration_and_availability_errors(
    orchestrator: Orchestrator, tmp_path: Path, processor: LiveProcessor
) -> None:
    with serve_vault(tmp_path / "vault") as vault:
        shop = open_shop(orchestrator, processor.url, vault)
        pm_id = shop.save_card(APPROVED)
        # a wrong secret: the vault account is kept inactive by its connection test
        admin = orchestrator.admin(shop.setup.merchant_id)
        broken = orchestrator.http.put(
            f"/v2/connector-accounts/{shop.vault_account_id}",
            json={"connector_account_details": {"auth_type": "SignatureKey", "key1": "wrong"}},
            headers=admin,
        )
        assert broken.status_code == 200, broken.text
        assert broken.json()["status"] == "inactive"
        config = assert_error(shop.pay(shop.saved_payment(pm_id, cvc="123")), 424)
        assert _failed_payment(shop, config, config["code"])["payment_method_id"] == pm_id
        fixed = orchestrator.http.put(
            f"/v2/connector-accounts/{shop.vault_account_id}",
            json={"connector_account_details": vault.details()},
            headers=admin,
        )
        assert fixed.json()["status"] == "active", fixed.text
        assert shop.paid(shop.saved_payment(pm_id, cvc="123"))["status"] == "succeeded"
    # the vault server is gone
    down = shop.pay(shop.saved_payment(pm_id, cvc="123"))
    error = assert_error(down, 503, "vault_unavailable")
    payment = _failed_payment(shop, error, "vault_unavailable")
    assert processor.authorizations(payment["id"]) == []
