"""Customers over HTTP: ids, references, listing, isolation, PII at rest and in logs."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import structlog
from orch_support import Orchestrator, assert_error, new_merchant

from vaultswitch.logs import configure_logging

NAME = "Zelda Quarterstaff"
EMAIL = "zelda.quarterstaff@example.test"


def _customer(orch: Orchestrator, headers: dict[str, str], **body: object) -> dict[str, object]:
    payload = {"name": NAME, "email": EMAIL, **body}
    response = orch.http.post("/v2/customers", json=payload, headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def test_create_retrieve_and_find_by_reference(any_orchestrator: Orchestrator) -> None:
    orch = any_orchestrator
    setup = new_merchant(orch)
    created = _customer(
        orch, setup.headers, merchant_reference_id="cust_42", phone="555 0100", metadata={"a": 1}
    )
    assert re.fullmatch(r"cell1_cus_[0-9a-f]{32}", str(created["id"]))
    assert created["merchant_reference_id"] == "cust_42"
    assert created["name"] == NAME
    assert created["email"] == EMAIL
    assert created["phone"] == "555 0100"
    assert created["created_at"]
    by_id = orch.http.get(f"/v2/customers/{created['id']}", headers=setup.headers)
    assert by_id.json() == created
    by_ref = orch.http.get("/v2/customers/reference/cust_42", headers=setup.headers)
    assert by_ref.json() == created
    again = orch.http.post(
        "/v2/customers",
        json={"name": "x", "email": "x@y.z", "merchant_reference_id": "cust_42"},
        headers=setup.headers,
    )
    assert assert_error(again, 400, "IR_12")["field"] == "merchant_reference_id"
    no_ref = _customer(orch, setup.headers)
    assert no_ref["merchant_reference_id"] is None


def test_list_is_paginated_newest_first(orchestrator: Orchestrator) -> None:
    orch = orchestrator
    setup = new_merchant(orch)
    made = [_customer(orch, setup.headers, merchant_reference_id=f"r{i}")["id"] for i in range(5)]
    page1 = orch.http.get("/v2/customers/list?limit=2", headers=setup.headers).json()
    page2 = orch.http.get("/v2/customers/list?limit=2&offset=2", headers=setup.headers).json()
    page3 = orch.http.get("/v2/customers/list?limit=2&offset=4", headers=setup.headers).json()
    listed = [c["id"] for c in page1 + page2 + page3]
    assert listed == list(reversed(made))
    bad = orch.http.get("/v2/customers/list?limit=0", headers=setup.headers)
    assert assert_error(bad, 400, "IR_07")["field"] == "limit"


def test_customers_are_invisible_to_other_merchants(orchestrator: Orchestrator) -> None:
    orch = orchestrator
    first = new_merchant(orch, "first")
    second = new_merchant(orch, "second")
    customer = _customer(orch, first.headers, merchant_reference_id="shared_ref")
    foreign = orch.http.get(f"/v2/customers/{customer['id']}", headers=second.headers)
    unknown = orch.http.get("/v2/customers/cell1_cus_" + "0" * 32, headers=second.headers)
    assert_error(foreign, 404, "HE_02")
    assert foreign.json()["error"]["message"] == unknown.json()["error"]["message"]
    ref = orch.http.get("/v2/customers/reference/shared_ref", headers=second.headers)
    assert_error(ref, 404, "HE_02")
    assert orch.http.get("/v2/customers/list", headers=second.headers).json() == []
    # the same reference is free for another merchant
    _customer(orch, second.headers, merchant_reference_id="shared_ref")


def test_customer_validation_names_fields_without_echoing(orchestrator: Orchestrator) -> None:
    orch = orchestrator
    setup = new_merchant(orch)
    missing = orch.http.post("/v2/customers", json={"name": NAME}, headers=setup.headers)
    assert assert_error(missing, 400, "IR_04")["field"] == "email"
    bad_email = orch.http.post(
        "/v2/customers", json={"name": NAME, "email": "not-an-email"}, headers=setup.headers
    )
    assert assert_error(bad_email, 400, "IR_07")["field"] == "email"
    assert "not-an-email" not in bad_email.text
    unauthenticated = orch.http.post("/v2/customers", json={"name": NAME, "email": EMAIL})
    assert_error(unauthenticated, 401, "IR_01")


def _db_bytes(data_dir: Path) -> bytes:
    blob = b""
    for path in data_dir.glob("orchestrator.db*"):
        blob += path.read_bytes()
    return blob


def test_pii_is_sealed_at_rest_and_kept_out_of_logs(orchestrator: Orchestrator) -> None:
    orch = orchestrator
    setup = new_merchant(orch)
    stream = io.StringIO()
    configure_logging("info", stream=stream)
    try:
        customer = _customer(orch, setup.headers, merchant_reference_id="ref_in_path_only")
        orch.http.get("/v2/customers/reference/ref_in_path_only", headers=setup.headers)
        orch.http.get(f"/v2/customers/{customer['id']}", headers=setup.headers)
    finally:
        structlog.reset_defaults()
    log_text = stream.getvalue()
    assert NAME not in log_text
    assert EMAIL not in log_text
    assert "ref_in_path_only" not in log_text
    paths = {json.loads(line).get("path") for line in log_text.splitlines() if line.startswith("{")}
    assert "/v2/customers/reference/{merchant_reference_id}" in paths
    data = _db_bytes(orch.settings.data_dir)
    assert NAME.encode() not in data
    assert EMAIL.encode() not in data
