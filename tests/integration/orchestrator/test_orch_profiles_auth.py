"""Profiles and merchant authentication over HTTP."""

from __future__ import annotations

import sqlalchemy as sa
from orch_support import Orchestrator, assert_error, new_merchant

from vaultswitch.orchestrator.schema import api_keys


def test_default_profile_is_readable_by_admin_and_by_the_merchant_key(
    any_orchestrator: Orchestrator,
) -> None:
    orch = any_orchestrator
    setup = new_merchant(orch)
    path = f"/v2/profiles/{setup.profile_id}"
    by_key = orch.http.get(path, headers=setup.headers)
    assert by_key.status_code == 200, by_key.text
    profile = by_key.json()
    assert profile["merchant_id"] == setup.merchant_id
    assert profile["profile_name"] == "default"
    assert profile["is_external_vault_enabled"] is False
    assert profile["external_vault_connector_details"] is None
    by_admin = orch.http.get(path, headers=orch.admin(setup.merchant_id))
    assert by_admin.json() == profile
    v1_header = orch.http.get(path, headers={"api-key": setup.api_key})
    assert v1_header.status_code == 200


def test_create_and_update_profiles(orchestrator: Orchestrator) -> None:
    orch = orchestrator
    setup = new_merchant(orch)
    admin = orch.admin(setup.merchant_id)
    created = orch.http.post(
        "/v2/profiles",
        json={"profile_name": "eu", "return_url": "https://shop.example/back"},
        headers=admin,
    )
    assert created.status_code == 200, created.text
    profile = created.json()
    assert profile["id"].startswith("pro_")
    duplicate = orch.http.post("/v2/profiles", json={"profile_name": "eu"}, headers=admin)
    assert assert_error(duplicate, 400, "HE_01")["field"] == "profile_name"
    updated = orch.http.put(
        f"/v2/profiles/{profile['id']}",
        json={"metadata": {"region": "eu"}, "is_external_vault_enabled": "skip"},
        headers=setup.headers,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["metadata"] == {"region": "eu"}
    assert updated.json()["return_url"] == "https://shop.example/back"
    assert updated.json()["is_external_vault_enabled"] is False


def test_enabling_the_external_vault_needs_a_vault_connector_of_this_merchant(
    orchestrator: Orchestrator,
) -> None:
    orch = orchestrator
    setup = new_merchant(orch)
    path = f"/v2/profiles/{setup.profile_id}"
    for flag in (True, "enable"):
        error = assert_error(
            orch.http.put(path, json={"is_external_vault_enabled": flag}, headers=setup.headers),
            422,
            "IR_06",
        )
        assert error["field"] == "external_vault_connector_details"
    error = assert_error(
        orch.http.put(
            path,
            json={
                "is_external_vault_enabled": True,
                "external_vault_connector_details": {"vault_connector_id": "mca_nope"},
            },
            headers=setup.headers,
        ),
        422,
        "IR_06",
    )
    assert error["field"] == "external_vault_connector_details.vault_connector_id"
    error = assert_error(
        orch.http.put(path, json={"is_external_vault_enabled": "maybe"}, headers=setup.headers),
        400,
        "IR_07",
    )
    assert error["field"] == "is_external_vault_enabled"
    error = assert_error(
        orch.http.put(
            path,
            json={
                "external_vault_connector_details": {
                    "vault_connector_id": "mca_x",
                    "vault_sdk": "other_sdk",
                }
            },
            headers=setup.headers,
        ),
        400,
        "IR_07",
    )
    assert error["field"] == "external_vault_connector_details.vault_sdk"


def test_another_merchants_profile_is_not_found(orchestrator: Orchestrator) -> None:
    orch = orchestrator
    first = new_merchant(orch, "first")
    second = new_merchant(orch, "second")
    path = f"/v2/profiles/{first.profile_id}"
    assert_error(orch.http.get(path, headers=second.headers), 404, "HE_02")
    assert_error(orch.http.get("/v2/profiles/pro_unknown", headers=second.headers), 404, "HE_02")
    put = orch.http.put(path, json={"profile_name": "stolen"}, headers=second.headers)
    assert_error(put, 404, "HE_02")
    admin_other = orch.http.get(path, headers=orch.admin(second.merchant_id))
    assert_error(admin_other, 404, "HE_02")
    foreign_profile_header = orch.http.get(
        f"/v2/profiles/{second.profile_id}",
        headers={**second.headers, "X-Profile-Id": first.profile_id},
    )
    assert_error(foreign_profile_header, 404, "HE_02")


def test_missing_wrong_revoked_and_expired_keys_are_401(orchestrator: Orchestrator) -> None:
    orch = orchestrator
    setup = new_merchant(orch)
    path = f"/v2/profiles/{setup.profile_id}"
    assert_error(orch.http.get(path), 401, "IR_01")
    assert_error(orch.http.get(path, headers={"Authorization": "api-key="}), 401, "IR_01")
    wrong = {"Authorization": "api-key=" + setup.api_key[:-1] + "x"}
    assert_error(orch.http.get(path, headers=wrong), 401, "IR_01")
    assert_error(orch.http.get(path, headers={"Authorization": "Bearer abc"}), 401, "IR_01")

    expiring = orch.create_api_key(setup.merchant_id, expiration="2999-01-01T00:00:00Z")
    engine = sa.create_engine(f"sqlite:///{orch.settings.data_dir / 'orchestrator.db'}")
    with engine.begin() as conn:  # the clock moves past the expiry
        conn.execute(
            api_keys.update()
            .where(api_keys.c.key_id == expiring["key_id"])
            .values(expires_at=sa.func.datetime("now", "-1 minute"))
        )
    engine.dispose()
    expired = {"Authorization": f"api-key={expiring['api_key']}"}
    error = assert_error(orch.http.get(path, headers=expired), 401, "IR_01")
    assert "expired" in error["message"]

    revoked = orch.create_api_key(setup.merchant_id)
    orch.http.delete(f"/v2/api-keys/{revoked['key_id']}", headers=orch.admin(setup.merchant_id))
    gone = {"Authorization": f"api-key={revoked['api_key']}"}
    assert_error(orch.http.get(path, headers=gone), 401, "IR_01")
    assert orch.http.get(path, headers=setup.headers).status_code == 200
    for response in (orch.http.get(path, headers=wrong), orch.http.get(path, headers=gone)):
        assert setup.api_key not in response.text


def test_merchant_keys_cannot_use_admin_routes(orchestrator: Orchestrator) -> None:
    orch = orchestrator
    setup = new_merchant(orch)
    create = orch.http.post("/v2/profiles", json={"profile_name": "x"}, headers=setup.headers)
    assert_error(create, 401, "IR_01")
    keys = orch.http.get(
        "/v2/api-keys/list", headers={**setup.headers, "X-Merchant-Id": setup.merchant_id}
    )
    assert_error(keys, 401, "IR_01")
