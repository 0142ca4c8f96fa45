"""``GET /v2/payments/list``: newest first, ``{count, total_count, data}``, filters by
customer and status, ``limit``/``offset`` pages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from orch_pay_support import APPROVED, LiveProcessor, open_shop, serve_processor
from orch_support import Orchestrator, assert_error


@pytest.fixture(scope="module")
def processor() -> Iterator[LiveProcessor]:
    with serve_processor() as live:
        yield live


def test_list_filters_and_pages(any_orchestrator: Orchestrator, processor: LiveProcessor) -> None:
    orch = any_orchestrator
    shop = open_shop(orch, processor.url)
    http = orch.http
    other_customer = http.post(
        "/v2/customers", json={"name": "B", "email": "b@example.test"}, headers=shop.headers
    ).json()["id"]
    made: list[dict[str, object]] = []
    for number, customer in (
        (APPROVED, shop.customer_id),
        ("4000000000000002", shop.customer_id),
        (APPROVED, other_customer),
        ("4000000000009995", other_customer),
        (APPROVED, shop.customer_id),
    ):
        made.append(shop.paid(shop.card_payment(number, customer_id=customer)))
    intent = http.post(
        "/v2/payments/create-intent", json={"amount_details": shop.amount()}, headers=shop.headers
    ).json()
    newest_first = [intent["id"], *(p["id"] for p in reversed(made))]

    def listed(query: str) -> dict[str, object]:
        response = http.get(f"/v2/payments/list{query}", headers=shop.headers)
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body

    everything = listed("")
    assert everything["count"] == 6
    assert everything["total_count"] == 6
    data = everything["data"]
    assert isinstance(data, list)
    assert [p["id"] for p in data] == newest_first
    first = data[1]
    assert first["status"] == "succeeded"
    assert first["merchant_id"] == shop.setup.merchant_id
    assert first["connector_payment_id"] == made[-1]["connector_transaction_id"]
    assert first["amount"]["order_amount"] == 1050
    assert first["is_split_payment"] is False

    pages = [listed(f"?limit=4&offset={offset}") for offset in (0, 4)]
    assert [p["count"] for p in pages] == [4, 2]
    assert [p["total_count"] for p in pages] == [6, 6]
    assert [q["id"] for page in pages for q in page["data"]] == newest_first  # type: ignore[attr-defined]

    mine = listed(f"?customer_id={shop.customer_id}")
    assert mine["total_count"] == 3
    failed = listed("?status=failed")
    assert {p["error"]["code"] for p in failed["data"]} == {"card_declined", "insufficient_funds"}  # type: ignore[attr-defined, index]
    both = listed(f"?status=failed,requires_payment_method&customer_id={other_customer}")
    assert [p["id"] for p in both["data"]] == [made[3]["id"]]  # type: ignore[attr-defined]
    assert listed("?status=cancelled")["total_count"] == 0
    assert listed(f"?profile_id={shop.setup.profile_id}")["total_count"] == 6
    assert listed("?profile_id=pro_other")["total_count"] == 0
    assert listed("?limit=2&offset=10")["data"] == []

    for bad, field in (("?status=paid", "status"), ("?limit=0", "limit"), ("?limit=101", "limit")):
        assert (
            assert_error(http.get(f"/v2/payments/list{bad}", headers=shop.headers), 400)["field"]
            == field
        )
    assert_error(http.get("/v2/payments/list"), 401, "IR_01")
