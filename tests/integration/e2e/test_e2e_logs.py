"""Server request logs are scrubbed JSON lines with trace ids, whatever the client sends."""

from __future__ import annotations

import io
import json

import httpx
import structlog
from e2e_support import VaultAccount

from vaultswitch.logs import configure_logging

PAN = "4111111111111111"


def test_request_logs_carry_trace_ids_and_no_card_data_or_secrets(
    http_account: VaultAccount,
) -> None:
    stream = io.StringIO()
    configure_logging("info", stream=stream)
    try:
        secret = http_account.oauth.key1.reveal()
        token = httpx.post(
            http_account.url + "/auth/realms/vgs/protocol/openid-connect/token",
            data={
                "grant_type": "client_credentials",
                "client_id": http_account.oauth.api_key.reveal(),
                "client_secret": secret,
            },
        ).json()["access_token"]
        base = f"{http_account.url}/{http_account.vault_id}"
        bearer = {"Authorization": f"Bearer {token}"}
        created = httpx.post(
            base + "/aliases", json={"data": [{"value": PAN, "format": "UUID"}]}, headers=bearer
        )
        assert created.status_code == 201
        missing = httpx.get(f"{base}/aliases/{PAN}", headers=bearer)  # a PAN where an alias goes
        assert missing.status_code in (400, 404)
        assert PAN not in missing.text
    finally:
        structlog.reset_defaults()
    text = stream.getvalue()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("event") == "request"]
    assert len(requests) >= 3
    assert {line["trace_id"] for line in requests} >= {
        created.headers["vgs-request-id"],
        missing.headers["vgs-request-id"],
    }
    assert PAN not in text
    assert secret not in text
    assert token not in text
