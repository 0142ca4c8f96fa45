"""Fixtures: a vault server on loopback (uvicorn thread) over SQLite in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from vhttp_support import Vault, make_settings, start_vault

from vaultswitch.vault.core.service import VaultService
from vaultswitch.vault.settings import VaultSettings


@pytest.fixture
def settings(tmp_path: Path) -> VaultSettings:
    return make_settings(tmp_path)


@pytest.fixture
def service(settings: VaultSettings) -> Iterator[VaultService]:
    svc = VaultService.open(settings)
    try:
        yield svc
    finally:
        svc.close()


@pytest.fixture
def vault(settings: VaultSettings, service: VaultService) -> Iterator[Vault]:
    server, v = start_vault(settings, service)
    try:
        yield v
    finally:
        server.stop()
