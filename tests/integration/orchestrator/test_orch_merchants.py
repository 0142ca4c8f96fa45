"""Merchant accounts and API keys over HTTP."""

from __future__ import annotations

import sqlalchemy as sa
from orch_support import Orchestrator, assert_error


def test_create_merchant_answers_hyperswitch_shape_with_a_default_profile(
    any_orchestrator: Orchestrator,
) -> None:
    orch = any_orchestrator
    merchant = orch.create_merchant("Acme Shop")
    assert merchant["merchant_name"] == "Acme Shop"
    assert merchant["id"].startswith("acmeshop_")
    assert merchant["publishable_key"].startswith("pk_snd_")
    assert merchant["default_profile"].startswith("pro_")
    assert merchant["organization_id"]
    again = orch.http.get(f"/v2/merchant-accounts/{merchant['id']}", headers=orch.admin())
    assert again.status_code == 200
    assert again.json() == merchant


def test_merchant_routes_need_the_admin_key(orchestrator: Orchestrator) -> None:
    http = orchestrator.http
    body = {"merchant_name": "x"}
    assert_error(http.post("/v2/merchant-accounts", json=body), 401, "IR_01")
    wrong = {"Authorization": "admin-api-key=not-the-key"}
    assert_error(http.post("/v2/merchant-accounts", json=body, headers=wrong), 401, "IR_01")
    as_merchant = {"Authorization": "api-key=snd_whatever"}
    assert_error(http.post("/v2/merchant-accounts", json=body, headers=as_merchant), 401, "IR_01")


def test_merchant_validation_names_the_field(orchestrator: Orchestrator) -> None:
    http, admin = orchestrator.http, orchestrator.admin()
    error = assert_error(http.post("/v2/merchant-accounts", json={}, headers=admin), 400, "IR_04")
    assert error["field"] == "merchant_name"
    error = assert_error(
        http.post("/v2/merchant-accounts", json={"merchant_name": "a" * 65}, headers=admin),
        400,
        "IR_07",
    )
    assert error["field"] == "merchant_name"
    error = assert_error(
        http.post(
            "/v2/merchant-accounts", json={"merchant_name": "a", "colour": "red"}, headers=admin
        ),
        400,
        "IR_07",
    )
    assert error["field"] == "colour"
    unknown = http.get("/v2/merchant-accounts/nobody_123", headers=admin)
    assert_error(unknown, 404, "HE_02")


def test_api_keys_are_shown_once_listed_by_prefix_and_revocable(
    any_orchestrator: Orchestrator,
) -> None:
    orch = any_orchestrator
    merchant_id = orch.create_merchant()["id"]
    created = orch.create_api_key(merchant_id, name="checkout", description="web shop")
    key = created["api_key"]
    assert key.startswith("snd_")
    assert len(key) == 68
    assert created["expiration"] == "never"
    assert created["merchant_id"] == merchant_id
    headers = orch.admin(merchant_id)
    listed = orch.http.get("/v2/api-keys/list", headers=headers)
    assert listed.status_code == 200
    [item] = listed.json()
    assert item["key_id"] == created["key_id"]
    assert item["prefix"] == key[:12]
    assert key not in listed.text
    one = orch.http.get(f"/v2/api-keys/{created['key_id']}", headers=headers)
    assert one.json() == item
    renamed = orch.http.put(
        f"/v2/api-keys/{created['key_id']}", json={"name": "renamed"}, headers=headers
    )
    assert renamed.json()["name"] == "renamed"
    revoked = orch.http.delete(f"/v2/api-keys/{created['key_id']}", headers=headers)
    assert revoked.json() == {
        "merchant_id": merchant_id,
        "key_id": created["key_id"],
        "revoked": True,
    }
    assert_error(orch.http.get(f"/v2/api-keys/{created['key_id']}", headers=headers), 404, "HE_02")
    assert orch.http.get("/v2/api-keys/list", headers=headers).json() == []


def test_api_key_requests_need_a_merchant_header_and_a_future_expiry(
    orchestrator: Orchestrator,
) -> None:
    orch = orchestrator
    body = {"name": "k", "expiration": "never"}
    error = assert_error(
        orch.http.post("/v2/api-keys", json=body, headers=orch.admin()), 422, "IR_06"
    )
    assert error["field"] == "X-Merchant-Id"
    unknown = orch.http.post("/v2/api-keys", json=body, headers=orch.admin("nobody_1"))
    assert_error(unknown, 404, "HE_02")
    merchant_id = orch.create_merchant()["id"]
    past = {"name": "k", "expiration": "2001-01-01T00:00:00Z"}
    error = assert_error(
        orch.http.post("/v2/api-keys", json=past, headers=orch.admin(merchant_id)), 422, "IR_06"
    )
    assert error["field"] == "expiration"
    garbage = {"name": "k", "expiration": "soon"}
    error = assert_error(
        orch.http.post("/v2/api-keys", json=garbage, headers=orch.admin(merchant_id)), 400, "IR_07"
    )
    assert error["field"] == "expiration"
    future = orch.create_api_key(merchant_id, expiration="2999-01-01T00:00:00Z")
    assert future["expiration"] == "2999-01-01T00:00:00.000Z"


def test_api_keys_of_one_merchant_are_invisible_to_another(orchestrator: Orchestrator) -> None:
    orch = orchestrator
    first = orch.create_merchant("first")["id"]
    second = orch.create_merchant("second")["id"]
    key = orch.create_api_key(first)
    other = orch.http.get(f"/v2/api-keys/{key['key_id']}", headers=orch.admin(second))
    assert_error(other, 404, "HE_02")
    revoke = orch.http.delete(f"/v2/api-keys/{key['key_id']}", headers=orch.admin(second))
    assert_error(revoke, 404, "HE_02")


def test_the_database_holds_only_a_hash_of_the_key(orchestrator: Orchestrator) -> None:
    orch = orchestrator
    key = orch.create_api_key(orch.create_merchant()["id"])["api_key"]
    db_file = orch.settings.data_dir / "orchestrator.db"
    engine = sa.create_engine(f"sqlite:///{db_file}")
    with engine.connect() as conn:  # flush the WAL into the main file
        conn.exec_driver_sql("PRAGMA wal_checkpoint(FULL)")
    engine.dispose()
    data = db_file.read_bytes()
    wal = db_file.with_name(db_file.name + "-wal")
    if wal.exists():
        data += wal.read_bytes()
    assert key.encode() not in data
    assert key[12:].encode() not in data
