"""The orchestrator and our vault on loopback, and small helpers to set a merchant up."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from live_uvicorn import LiveServer
from vaultswitch.domain.secret import Secret
from vaultswitch.orchestrator.app import create_app
from vaultswitch.orchestrator.settings import OrchestratorSettings


@dataclass
class Orchestrator:
    """A live orchestrator: its URL, admin key and an httpx client on it."""

    url: str
    admin_key: str
    settings: OrchestratorSettings
    http: httpx.Client

    def admin(self, merchant_id: str | None = None, **extra: str) -> dict[str, str]:
        headers = {"Authorization": f"admin-api-key={self.admin_key}", **extra}
        if merchant_id is not None:
            headers["X-Merchant-Id"] = merchant_id
        return headers

    def create_merchant(self, name: str = "Acme Shop") -> dict[str, Any]:
        response = self.http.post(
            "/v2/merchant-accounts", json={"merchant_name": name}, headers=self.admin()
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def create_api_key(self, merchant_id: str, **body: Any) -> dict[str, Any]:
        payload = {"name": "test key", "expiration": "never", **body}
        response = self.http.post("/v2/api-keys", json=payload, headers=self.admin(merchant_id))
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


@dataclass
class MerchantSetup:
    """A merchant with a key: ``headers`` authenticate as it."""

    merchant_id: str
    profile_id: str
    api_key: str
    merchant: dict[str, Any] = field(repr=False)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"api-key={self.api_key}"}


def new_merchant(orch: Orchestrator, name: str = "Acme Shop") -> MerchantSetup:
    merchant = orch.create_merchant(name)
    key = orch.create_api_key(merchant["id"])
    return MerchantSetup(merchant["id"], merchant["default_profile"], key["api_key"], merchant)


def orchestrator_settings(data_dir: Path, **overrides: Any) -> OrchestratorSettings:
    return OrchestratorSettings(
        data_dir=data_dir, admin_api_key=Secret("adm_" + secrets.token_hex(16)), **overrides
    )


@contextmanager
def serve_orchestrator(settings: OrchestratorSettings) -> Iterator[Orchestrator]:
    server = LiveServer(create_app(settings)).start()
    assert settings.admin_api_key is not None
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            yield Orchestrator(server.url, settings.admin_api_key.reveal(), settings, http)
    finally:
        server.stop()


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is Hyperswitch's error body (plus our hint) with that status and code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body, dict)
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    for key in ("type", "code", "message", "hint"):
        assert isinstance(error.get(key), str), key
        assert error[key], key
    if code is not None:
        assert error["code"] == code, error
    return error
