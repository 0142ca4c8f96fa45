"""Connector accounts beyond their rows: the sealed credentials, the connector built from
them, the connection test, and which vault a profile's cards go to.

For payment methods and payments::

    target = await ctx.db.read(lambda conn: resolve_vault(ctx, conn, caller.profile))
    result = await ctx.vault_client.insert(target.connector, target.credentials, data)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.engine import Connection

from vaultswitch.client.checks import check_connection_async
from vaultswitch.connectors.base import Credentials, SignatureKey, VaultConnector
from vaultswitch.domain.secret import Secret

from .connector_kinds import ConnectorKind, kind_for, vgs_connector
from .context import AppContext
from .crypto import Keyring
from .errors import ApiError
from .repos import connector_accounts as repo
from .repos.connector_accounts import VAULT_PROCESSOR, ConnectorAccount
from .repos.profiles import Profile


@dataclass(frozen=True, slots=True)
class AccountSecrets:
    """What ``secrets_sealed`` holds: the credential fields and the metadata."""

    credentials: dict[str, str]
    metadata: dict[str, Any] | None

    def __repr__(self) -> str:
        return f"AccountSecrets(fields={sorted(self.credentials)})"


def _aad(account_id: str) -> str:
    return f"connector_account:{account_id}"


def seal_secrets(keyring: Keyring, account_id: str, secrets: AccountSecrets) -> bytes:
    return keyring.seal_json(
        {"credentials": secrets.credentials, "metadata": secrets.metadata}, _aad(account_id)
    )


def open_secrets(keyring: Keyring, account: ConnectorAccount) -> AccountSecrets:
    data = keyring.open_json(account.secrets_sealed, _aad(account.id))
    return AccountSecrets(dict(data["credentials"]), data.get("metadata"))


def account_kind(account: ConnectorAccount) -> ConnectorKind:
    return kind_for(account.connector_type, account.connector_name)


def credentials_of(keyring: Keyring, account: ConnectorAccount) -> Credentials:
    return account_kind(account).build_credentials(open_secrets(keyring, account).credentials)


def vault_connector_of(keyring: Keyring, account: ConnectorAccount) -> VaultConnector:
    """The vault connector of a vault_processor account, configured from its metadata."""
    return vgs_connector(open_secrets(keyring, account).metadata)


async def run_connection_test(
    ctx: AppContext, connector: VaultConnector, credentials: Credentials
) -> dict[str, Any]:
    """Token fetch, then a vault probe that writes nothing: ``{ok, checks: [...]}``."""
    report = await check_connection_async(ctx.vault_client, connector, credentials)
    return report.to_dict()


# --- which vault a profile's cards go to ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class VaultTarget:
    """A vault to call: the connector, its credentials, and where they came from."""

    source: Literal["external", "internal"]
    connector: VaultConnector
    credentials: Credentials
    account_id: str | None  # the vault connector account (external only)


def _vault_error(message: str, hint: str) -> ApiError:
    return ApiError(424, "vault_not_configured", message, hint=hint, type_="connector_error")


def internal_vault(ctx: AppContext) -> VaultTarget:
    settings = ctx.settings
    if not (settings.has_internal_vault() and settings.internal_vault_client_secret):
        raise _vault_error(
            "This profile uses the internal vault, and none is configured",
            "Enable an external vault on the profile (PUT /v2/profiles/{id} with "
            "is_external_vault_enabled and external_vault_connector_details), or set "
            "VAULTSWITCH_ORCHESTRATOR_INTERNAL_VAULT_* (`vaultswitch up` does).",
        )
    options: dict[str, str] = {}
    if settings.internal_vault_base_url:
        options["vault_base_url"] = settings.internal_vault_base_url
    if settings.internal_vault_auth_base_url:
        options["auth_base_url"] = settings.internal_vault_auth_base_url
    credentials = SignatureKey(
        Secret(settings.internal_vault_client_id or ""),
        Secret(settings.internal_vault_client_secret.reveal()),
        Secret(settings.internal_vault_id or ""),
    )
    return VaultTarget("internal", vgs_connector(options), credentials, None)


def resolve_vault(ctx: AppContext, conn: Connection, profile: Profile) -> VaultTarget:
    """The profile's external vault account (active, not disabled), or the internal vault."""
    account_id = profile.vault_connector_id
    if account_id is None:
        return internal_vault(ctx)
    account = repo.get(conn, profile.merchant_id, account_id)
    if account is None or account.connector_type != VAULT_PROCESSOR:
        raise _vault_error(
            "The profile's vault connector account no longer exists",
            "Point external_vault_connector_details.vault_connector_id at an existing "
            "vault connector account (PUT /v2/profiles/{id}).",
        )
    if not account.usable:
        raise _vault_error(
            f"The profile's vault connector account {account.id} is "
            + ("disabled" if account.disabled else "inactive (its connection test failed)"),
            "Fix the account's credentials with PUT /v2/connector-accounts/{id}, then run "
            "POST /v2/connector-accounts/{id}/verify (it must answer status active), and "
            "make sure disabled is false.",
        )
    return VaultTarget(
        "external",
        vault_connector_of(ctx.keyring, account),
        credentials_of(ctx.keyring, account),
        account.id,
    )
