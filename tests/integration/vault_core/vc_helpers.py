"""Helpers shared by the vault-core integration tests (imported by module name)."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

from vaultswitch.domain.secret import Secret
from vaultswitch.vault.core.models import AuditContext, NewValue
from vaultswitch.vault.core.service import VaultService
from vaultswitch.vault.settings import VaultSettings

CTX = AuditContext(actor="ACtestclient", source="127.0.0.1", trace_id="trace-1")


def new_key_text() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def make_settings(database_url: str, data_dir: Path, **kw: Any) -> VaultSettings:
    kw.setdefault("master_key", Secret(new_key_text()))
    return VaultSettings(data_dir=data_dir, database_url=database_url, **kw)


def open_service(database_url: str, data_dir: Path, **kw: Any) -> VaultService:
    return VaultService.open(make_settings(database_url, data_dir, **kw))


def nv(value: str, fmt: str = "UUID", *classifiers: str, storage: str = "PERSISTENT") -> NewValue:
    return NewValue(Secret(value), fmt, tuple(classifiers), storage)
