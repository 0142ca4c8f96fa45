"""Over HTTP: a card number in a free-text field is refused (422 naming the field, the value
never echoed) on every kind of route, and nothing is stored."""

from __future__ import annotations

from orch_support import Orchestrator, assert_error, new_merchant

PAN = "4242424242424242"


def test_card_numbers_outside_card_fields_are_refused(orchestrator: Orchestrator) -> None:
    setup = new_merchant(orchestrator)
    http = orchestrator.http
    cases = [
        ("/v2/customers", {"name": "A", "email": "a@e.x", "merchant_reference_id": PAN}),
        ("/v2/customers", {"name": "A", "email": "a@e.x", "metadata": {"note": f"card {PAN}"}}),
        (
            "/v2/payments/create-intent",
            {"amount_details": {"order_amount": 100, "currency": "USD"}, "metadata": {"n": PAN}},
        ),
    ]
    for path, body in cases:
        response = http.post(path, json=body, headers=setup.headers)
        error = assert_error(response, 422, "IR_06")
        assert "card number" in error["message"]
        assert error["field"] in ("merchant_reference_id", "metadata.note", "metadata.n")
        assert PAN not in response.text
    listed = http.get("/v2/customers/list", headers=setup.headers)
    assert listed.status_code == 200
    assert listed.json() == []  # nothing half-written


def test_nul_characters_are_refused_naming_the_field(any_orchestrator: Orchestrator) -> None:
    """PostgreSQL text cannot hold NUL: a 400 naming the field, never a 500."""
    setup = new_merchant(any_orchestrator)
    http = any_orchestrator.http
    got = http.get("/v2/customers/a%00b", headers=setup.headers)
    assert assert_error(got, 400, "IR_07")["field"] == "customer_id"
    got = http.get("/v2/payments/list?customer_id=a%00b", headers=setup.headers)
    assert assert_error(got, 400, "IR_07")["field"] == "customer_id"
    got = http.post(
        "/v2/customers", json={"name": "a\x00b", "email": "a@e.x"}, headers=setup.headers
    )
    assert assert_error(got, 400, "IR_07")["field"] == "name"
    assert http.get("/v2/customers/list", headers=setup.headers).json() == []
