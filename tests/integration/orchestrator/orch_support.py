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
from server_logs import tee_structlog
from vaultswitch.domain.secret import Secret
from vaultswitch.orchestrator.app import create_app
from vaultswitch.orchestrator.settings import OrchestratorSettings


@dataclass(frozen=True)
class LiveVault:
    """Our vault on loopback with one vault and a service account assigned to it."""

    url: str
    vault_id: str
    client_id: str
    client_secret: str

    def metadata(self) -> dict[str, str]:
        """Connector account metadata pointing the VGS connector at this vault."""
        return {"vault_base_url": self.url + "/{{vault_id}}/", "auth_base_url": self.url + "/"}

    def details(self, **override: str) -> dict[str, str]:
        """``connector_account_details`` (SignatureKey) for this vault."""
        return {
            "auth_type": "SignatureKey",
            "api_key": self.client_id,
            "key1": self.client_secret,
            "api_secret": self.vault_id,
            **override,
        }

    def vgs_account(self, profile_id: str, **extra: Any) -> dict[str, Any]:
        """A ``POST /v2/connector-accounts`` body for a VGS account on this vault."""
        return {
            "connector_type": "vault_processor",
            "connector_name": "vgs",
            "profile_id": profile_id,
            "connector_account_details": self.details(),
            "metadata": self.metadata(),
            **extra,
        }


@contextmanager
def serve_vault(data_dir: Path) -> Iterator[LiveVault]:
    """Our vault server (imported here, in the tests only: the orchestrator never does)."""
    from vaultswitch.vault.core.service import VaultService
    from vaultswitch.vault.http.app import create_app as create_vault_app
    from vaultswitch.vault.settings import VaultSettings

    settings = VaultSettings(data_dir=data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    service = VaultService.open(settings)
    server = LiveServer(create_vault_app(settings, service)).start()
    try:
        info = service.create_vault("orchestrator tests")
        account, secret = service.create_service_account([info.vault_id])
        yield LiveVault(server.url, info.vault_id, account.client_id, secret.reveal())
    finally:
        server.stop()
        service.close()


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
    """The orchestrator on loopback; its log lines are teed into a server log file that
    the run-wide card-number scan reads (tests/card_leaks.py)."""
    with tee_structlog("orchestrator"):
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
