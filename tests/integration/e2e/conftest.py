"""Fixtures: our vault server on loopback (HTTP and HTTPS) with one vault and its credentials."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import VaultAccount, serve_vault

from vaultswitch.vault.settings import VaultSettings


@pytest.fixture
def vault_settings(tmp_path: Path) -> VaultSettings:
    return VaultSettings(data_dir=tmp_path / "vault", volatile_ttl=3600)


@pytest.fixture(params=["http", "https"])
def account(
    request: pytest.FixtureRequest, vault_settings: VaultSettings, tmp_path: Path
) -> Iterator[VaultAccount]:
    """A live vault, once over plain HTTP and once over TLS with a test CA."""
    tls_dir = tmp_path if request.param == "https" else None
    with serve_vault(vault_settings, tls_dir) as live:
        yield live


@pytest.fixture
def http_account(vault_settings: VaultSettings) -> Iterator[VaultAccount]:
    with serve_vault(vault_settings) as live:
        yield live
