"""The connection test of a vault connector account: ``token`` then ``vault``.

It writes nothing to the vault:

1. ``token`` fetches an OAuth2 access token from the auth host (VGS Vault API v2). A
   connector that needs none (VGS Vault API v1, HTTP Basic) passes it with a message
   saying so.
2. ``vault`` reveals a random, well-formed alias that cannot exist, with the token of
   step 1 (or the v1 access credentials). "Alias not found" means the vault answered for
   this vault ID and accepted the credentials: the check passes. "Vault not found" (or
   401 with a fresh token) is the wrong-vault-ID failure mode, 401 on v1 the credentials.
   A 403 (reveal off, as on a new VGS vault, or no aliases:read scope) still proves the
   vault ID and the credentials: the check passes with a warning in ``message`` and the fix
   in ``hint`` (saved-card payments on the detokenize path need reveal; proxy payments
   do not). It needs ``token``: when that failed, ``vault`` is
   reported as skipped (``ok`` false, code ``skipped``) rather than omitted, so the list
   of checks always has the same names in the same order.

Failures carry the code of the error catalogue (``vaultswitch explain CODE``), the
message of the typed error (host, vault ID, upstream status and trace id, never a
credential or token) and the fix for that failure mode.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from vaultswitch.client.logs import host_of
from vaultswitch.connectors.base import (
    AccessToken,
    Call,
    Credentials,
    HttpResponse,
    SignatureKey,
    SingleVaultId,
    VaultConnector,
    VaultRequestData,
)
from vaultswitch.connectors.vgs import VAULT_ID_PATTERN
from vaultswitch.domain.errors import AliasNotFound, PermissionDenied, VaultswitchError

from .diagnosis import Target, diagnose, permission_hint
from .report import PASSED, CheckReport, Outcome
from .steps import CheckContext, CheckStep, RunCall, StepRun, drive, drive_async, run_steps

if TYPE_CHECKING:
    from vaultswitch.client.executor import AsyncVaultClient, VaultClient

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_VGS_DOMAINS = ("verygoodvault.com", "verygoodsecurity.com", "verygoodsecurity.io")


# --- what the connector is set up to reach -------------------------------------------------


def _option(connector: VaultConnector, name: str) -> Any:
    return getattr(getattr(connector, "config", None), name, None)


def _api_version(connector: VaultConnector) -> str:
    version = _option(connector, "api_version")
    return version if isinstance(version, str) else "v2"


def _vault_id(credentials: Credentials) -> str | None:
    if not isinstance(credentials, SignatureKey):
        return None
    value = credentials.api_secret.reveal().strip()
    return value if VAULT_ID_PATTERN.fullmatch(value) else None


def target_for(connector: VaultConnector, credentials: Credentials, stage: str, url: str) -> Target:
    """Describe the endpoint of ``stage`` (``token`` or ``vault``) at ``url`` for the fixes."""
    if stage == "token":
        setting = "auth_base_url"
    else:
        setting = "vault_base_url" if _api_version(connector) == "v2" else "v1_base_url"
    template = _option(connector, setting)
    try:
        hostname = (urlsplit(url).hostname or "") if url else ""
    except ValueError:
        hostname = ""
    environment = _option(connector, "environment")
    return Target(
        stage=stage,
        host=host_of(url) if url else f"the host of {setting}",
        setting=setting,
        api_version=_api_version(connector),
        vault_id=_vault_id(credentials),
        environment=environment if isinstance(environment, str) else None,
        own_vault=bool(hostname) and not _is_vgs_host(hostname),
        host_has_vault_id=isinstance(template, str)
        and "{vault_id}" in template.split("//", 1)[-1].split("/", 1)[0],
    )


def _is_vgs_host(hostname: str) -> bool:
    return any(hostname == d or hostname.endswith("." + d) for d in _VGS_DOMAINS)


def _template_url(connector: VaultConnector, credentials: Credentials, setting: str) -> str:
    template = _option(connector, setting)
    if not isinstance(template, str):
        return ""
    return template.replace("{vault_id}", _vault_id(credentials) or "tntxxxxxxxx")


def probe_alias(connector: VaultConnector) -> str:
    """A random alias in VGS's UUID-format shape (``tok_<env>_`` + 22 base58 characters):
    well formed, and with 128 bits of randomness it names nothing in any vault."""
    environment = _option(connector, "environment")
    env = environment if environment in ("sandbox", "live") else "sandbox"
    return f"tok_{env}_" + "".join(secrets.choice(_BASE58) for _ in range(22))


# --- the two checks ------------------------------------------------------------------------


def token_check(ctx: CheckContext) -> StepRun:
    """Fetch an access token (not from the token cache: the test must reach the auth host)."""
    connector, credentials = ctx.connector, ctx.credentials
    if not connector.requires_access_token(credentials):
        how = (
            "Vault API v1 authenticates every request with the vault's access credentials "
            "(HTTP Basic)"
            if _api_version(connector) == "v1"
            else "the connector authenticates every vault request itself"
        )
        return Outcome.passed(f"no access token needed: {how}")
    url = _template_url(connector, credentials, "auth_base_url")
    try:
        call = connector.access_token(credentials)
        if call.requests:
            url = call.requests[0].url
        grant = yield RunCall(call, connector.name)
    except VaultswitchError as exc:
        return diagnose(exc, target_for(connector, credentials, "token", url))
    ctx.grant = grant
    ctx.token = AccessToken(grant.token, grant.token_type, time.time() + grant.expires_in)
    scopes = f", scopes: {grant.scope}" if grant.scope else ""
    return Outcome.passed(
        f"{host_of(url)} issued an access token (valid {grant.expires_in} s{scopes})"
    )


def _probe(call: Call[Any]) -> Call[bool]:
    """The reveal call answering whether the alias exists: a found value is never read,
    "alias not found" is the expected answer (not an error), anything else raises."""

    def parse(responses: Sequence[HttpResponse]) -> bool:
        if responses and all(r.status == 200 for r in responses):
            return True
        try:
            call.parse(responses)  # raises the typed error of the failing answer
        except AliasNotFound:
            return False
        return True

    return Call(call.requests, parse)


def vault_check(ctx: CheckContext) -> StepRun:
    """Reveal an alias that cannot exist: "alias not found" proves vault ID and credentials."""
    connector, credentials = ctx.connector, ctx.credentials
    setting = "vault_base_url" if _api_version(connector) == "v2" else "v1_base_url"
    url = _template_url(connector, credentials, setting)
    alias = probe_alias(connector)
    try:
        call = connector.retrieve(
            credentials, ctx.token, VaultRequestData(connector_vault_id=SingleVaultId(alias))
        )
        if call.requests:
            url = call.requests[0].url
        yield RunCall(_probe(call), connector.name)
    except PermissionDenied as exc:
        if exc.upstream_status != 403:
            return diagnose(exc, target_for(connector, credentials, "vault", url))
        return _reveal_refused(ctx, exc, target_for(connector, credentials, "vault", url))
    except VaultswitchError as exc:
        return diagnose(exc, target_for(connector, credentials, "vault", url))
    which, accepted = _which(ctx)
    return Outcome.passed(
        f"{which} at {host_of(url)} answered and accepted {accepted} (a read of an alias "
        "that does not exist; nothing was written)"
    )


def _which(ctx: CheckContext) -> tuple[str, str]:
    vault_id = _vault_id(ctx.credentials)
    which = f"vault {vault_id}" if vault_id else "the vault"
    accepted = "the access token" if ctx.token is not None else "the credentials"
    return which, accepted


def _reveal_refused(ctx: CheckContext, exc: PermissionDenied, target: Target) -> Outcome:
    """403 on the probe: vault ID and credentials are right, reading is not allowed."""
    which, accepted = _which(ctx)
    upstream = f" ({exc.upstream_code})" if exc.upstream_code else ""
    return Outcome(
        True,
        PASSED,
        f"{which} at {target.host} answered and accepted {accepted}, but refuses to reveal "
        f"(HTTP 403{upstream}). Warning: payments with saved cards on the detokenize path "
        "need reveal; proxy payments do not.",
        permission_hint(target, exc.hint),
    )


TOKEN = CheckStep("token", token_check)
VAULT = CheckStep("vault", vault_check, needs=("token",))
#: The checks of activation, ``verify`` and "Test connection", in order.
CONNECTION_CHECKS: tuple[CheckStep, ...] = (TOKEN, VAULT)


# --- entry points --------------------------------------------------------------------------


def check_connection(
    client: VaultClient,
    connector: VaultConnector,
    credentials: Credentials,
    *,
    checks: Sequence[CheckStep] = CONNECTION_CHECKS,
) -> CheckReport:
    """Run ``checks`` against the account with a sync client; never raises for a failed
    check (it is in the report). ValueError for a malformed list of checks."""
    return drive(client, run_steps(CheckContext(connector, credentials), checks))


async def check_connection_async(
    client: AsyncVaultClient,
    connector: VaultConnector,
    credentials: Credentials,
    *,
    checks: Sequence[CheckStep] = CONNECTION_CHECKS,
) -> CheckReport:
    """:func:`check_connection` with an async client (the orchestrator's)."""
    return await drive_async(client, run_steps(CheckContext(connector, credentials), checks))
