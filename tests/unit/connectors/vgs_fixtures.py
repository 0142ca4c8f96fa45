"""Shared values for the VGS connector tests."""

from __future__ import annotations

import json
from typing import Any

from vaultswitch.connectors.base import AccessToken, HttpResponse, SignatureKey
from vaultswitch.domain.secret import Secret

VAULT_ID = "tntabc12345"
CLIENT_ID = "ACexample-vaultswitch-1a2b3c"
CLIENT_SECRET = "7f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b"
ACCESS_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjE3MDAwMDAwMDB9.c2lnbmF0dXJl"
PAN = "4111111111111111"
AMEX = "378282246310005"
CVC = "737"
NT = "4895370000000000019"

CREDS = SignatureKey(Secret(CLIENT_ID), Secret(CLIENT_SECRET), Secret(VAULT_ID))
TOKEN = AccessToken(Secret(ACCESS_TOKEN), "Bearer", 1_700_000_000.0)
SANDBOX = f"https://{VAULT_ID}.sandbox.vault-api.verygoodvault.com/"


def response(status: int, body: Any = None, **headers: str) -> HttpResponse:
    raw = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status, {k.lower().replace("_", "-"): v for k, v in headers.items()}, raw)


def record(
    alias: str, value: str = "x", fmt: str = "UUID", storage: str = "PERSISTENT"
) -> dict[str, Any]:
    return {
        "value": value,
        "classifiers": ["data"],
        "aliases": [{"alias": alias, "format": fmt}],
        "created_at": "2025-01-01T00:00:00Z",
        "storage": storage,
    }


def vgs_error(status: int, detail: str, code: str | None = None, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"status": status, "detail": detail}
    if code is not None:
        item["code"] = code
    else:
        item["title"] = "Bad request"
        item["href"] = "https://api.sandbox.verygoodvault.com/aliases"
    return {"errors": [item], **extra}
