"""`vaultswitch doctor ACCOUNT_ID`: the orchestrator runs every doctor check with the
credentials it keeps (POST /v2/connector-accounts/{id}/verify with {"checks": "doctor"}),
against our real vault on loopback; the command finds the orchestrator through flags,
environment or up.json."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from orch_support import LiveVault, MerchantSetup, Orchestrator, assert_error, new_merchant

from vaultswitch.up.upfile import write_up_file

BASE = [
    "auth_dns",
    "auth_tcp",
    "auth_tls",
    "vault_dns",
    "vault_tcp",
    "vault_tls",
    "token",
    "scopes",
    "vault",
    "clock_skew",
]
ROOT = Path(__file__).resolve().parents[3]


def _account(
    orch: Orchestrator, setup: MerchantSetup, vault: LiveVault, **extra: Any
) -> dict[str, Any]:
    response = orch.http.post(
        "/v2/connector-accounts",
        json=vault.vgs_account(setup.profile_id, **extra),
        headers=orch.admin(setup.merchant_id),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _verify(
    orch: Orchestrator, account_id: str, headers: dict[str, str], body: Any = None
) -> httpx.Response:
    path = f"/v2/connector-accounts/{account_id}/verify"
    if body is None:
        return orch.http.post(path, headers=headers)
    return orch.http.post(path, json=body, headers=headers)


def _checks(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in answer["verification"]["checks"]}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the endpoint --------------------------------------------------------------------------


def test_the_merchant_runs_doctor_on_its_account_and_nothing_stored_changes(
    orchestrator: Orchestrator, live_vault: LiveVault
) -> None:
    orch = orchestrator
    setup = new_merchant(orch)
    account = _account(orch, setup, live_vault)
    response = _verify(orch, account["id"], setup.headers, {"checks": "doctor", "write": True})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["id"] == account["id"]
    assert answer["status"] == "active"
    verification = answer["verification"]
    assert verification["ok"] is True, verification
    assert [c["name"] for c in verification["checks"]] == [*BASE, "round_trip"]
    assert all(
        set(c) == {"name", "ok", "code", "message", "hint", "ms"} for c in verification["checks"]
    )
    assert "it matched" in _checks(answer)["round_trip"]["message"]
    stored = orch.http.get(f"/v2/connector-accounts/{account['id']}", headers=setup.headers)
    assert [c["name"] for c in stored.json()["verification"]["checks"]] == ["token", "vault"]
    assert stored.json()["verified_at"] == account["verified_at"]
    assert live_vault.client_secret not in response.text
    assert live_vault.client_id not in response.text


def test_the_admin_key_runs_doctor_too_and_the_plain_test_is_unchanged(
    orchestrator: Orchestrator, live_vault: LiveVault
) -> None:
    orch = orchestrator
    setup = new_merchant(orch)
    account = _account(orch, setup, live_vault)
    admin = orch.admin(setup.merchant_id)
    doctor = _verify(orch, account["id"], admin, {"checks": "doctor"})
    assert doctor.status_code == 200, doctor.text
    assert [c["name"] for c in doctor.json()["verification"]["checks"]] == BASE
    plain = _verify(orch, account["id"], admin)
    assert plain.status_code == 200
    assert [c["name"] for c in plain.json()["verification"]["checks"]] == ["token", "vault"]
    connection = _verify(orch, account["id"], admin, {"checks": "connection"})
    assert [c["name"] for c in connection.json()["verification"]["checks"]] == ["token", "vault"]
    # the plain test stays an admin route
    assert_error(_verify(orch, account["id"], setup.headers), 401, "IR_01")
    assert_error(_verify(orch, account["id"], setup.headers, {"checks": "connection"}), 401)


def test_bad_bodies_and_foreign_accounts_are_refused(
    orchestrator: Orchestrator, live_vault: LiveVault
) -> None:
    orch = orchestrator
    setup = new_merchant(orch)
    other = new_merchant(orch, "other")
    account = _account(orch, setup, live_vault)
    admin = orch.admin(setup.merchant_id)
    error = assert_error(_verify(orch, account["id"], admin, {"write": True}), 422, "IR_06")
    assert error["field"] == "checks"
    assert_error(_verify(orch, account["id"], setup.headers, {"write": True}), 401, "IR_01")
    assert_error(_verify(orch, account["id"], setup.headers, {"checks": "everything"}), 400)
    assert_error(_verify(orch, account["id"], setup.headers, {"checks": "doctor", "x": 1}), 400)
    assert_error(
        _verify(orch, account["id"], setup.headers, {"checks": "doctor", "storage": "SOMETIMES"}),
        400,
    )
    assert_error(_verify(orch, account["id"], other.headers, {"checks": "doctor"}), 404, "HE_02")
    assert_error(_verify(orch, "mca_nosuchaccount", setup.headers, {"checks": "doctor"}), 404)
    no_key = orch.http.post(
        f"/v2/connector-accounts/{account['id']}/verify", json={"checks": "doctor"}
    )
    assert_error(no_key, 401, "IR_01")


def test_doctor_diagnoses_an_inactive_account_and_an_unknown_alias(
    orchestrator: Orchestrator, live_vault: LiveVault
) -> None:
    orch = orchestrator
    setup = new_merchant(orch)
    broken = orch.http.post(
        "/v2/connector-accounts",
        json={
            **live_vault.vgs_account(setup.profile_id),
            "connector_account_details": live_vault.details(key1="typo-in-the-secret"),
        },
        headers=orch.admin(setup.merchant_id),
    ).json()
    assert broken["status"] == "inactive"
    answer = _verify(orch, broken["id"], setup.headers, {"checks": "doctor"}).json()
    assert answer["status"] == "inactive"
    checks = _checks(answer)
    assert checks["token"]["code"] == "vault_authentication_failed"
    assert checks["vault"]["code"] == "skipped"
    good = _account(orch, setup, live_vault, connector_label="good")
    body = {"checks": "doctor", "alias": "tok_sandbox_nosuchalias000000000000"}
    alias = _checks(_verify(orch, good["id"], setup.headers, body).json())["alias"]
    assert alias["code"] == "alias_not_found"
    assert "VOLATILE" in alias["hint"]


def test_the_accounts_proxy_is_checked_without_showing_its_password(
    orchestrator: Orchestrator, live_vault: LiveVault
) -> None:
    orch = orchestrator
    setup = new_merchant(orch)
    port = _closed_port()
    metadata = {
        **live_vault.metadata(),
        "proxy_url": f"http://US9R2M2B:proxy-secret-77@127.0.0.1:{port}",
    }
    account = _account(orch, setup, live_vault, metadata=metadata)
    response = _verify(orch, account["id"], setup.headers, {"checks": "doctor"})
    proxy = _checks(response.json())["proxy"]
    assert proxy["code"] == "proxy_unreachable"
    assert f"127.0.0.1:{port}" in proxy["message"]
    assert "proxy-secret-77" not in response.text


# --- the command ---------------------------------------------------------------------------


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VAULTSWITCH_")}
    clean["COLUMNS"] = "200"
    clean.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "vaultswitch.cli", "doctor", *args],
        capture_output=True,
        text=True,
        env=clean,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def _up_json(tmp_path: Path, orch: Orchestrator, setup: MerchantSetup, account_id: str) -> Path:
    data_dir = tmp_path / "up"
    write_up_file(
        data_dir,
        {
            "orchestrator_url": orch.url,
            "api_key": setup.api_key,
            "vault_connector_id": account_id,
        },
    )
    return data_dir


def test_cli_doctor_account_id_reads_the_orchestrator_from_up_json(
    orchestrator: Orchestrator, live_vault: LiveVault, tmp_path: Path
) -> None:
    orch = orchestrator
    setup = new_merchant(orch)
    account = _account(orch, setup, live_vault)
    data_dir = _up_json(tmp_path, orch, setup, account["id"])
    result = _cli(account["id"], "--data-dir", str(data_dir), "--write", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    body = json.loads(result.stdout)
    assert set(body) == {"ok", "checks"}
    assert body["ok"] is True
    assert [c["name"] for c in body["checks"]] == [*BASE, "round_trip"]
    # no ACCOUNT_ID: up.json's vault_connector_id; the table for people
    table = _cli("--data-dir", str(data_dir))
    assert table.returncode == 0, table.stdout + table.stderr
    assert f"connector account {account['id']} (vgs, status active)" in table.stdout
    assert "All 10 checks passed." in table.stdout
    for text in (result.stdout, result.stderr, table.stdout, table.stderr):
        assert setup.api_key not in text
        assert live_vault.client_secret not in text


def test_cli_doctor_account_id_from_the_environment_and_its_failures(
    orchestrator: Orchestrator, live_vault: LiveVault, tmp_path: Path
) -> None:
    orch = orchestrator
    setup = new_merchant(orch)
    broken = orch.http.post(
        "/v2/connector-accounts",
        json={
            **live_vault.vgs_account(setup.profile_id),
            "connector_account_details": live_vault.details(key1="typo-in-the-secret"),
        },
        headers=orch.admin(setup.merchant_id),
    ).json()
    env = {"VAULTSWITCH_ORCHESTRATOR_URL": orch.url, "VAULTSWITCH_API_KEY": setup.api_key}
    empty = str(tmp_path / "no-up-json-here")
    failed = _cli(broken["id"], "--json", "--data-dir", empty, env=env)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    codes = {c["name"]: c["code"] for c in json.loads(failed.stdout)["checks"]}
    assert codes["token"] == "vault_authentication_failed"
    unknown = _cli("mca_nosuchaccount", "--data-dir", empty, env=env)
    assert unknown.returncode == 2
    assert "HTTP 404 HE_02" in unknown.stderr
    assert unknown.stdout == ""
    wrong_key = _cli(broken["id"], "--data-dir", empty, "--api-key", "snd_not-a-key", env=env)
    assert wrong_key.returncode == 2
    assert "IR_01" in wrong_key.stderr
    down = _cli(
        broken["id"],
        "--data-dir",
        empty,
        "--orchestrator-url",
        f"http://127.0.0.1:{_closed_port()}",
        env=env,
    )
    assert down.returncode == 1
    assert "no answer from the orchestrator" in down.stderr
    assert "vaultswitch up" in down.stderr
    for result in (failed, unknown, wrong_key, down):
        assert setup.api_key not in result.stdout + result.stderr
