"""First-start set-up for `vaultswitch up`: a default vault with a service account."""

from __future__ import annotations

from dataclasses import dataclass

from vaultswitch.domain.secret import Secret
from vaultswitch.vault.core.models import SCOPES
from vaultswitch.vault.settings import VaultSettings

DEFAULT_VAULT_NAME = "default"


@dataclass(frozen=True, slots=True)
class BootInfo:
    """The default vault; credentials only on the start that created them."""

    vault_id: str
    client_id: str | None = None
    client_secret: Secret | None = None
    username: str | None = None
    password: Secret | None = None


def ensure_default_vault(settings: VaultSettings) -> BootInfo:
    """Create the default vault, a service account and v1 access credentials if none exist."""
    from vaultswitch.vault.core.service import VaultService

    service = VaultService.open(settings)
    try:
        vaults = service.list_vaults()
        named = [v for v in vaults if v.name == DEFAULT_VAULT_NAME]
        if named or vaults:
            return BootInfo(vault_id=(named or vaults)[0].vault_id)
        vault = service.create_vault(DEFAULT_VAULT_NAME)
        account, secret = service.create_service_account([vault.vault_id], SCOPES, name="default")
        username, password = service.create_access_credentials(vault.vault_id)
        return BootInfo(vault.vault_id, account.client_id, secret, username, password)
    finally:
        service.close()
