"""Connector accounts and VGS activation against our real vault over loopback HTTP."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from orch_support import (
    LiveVault,
    MerchantSetup,
    Orchestrator,
    assert_error,
    new_merchant,
    orchestrator_settings,
    serve_orchestrator,
)

from vaultswitch.client.checks import UNREACHABLE


def _create(orch: Orchestrator, setup: MerchantSetup, body: dict[str, Any]) -> httpx.Response:
    return orch.http.post(
        "/v2/connector-accounts", json=body, headers=orch.admin(setup.merchant_id)
    )


def _created(orch: Orchestrator, setup: MerchantSetup, body: dict[str, Any]) -> dict[str, Any]:
    response = _create(orch, setup, body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _failed_check(account: dict[str, Any]) -> dict[str, Any]:
    verification = account["verification"]
    assert verification["ok"] is False
    failed = [
        check for check in verification["checks"] if not check["ok"] and check["code"] != "skipped"
    ]
    assert failed, verification
    return failed[0]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _assert_no_secret(text: str, vault: LiveVault) -> None:
    assert vault.client_secret not in text
    assert vault.client_id not in text


def test_right_credentials_activate_the_account(
    any_orchestrator: Orchestrator, live_vault: LiveVault
) -> None:
    orch = any_orchestrator
    setup = new_merchant(orch)
    account = _created(orch, setup, live_vault.vgs_account(setup.profile_id))
    assert account["id"].startswith("mca_")
    assert account["status"] == "active"
    assert account["disabled"] is False
    assert account["connector_label"] == "vgs_default"
    verification = account["verification"]
    assert verification["ok"] is True
    assert [c["name"] for c in verification["checks"]] == ["token", "vault"]
    assert all(c["ok"] and c["code"] == "ok" for c in verification["checks"])
    details = account["connector_account_details"]
    assert details["auth_type"] == "SignatureKey"
    secret = live_vault.client_secret
    assert details["key1"] == secret[:2] + "*" * (len(secret) - 4) + secret[-2:]
    assert details["api_secret"] == live_vault.vault_id[:2] + "*******" + live_vault.vault_id[-2:]
    assert account["metadata"] == live_vault.metadata()
    fetched = orch.http.get(f"/v2/connector-accounts/{account['id']}", headers=setup.headers)
    assert fetched.status_code == 200
    assert fetched.json()["connector_account_details"] == details
    listed = orch.http.get(
        f"/v2/profiles/{setup.profile_id}/connector-accounts", headers=setup.headers
    )
    [item] = listed.json()
    assert item["id"] == account["id"]
    assert item["status"] == "active"
    assert "connector_account_details" not in item
    for response in (fetched, listed):
        _assert_no_secret(response.text, live_vault)


def test_wrong_secret_is_kept_inactive_with_the_oauth_diagnosis(
    orchestrator: Orchestrator, live_vault: LiveVault
) -> None:
    orch = orchestrator
    setup = new_merchant(orch)
    body = live_vault.vgs_account(setup.profile_id)
    body["connector_account_details"] = live_vault.details(key1="wrong-secret-value")
    account = _created(orch, setup, body)
    assert account["status"] == "inactive"
    failed = _failed_check(account)
    assert failed["name"] == "token"
    assert failed["code"] == "vault_authentication_failed"
    assert "secret" in failed["hint"].lower()
    assert "wrong-secret-value" not in str(account)
    kept = orch.http.get(f"/v2/connector-accounts/{account['id']}", headers=setup.headers)
    assert kept.json()["status"] == "inactive"


def test_wrong_vault_id_is_kept_inactive_with_the_vault_not_found_diagnosis(
    orchestrator: Orchestrator, live_vault: LiveVault
) -> None:
    orch = orchestrator
    setup = new_merchant(orch)
    body = live_vault.vgs_account(setup.profile_id)
    body["connector_account_details"] = live_vault.details(api_secret="tntzzzzzzzz")
    account = _created(orch, setup, body)
    assert account["status"] == "inactive"
    failed = _failed_check(account)
    assert failed["name"] == "vault"
    assert failed["code"] == "vault_not_found"
    assert "vault id" in failed["hint"].lower()


def test_unreachable_vault_is_kept_inactive_with_the_network_diagnosis(
    orchestrator: Orchestrator,
) -> None:
    orch = orchestrator
    setup = new_merchant(orch)
    port = _closed_port()
    body = {
        "connector_type": "vault_processor",
        "connector_name": "vgs",
        "profile_id": setup.profile_id,
        "connector_account_details": {
            "auth_type": "SignatureKey",
            "api_key": "ACnobody",
            "key1": "nobody-secret",
            "api_secret": "tntabc12345",
        },
        "metadata": {
            "vault_base_url": f"http://127.0.0.1:{port}/{{{{vault_id}}}}/",
            "auth_base_url": f"http://127.0.0.1:{port}/",
        },
    }
    account = _created(orch, setup, body)
    assert account["status"] == "inactive"
    failed = _failed_check(account)
    assert failed["name"] == "token"
    assert failed["code"] == UNREACHABLE
    assert f"127.0.0.1:{port}" in failed["message"] + failed["hint"]


def test_fix_with_put_then_verify_activates(
    orchestrator: Orchestrator, live_vault: LiveVault
) -> None:
    orch = orchestrator
    setup = new_merchant(orch)
    body = live_vault.vgs_account(setup.profile_id)
    body["connector_account_details"] = live_vault.details(key1="typo-in-the-secret")
    account = _created(orch, setup, body)
    assert account["status"] == "inactive"
    path = f"/v2/connector-accounts/{account['id']}"
    admin = orch.admin(setup.merchant_id)
    fixed = orch.http.put(
        path,
        json={
            "connector_type": "vault_processor",
            "connector_account_details": {
                "auth_type": "SignatureKey",
                "key1": live_vault.client_secret,
            },
        },
        headers=admin,
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["status"] == "active"
    verified = orch.http.post(path + "/verify", headers=admin)
    assert verified.status_code == 200
    assert verified.json()["status"] == "active"
    assert verified.json()["verification"]["ok"] is True
    relabelled = orch.http.put(path, json={"connector_label": "main vault"}, headers=admin)
    assert relabelled.json()["connector_label"] == "main vault"
    assert relabelled.json()["status"] == "active"
    broken = orch.http.put(
        path,
        json={"metadata": {"auth_base_url": f"http://127.0.0.1:{_closed_port()}/"}},
        headers=admin,
    )
    assert broken.json()["status"] == "inactive"
    assert broken.json()["metadata"]["vault_base_url"] == live_vault.metadata()["vault_base_url"]
    for response in (fixed, verified, relabelled, broken):
        _assert_no_secret(response.text, live_vault)


@pytest.mark.parametrize(
    ("details", "status", "code", "field", "label"),
    [
        (
            {"auth_type": "SignatureKey", "key1": "s", "api_secret": "tntabc12345"},
            400,
            "IR_04",
            "connector_account_details.api_key",
            "Username (API Key)",
        ),
        (
            {"auth_type": "SignatureKey", "api_key": "c", "api_secret": "tntabc12345"},
            400,
            "IR_04",
            "connector_account_details.key1",
            "Password (Key1)",
        ),
        (
            {"auth_type": "SignatureKey", "api_key": "c", "key1": "s"},
            400,
            "IR_04",
            "connector_account_details.api_secret",
            "Vault ID (API Secret)",
        ),
        (
            {"auth_type": "SignatureKey", "api_key": "c", "key1": 7, "api_secret": "tntabc12345"},
            400,
            "IR_07",
            "connector_account_details.key1",
            "Password (Key1)",
        ),
        (
            {"auth_type": "SignatureKey", "api_key": "c", "key1": "s", "api_secret": "NOT-A-VAULT"},
            422,
            "IR_06",
            "connector_account_details.api_secret",
            "Vault ID (API Secret)",
        ),
        (
            {"auth_type": "HeaderKey", "api_key": "c"},
            422,
            "IR_06",
            "connector_account_details.auth_type",
            None,
        ),
        (None, 400, "IR_04", "connector_account_details", None),
    ],
)
def test_credential_errors_name_the_field_by_its_control_center_label(
    orchestrator: Orchestrator,
    details: dict[str, Any] | None,
    status: int,
    code: str,
    field: str,
    label: str | None,
) -> None:
    orch = orchestrator
    setup = new_merchant(orch)
    body: dict[str, Any] = {
        "connector_type": "vault_processor",
        "connector_name": "vgs",
        "profile_id": setup.profile_id,
    }
    if details is not None:
        body["connector_account_details"] = details
    error = assert_error(_create(orch, setup, body), status, code)
    assert error["field"] == field
    if label is not None:
        assert f"{label} ({field})" in error["message"]
    assert "NOT-A-VAULT" not in error["message"]


def test_other_body_errors(orchestrator: Orchestrator, live_vault: LiveVault) -> None:
    orch = orchestrator
    setup = new_merchant(orch)
    other = new_merchant(orch, "other")
    body = live_vault.vgs_account(setup.profile_id)
    error = assert_error(_create(orch, setup, {**body, "connector_name": "stripe"}), 422, "IR_06")
    assert error["field"] == "connector_name"
    error = assert_error(_create(orch, setup, {**body, "connector_type": "payout"}), 400, "IR_07")
    assert error["field"] == "connector_type"
    missing = {k: v for k, v in body.items() if k != "profile_id"}
    assert assert_error(_create(orch, setup, missing), 400, "IR_04")["field"] == "profile_id"
    foreign = _create(orch, setup, {**body, "profile_id": other.profile_id})
    assert_error(foreign, 404, "HE_02")
    bad_url = {**body, "metadata": {"vault_base_url": "ftp://nowhere"}}
    error = assert_error(_create(orch, setup, bad_url), 422, "IR_06")
    assert error["field"] == "metadata.vault_base_url"
    no_admin = orch.http.post("/v2/connector-accounts", json=body, headers=setup.headers)
    assert_error(no_admin, 401, "IR_01")
    for response_text in (str(error),):
        _assert_no_secret(response_text, live_vault)


def test_accounts_of_another_merchant_answer_404(
    orchestrator: Orchestrator, live_vault: LiveVault
) -> None:
    orch = orchestrator
    owner = new_merchant(orch, "owner")
    other = new_merchant(orch, "other")
    account = _created(orch, owner, live_vault.vgs_account(owner.profile_id))
    path = f"/v2/connector-accounts/{account['id']}"
    assert_error(orch.http.get(path, headers=other.headers), 404, "HE_02")
    admin_other = orch.admin(other.merchant_id)
    assert_error(orch.http.put(path, json={"disabled": True}, headers=admin_other), 404, "HE_02")
    assert_error(orch.http.post(path + "/verify", headers=admin_other), 404, "HE_02")
    assert_error(orch.http.delete(path, headers=admin_other), 404, "HE_02")
    listed = orch.http.get(
        f"/v2/profiles/{owner.profile_id}/connector-accounts", headers=other.headers
    )
    assert_error(listed, 404, "HE_02")
    enable = orch.http.put(
        f"/v2/profiles/{other.profile_id}",
        json={
            "is_external_vault_enabled": True,
            "external_vault_connector_details": {"vault_connector_id": account["id"]},
        },
        headers=other.headers,
    )
    assert assert_error(enable, 422, "IR_06")["field"] == (
        "external_vault_connector_details.vault_connector_id"
    )
    assert orch.http.get(path, headers=owner.headers).status_code == 200


def test_profile_uses_the_vault_account_and_it_cannot_be_deleted_while_in_use(
    orchestrator: Orchestrator, live_vault: LiveVault
) -> None:
    orch = orchestrator
    setup = new_merchant(orch)
    account = _created(orch, setup, live_vault.vgs_account(setup.profile_id))
    processor = _created(
        orch,
        setup,
        {
            "connector_type": "payment_processor",
            "connector_name": "sandbox",
            "profile_id": setup.profile_id,
            "connector_account_details": {"auth_type": "HeaderKey", "api_key": "sk_sandbox_123"},
            "metadata": {"base_url": "http://127.0.0.1:8222/"},
        },
    )
    assert processor["status"] == "active"
    assert processor["verification"] is None
    assert processor["connector_account_details"] == {
        "auth_type": "HeaderKey",
        "api_key": "sk**********23",
    }
    profile_path = f"/v2/profiles/{setup.profile_id}"
    not_a_vault = orch.http.put(
        profile_path,
        json={
            "is_external_vault_enabled": True,
            "external_vault_connector_details": {"vault_connector_id": processor["id"]},
        },
        headers=setup.headers,
    )
    assert_error(not_a_vault, 422, "IR_06")
    enabled = orch.http.put(
        profile_path,
        json={
            "is_external_vault_enabled": "enable",
            "external_vault_connector_details": {
                "vault_connector_id": account["id"],
                "vault_sdk": "vgs_sdk",
                "vault_token_selector": [{"token_type": "card_number"}],
                "multi_token": True,
            },
        },
        headers=setup.headers,
    )
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["is_external_vault_enabled"] is True
    assert enabled.json()["external_vault_connector_details"]["multi_token"] is True
    admin = orch.admin(setup.merchant_id)
    path = f"/v2/connector-accounts/{account['id']}"
    in_use = orch.http.delete(path, headers=admin)
    assert_error(in_use, 422, "IR_06")
    orch.http.put(profile_path, json={"is_external_vault_enabled": False}, headers=setup.headers)
    orch.http.put(
        profile_path, json={"external_vault_connector_details": None}, headers=setup.headers
    )
    deleted = orch.http.delete(path, headers=admin)
    assert deleted.json() == {
        "merchant_id": setup.merchant_id,
        "id": account["id"],
        "deleted": True,
    }
    assert_error(orch.http.get(path, headers=admin), 404, "HE_02")
    assert_error(
        orch.http.post(f"/v2/connector-accounts/{processor['id']}/verify", headers=admin),
        422,
        "IR_06",
    )


def test_credentials_are_not_in_the_database_file_in_clear(
    orchestrator: Orchestrator, live_vault: LiveVault
) -> None:
    orch = orchestrator
    setup = new_merchant(orch)
    _created(orch, setup, live_vault.vgs_account(setup.profile_id))
    data = b"".join(p.read_bytes() for p in orch.settings.data_dir.glob("orchestrator.db*"))
    assert live_vault.client_secret.encode() not in data
    assert live_vault.client_id.encode() not in data
    # (the vault ID is an identifier, part of the vault's host name: the connection test's
    # messages name it, so it is not checked here)


def test_activation_on_postgres_with_the_token_cache_in_redis(
    tmp_path: Path, postgres_url: str, redis_url: str, redis_prefix: str, live_vault: LiveVault
) -> None:
    settings = orchestrator_settings(
        tmp_path / "orchestrator",
        database_url=postgres_url,
        redis_url=redis_url,
        redis_prefix=redis_prefix,
    )
    with serve_orchestrator(settings) as orch:
        setup = new_merchant(orch)
        account = _created(orch, setup, live_vault.vgs_account(setup.profile_id))
        assert account["status"] == "active"
        verified = orch.http.post(
            f"/v2/connector-accounts/{account['id']}/verify", headers=orch.admin(setup.merchant_id)
        )
        assert verified.json()["status"] == "active"
