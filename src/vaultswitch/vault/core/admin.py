"""Vault administration: the operations behind both the admin CLI (``vaultswitch vault ...``)
and the admin HTTP API (``/admin/...``), each one recorded in the audit log.

:class:`VaultAdmin` wraps the service for one actor (``cli:<OS account>`` for the CLI,
``admin-api`` for the HTTP API) and one source (``cli``, or the caller's address): create and
list vaults, turn reveal on or off, create, list, disable and enable service accounts, and
read the audit log. The ``*_json`` functions are the one JSON form of each object both
print; none of them holds a secret or a secret's hash (a new service account's client
secret is returned once, by :meth:`VaultAdmin.create_service_account`, and the caller shows
it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from vaultswitch.vault.core.errors import BadRequest
from vaultswitch.vault.core.models import SCOPES, AuditEvent, ServiceAccount, VaultInfo

if TYPE_CHECKING:  # the CLI imports this module before it opens (and imports) the service
    from vaultswitch.domain.secret import Secret
    from vaultswitch.vault.core.service import VaultService

#: The audit actions of admin operations.
VAULT_CREATE = "admin.vault.create"
REVEAL_ENABLE = "admin.vault.reveal_enable"
REVEAL_DISABLE = "admin.vault.reveal_disable"
ACCOUNT_CREATE = "admin.service_account.create"
ACCOUNT_DISABLE = "admin.service_account.disable"
ACCOUNT_ENABLE = "admin.service_account.enable"


def iso(moment: datetime) -> str:
    """``2025-01-31T12:00:00.123456Z`` (UTC)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def vault_json(info: VaultInfo) -> dict[str, Any]:
    return {
        "vault_id": info.vault_id,
        "name": info.name,
        "reveal_enabled": info.reveal_enabled,
        "fingerprinting": info.fingerprinting,
        "environment": info.environment,
        "created_at": iso(info.created_at),
        "key_version": info.key_version,
    }


def account_json(account: ServiceAccount) -> dict[str, Any]:
    """A service account without its secret or the secret's hash."""
    return {
        "client_id": account.client_id,
        "name": account.name,
        "vaults": list(account.vault_ids),
        "scopes": list(account.scopes),
        "token_lifespan": account.token_lifespan,
        "disabled": account.disabled,
        "created_at": iso(account.created_at),
    }


def check_scopes(scopes: Sequence[str]) -> list[str]:
    """The scopes, each one of :data:`SCOPES` (BadRequest INVALID_SCOPE otherwise)."""
    wanted = [s.strip() for s in scopes if s.strip()]
    unknown = [s for s in wanted if s not in SCOPES]
    if unknown or not wanted:
        raise BadRequest(
            f"unknown scope(s): {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(SCOPES)}",
            code="INVALID_SCOPE",
        )
    return wanted


@dataclass(frozen=True, slots=True)
class VaultAdmin:
    """The admin operations for one actor; every change writes its audit row."""

    service: VaultService
    actor: str
    source: str | None

    def record(self, action: str, vault_id: str | None, detail: str | None = None) -> None:
        """An audit row for an admin action of this actor (the CLI's other commands too)."""
        self.service.audit(
            AuditEvent(
                id=None,
                at=datetime.now(UTC),
                actor=self.actor,
                vault_id=vault_id,
                action=action,
                alias=None,
                outcome="success",
                source=self.source,
                trace_id=None,
                detail=detail,
            )
        )

    # --- vaults ----------------------------------------------------------------------------

    def create_vault(
        self, name: str | None, *, reveal_enabled: bool = True, fingerprinting: bool = True
    ) -> VaultInfo:
        info = self.service.create_vault(
            name, reveal_enabled=reveal_enabled, fingerprinting=fingerprinting
        )
        self.record(VAULT_CREATE, info.vault_id)
        return info

    def list_vaults(self) -> list[VaultInfo]:
        return self.service.list_vaults()

    def set_reveal(self, vault_id: str, enabled: bool) -> VaultInfo:
        info = self.service.set_reveal(vault_id, enabled)
        self.record(REVEAL_ENABLE if enabled else REVEAL_DISABLE, vault_id)
        return info

    # --- service accounts ------------------------------------------------------------------

    def create_service_account(
        self,
        vault_ids: Sequence[str],
        scopes: Sequence[str] = SCOPES,
        *,
        token_lifespan: int | None = None,
        name: str | None = None,
    ) -> tuple[ServiceAccount, Secret]:
        """A new OAuth2 service account; its client secret is returned this once."""
        account, secret = self.service.create_service_account(
            list(vault_ids), check_scopes(scopes), token_lifespan=token_lifespan, name=name
        )
        for vault_id in account.vault_ids:
            self.record(ACCOUNT_CREATE, vault_id, account.client_id)
        return account, secret

    def list_service_accounts(self, vault_id: str | None = None) -> list[ServiceAccount]:
        return self.service.list_service_accounts(vault_id)

    def set_service_account_disabled(self, client_id: str, disabled: bool) -> ServiceAccount:
        account = self.service.set_service_account_disabled(client_id, disabled)
        action = ACCOUNT_DISABLE if disabled else ACCOUNT_ENABLE
        for vault_id in account.vault_ids:
            self.record(action, vault_id, account.client_id)
        return account

    # --- audit -----------------------------------------------------------------------------

    def list_audit(
        self, vault_id: str | None = None, action: str | None = None, limit: int = 100
    ) -> list[AuditEvent]:
        """Newest first, at most ``limit`` rows (1 or more)."""
        if limit < 1:
            raise BadRequest("limit: must be 1 or more", code="INVALID_REQUEST")
        return self.service.list_audit(vault_id=vault_id, action=action, limit=limit)
