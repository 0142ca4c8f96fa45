"""The catch-all: an unexpected exception becomes a VGS-shaped 500 that reveals nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from vhttp_support import LiveServer

from vaultswitch.vault.core.service import VaultService
from vaultswitch.vault.http.app import create_app
from vaultswitch.vault.settings import VaultSettings


class BrokenService(VaultService):
    """A real service whose create fails the way a bug would (a real server cannot do this)."""

    def create_aliases(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom 4111111111111111 /secret/path")


def test_unexpected_error_is_a_bare_500(tmp_path: Path) -> None:
    settings = VaultSettings(data_dir=tmp_path)
    plain = VaultService.open(settings)
    vault = plain.create_vault("x")
    user, password = plain.create_access_credentials(vault.vault_id)
    plain.close()
    service = BrokenService.open(settings)
    server = LiveServer(create_app(settings, service)).start()
    try:
        r = httpx.post(
            server.url + "/aliases",
            json={"data": [{"value": "4111111111111111", "format": "UUID"}]},
            auth=(user, password.reveal()),
        )
    finally:
        server.stop()
        service.close()
    assert r.status_code == 500
    body = r.json()
    assert body["errors"][0]["code"] == "INTERNAL_ERROR"
    assert body["trace_id"] == r.headers["vgs-request-id"]
    assert "4111" not in r.text
    assert "boom" not in r.text
    assert "secret" not in r.text
