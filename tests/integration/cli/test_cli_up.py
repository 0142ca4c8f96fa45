"""`vaultswitch up` as a user runs it: real processes on free ports, up.json, the printed curl
saves a card and pays, `demo` runs the story, Ctrl-C stops everything, a second run reuses the
data and prints no secret."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from up_support import Up, snippet
from vaultswitch.up.upfile import REQUIRED_KEYS

TOKEN_PATH = "/auth/realms/vgs/protocol/openid-connect/token"
pytestmark = pytest.mark.slow


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_up_runs_everything_and_the_printed_curl_pays(data_dir: Path) -> None:
    started = time.time() - 1
    up = Up(data_dir)
    try:
        info = up.wait_up(started)
        for key in REQUIRED_KEYS:
            assert info.get(key), f"up.json lacks {key}"
        assert stat.S_IMODE((data_dir / "up.json").stat().st_mode) == 0o600
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        for path in data_dir.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path.name

        # every server answers its health check
        for key in ("vault_url", "orchestrator_url", "processor_url"):
            assert httpx.get(f"{info[key]}/health").status_code == 200

        # the printed VGS credentials work against the vault
        token = httpx.post(
            f"{info['vault_url']}{TOKEN_PATH}",
            data={
                "grant_type": "client_credentials",
                "client_id": info["client_id"],
                "client_secret": info["client_secret"],
            },
        )
        assert token.status_code == 200

        # the connector account is active, its check passed
        admin = {
            "Authorization": f"admin-api-key={info['admin_api_key']}",
            "X-Merchant-Id": str(info["merchant_id"]),
            "X-Profile-Id": str(info["profile_id"]),
        }
        account = httpx.get(
            f"{info['orchestrator_url']}/v2/connector-accounts/{info['vault_connector_id']}",
            headers=admin,
        ).json()
        assert account["status"] == "active"

        # the printed curl saves a card and pays with it
        output = up.log.read_text()
        paid = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", snippet(output)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert paid.returncode == 0, paid.stderr
        payment = json.loads(paid.stdout.strip())
        assert payment.get("status") == "succeeded", payment

        demo = subprocess.run(
            [sys.executable, "-m", "vaultswitch.cli", "demo", "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        )
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert "card_declined" in demo.stdout
        assert "demo complete" in demo.stdout
        assert "4242424242424242" not in demo.stdout + demo.stderr

        # each server writes its log lines to <data dir>/logs, never a card number
        logs = {p.name: p.read_text() for p in (data_dir / "logs").iterdir()}
        assert set(logs) == {"vault.log", "orchestrator.log", "processor.log"}
        assert '"request"' in logs["orchestrator.log"] or "request" in logs["orchestrator.log"]
        for name, text in logs.items():
            for pan in ("4242424242424242", "4000000000000002"):
                assert pan not in text, f"{pan} in {name}"
    finally:
        first = up.stop()
    assert info["client_secret"] in first  # shown on the first run
    # the only card number in the output is the printed example's, never a server's log line
    assert "4242424242424242" not in first.replace(snippet(first), "")

    # what up created is audited, with the OS account from the uid (not $USERNAME)
    audit = subprocess.run(
        [sys.executable, "-m", "vaultswitch.cli", "vault", "audit", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    events = json.loads(audit.stdout)
    created = [e for e in events if e["source"] == "up"]
    actions = {e["action"] for e in created}
    assert {
        "admin.vault.create",
        "admin.service_account.create",
        "admin.access_credentials.create",
    } <= actions
    assert all(e["actor"].startswith("up:") and "someone-else" not in e["actor"] for e in created)

    # a second run reuses the data, keeps the secrets in up.json, prints none
    started = time.time() - 1
    again = Up(data_dir)
    try:
        second_info = again.wait_up(started)
        for key in ("client_secret", "api_key", "admin_api_key", "merchant_id", "vault_id"):
            assert second_info[key] == info[key], key
        assert httpx.get(f"{second_info['orchestrator_url']}/health").status_code == 200
    finally:
        second = again.stop()
    for key in ("client_secret", "api_key", "admin_api_key", "v1_password"):
        assert str(info[key]) not in second, f"{key} printed on the second run"
    assert re.search(r"Vault ID \(API Secret\)\s+" + str(info["vault_id"]), second)
