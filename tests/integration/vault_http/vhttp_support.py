"""Helpers: a real vault server on loopback (uvicorn in a thread) over a real database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from live_uvicorn import LiveServer
from vaultswitch.vault.core.models import VaultInfo
from vaultswitch.vault.core.service import VaultService
from vaultswitch.vault.http.app import create_app
from vaultswitch.vault.settings import VaultSettings

TOKEN_PATH = "/auth/realms/vgs/protocol/openid-connect/token"


@dataclass
class Vault:
    """A server plus one vault with a service account and access credentials."""

    url: str
    service: VaultService
    vault_id: str
    client_id: str
    client_secret: str
    username: str
    password: str
    settings: VaultSettings

    def token(self, client_id: str | None = None, client_secret: str | None = None) -> str:
        r = httpx.post(
            self.url + TOKEN_PATH,
            data={
                "grant_type": "client_credentials",
                "client_id": client_id or self.client_id,
                "client_secret": client_secret or self.client_secret,
            },
        )
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        assert isinstance(token, str)
        return token

    def v2(self, token: str | None = None, *, by: str = "path") -> httpx.Client:
        """A client for Vault API v2 with the tenant in the path prefix or in the Host header."""
        headers = {"Authorization": f"Bearer {token or self.token()}"}
        if by == "host":
            headers["Host"] = f"{self.vault_id}.sandbox.vault-api.local"
            return httpx.Client(base_url=self.url, headers=headers)
        return httpx.Client(base_url=f"{self.url}/{self.vault_id}", headers=headers)

    def v1(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=(self.username, self.password))

    def new_vault(self, **kwargs: object) -> VaultInfo:
        return self.service.create_vault(**kwargs)  # type: ignore[arg-type]


def make_settings(tmp_path: Path, **overrides: object) -> VaultSettings:
    return VaultSettings(data_dir=tmp_path, **overrides)  # type: ignore[arg-type]


def start_vault(settings: VaultSettings, service: VaultService) -> tuple[LiveServer, Vault]:
    server = LiveServer(create_app(settings, service)).start()
    info = service.create_vault("test")
    account, secret = service.create_service_account([info.vault_id])
    username, password = service.create_access_credentials(info.vault_id)
    vault = Vault(
        url=server.url,
        service=service,
        vault_id=info.vault_id,
        client_id=account.client_id,
        client_secret=secret.reveal(),
        username=username,
        password=password.reveal(),
        settings=settings,
    )
    return server, vault
