"""`up`'s vault side, run in-process on the vault's core before the servers start.

Two vaults: ``default`` (the one the merchant's VGS connector account points at: its ids and
credentials are what `up` prints, as the VGS dashboard shows them) and ``internal`` (the
orchestrator's internal vault, for profiles without an external vault). Everything created
here is audited like the admin CLI's commands (actor ``up:<OS account>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vaultswitch.domain.secret import Secret
from vaultswitch.vault.cli import os_account
from vaultswitch.vault.core.models import SCOPES, AuditEvent
from vaultswitch.vault.settings import VaultSettings

DEFAULT_VAULT_NAME = "default"
INTERNAL_VAULT_NAME = "internal"


@dataclass(frozen=True, slots=True)
class VaultCredentials:
    """A vault and the credentials `up` keeps for it (in up.json)."""

    vault_id: str
    client_id: str
    client_secret: Secret
    v1_username: str | None = None
    v1_password: Secret | None = None


@dataclass(frozen=True, slots=True)
class VaultSetup:
    default: VaultCredentials
    internal: VaultCredentials
    created: bool  # True when this run created credentials (they are printed once)


def _audit(service: Any, action: str, vault_id: str, detail: str | None = None) -> None:
    service.audit(
        AuditEvent(
            id=None,
            at=datetime.now(UTC),
            actor="up:" + os_account(),
            vault_id=vault_id,
            action=action,
            alias=None,
            outcome="success",
            source="up",
            trace_id=None,
            detail=detail,
        )
    )


def _kept(previous: dict[str, Any], prefix: str, vault_id: str) -> VaultCredentials | None:
    """Credentials an earlier run stored in up.json for this vault, if they are complete."""
    if previous.get(prefix + "vault_id") != vault_id:
        return None
    client_id, secret = previous.get(prefix + "client_id"), previous.get(prefix + "client_secret")
    if not (isinstance(client_id, str) and isinstance(secret, str)):
        return None
    user, password = previous.get(prefix + "v1_username"), previous.get(prefix + "v1_password")
    return VaultCredentials(
        vault_id,
        client_id,
        Secret(secret),
        user if isinstance(user, str) else None,
        Secret(password) if isinstance(password, str) else None,
    )


def _vault(service: Any, name: str) -> str:
    for info in service.list_vaults():
        if info.name == name:
            return str(info.vault_id)
    info = service.create_vault(name)
    _audit(service, "admin.vault.create", info.vault_id, f"by vaultswitch up ({name})")
    if not info.reveal_enabled:
        service.set_reveal(info.vault_id, True)
        _audit(service, "admin.vault.reveal_enable", info.vault_id)
    return str(info.vault_id)


def _new_credentials(service: Any, vault_id: str, name: str, *, v1: bool) -> VaultCredentials:
    account, secret = service.create_service_account([vault_id], SCOPES, name=name)
    _audit(service, "admin.service_account.create", vault_id, account.client_id)
    if not v1:
        return VaultCredentials(vault_id, account.client_id, secret)
    username, password = service.create_access_credentials(vault_id)
    _audit(service, "admin.access_credentials.create", vault_id, username)
    return VaultCredentials(vault_id, account.client_id, secret, username, password)


def ensure_vaults(settings: VaultSettings, previous: dict[str, Any]) -> VaultSetup:
    """The default and internal vaults with their credentials, created where missing.

    Credentials are kept from ``previous`` (the last up.json); where up.json lacks them (first
    run, or the file was removed) new ones are created, since the vault stores secrets only
    hashed.
    """
    from vaultswitch.vault.core.service import VaultService

    service = VaultService.open(settings)
    try:
        default_id = _vault(service, DEFAULT_VAULT_NAME)
        internal_id = _vault(service, INTERNAL_VAULT_NAME)
        created = False
        default = _kept(previous, "", default_id)
        if default is None or default.v1_username is None:
            default = _new_credentials(service, default_id, "default", v1=True)
            created = True
        internal = _kept(previous, "internal_", internal_id)
        if internal is None:
            internal = _new_credentials(service, internal_id, "orchestrator-internal", v1=False)
            created = True
        return VaultSetup(default, internal, created)
    finally:
        service.close()
