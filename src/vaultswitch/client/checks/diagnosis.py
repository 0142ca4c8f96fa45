"""A typed vault error turned into a check failure: the failure mode it is, and its fix.

The fixes use the names the control center and Hyperswitch's connector form give the
three VGS credentials: Username (API Key) = client ID, Password (Key1) = client secret,
Vault ID (API Secret) = vault ID. Codes are those of the error catalogue
(:mod:`vaultswitch.troubleshooting`), plus ``vault_unreachable`` for an exchange that got
no HTTP answer at all (DNS, refused, TLS, timeout).
"""

from __future__ import annotations

from dataclasses import dataclass

from vaultswitch.client.retry import FailureKind, TransportFailure
from vaultswitch.domain.errors import (
    MalformedVaultResponse,
    PermissionDenied,
    RateLimited,
    VaultAuthenticationFailed,
    VaultNotFound,
    VaultswitchError,
    VaultUnavailable,
)

from .report import Outcome

#: No HTTP answer from the host (DNS, connection refused, TLS, timeout).
UNREACHABLE = "vault_unreachable"

CLIENT_ID = "client ID (Username (API Key))"
CLIENT_SECRET = "client secret (Password (Key1))"  # noqa: S105 (a label)
VAULT_ID = "Vault ID (API Secret)"
FIELD_LABELS = {
    "api_key": "Username (API Key)",
    "key1": "Password (Key1)",
    "api_secret": "Vault ID (API Secret)",
}


@dataclass(frozen=True, slots=True)
class Target:
    """Which endpoint a check talked to, and how the connector is set up, for the fixes.

    ``stage``: ``token`` (the auth host) or ``vault`` (the vault host). ``setting``: the
    connector option holding that host's URL. ``own_vault``: the URL is not a VGS host
    (e.g. a vaultswitch vault), so fixes name vaultswitch's commands rather than VGS's
    dashboard. ``host_has_vault_id``: the vault host is built from the vault ID.
    """

    stage: str
    host: str
    setting: str
    api_version: str = "v2"
    vault_id: str | None = None
    environment: str | None = None
    own_vault: bool = False
    host_has_vault_id: bool = False


def failure_kind(exc: VaultswitchError) -> FailureKind | None:
    """The transport failure behind ``exc``, or None when the host answered over HTTP.

    The client raises VaultUnavailable without an upstream status only when no response
    came back; its message ends with the failure's description.
    """
    if not isinstance(exc, VaultUnavailable) or exc.upstream_status is not None:
        return None
    for kind in FailureKind:
        if exc.message.endswith(TransportFailure(kind).description):
            return kind
    return FailureKind.OTHER


def _with_trace(message: str, exc: VaultswitchError) -> str:
    if exc.field:
        name = exc.field.rsplit(".", 1)[-1]
        label = FIELD_LABELS.get(name)
        message += f" (field: {exc.field}" + (f", {label})" if label else ")")
    if exc.trace_id:
        message += f" (trace id: {exc.trace_id})"
    return message


def _vault_cmd(target: Target, command: str) -> str:
    """A vaultswitch vault admin command for this vault, runnable as printed."""
    vault = target.vault_id or "VAULT_ID"
    return f"`vaultswitch vault {command} --vault {vault}`"


_DATA_DIR_NOTE = "add --data-dir DIR when the vault's data is not in ./.vaultswitch"


def _network_hint(kind: FailureKind, target: Target, fallback: str) -> str:
    host, setting = target.host, target.setting
    if kind is FailureKind.CONNECT:
        hint = (
            f"Nothing answered at {host}: check that the connector's {setting} names the right "
            "host and port, that the host name resolves (DNS) and that no firewall or proxy "
            "blocks the connection"
        )
        hint += (
            "; for a vaultswitch vault, check that it is running (`vaultswitch up`)."
            if target.own_vault
            else "."
        )
    elif kind is FailureKind.CONNECT_TIMEOUT:
        hint = (
            f"{host} did not accept a connection in time: a firewall may drop the traffic or "
            f"the host is down; check the connector's {setting} and the network path, or raise "
            "ClientConfig.connect_timeout."
        )
    elif kind is FailureKind.TLS:
        hint = (
            f"The TLS certificate of {host} is not trusted here: point ClientConfig.verify at "
            "the CA bundle that signed it (for a vaultswitch vault over HTTPS, its CA file), "
            f"or fix the connector's {setting} (host name, https:// versus http://)."
        )
    elif kind in (FailureKind.READ_TIMEOUT, FailureKind.WRITE_TIMEOUT):
        hint = (
            f"{host} accepted the connection but did not answer in time: check that the "
            f"connector's {setting} points at a VGS-compatible server and that it is not "
            "overloaded, then test again (or raise ClientConfig.read_timeout)."
        )
    elif kind in (FailureKind.CONNECTION_LOST, FailureKind.PROTOCOL):
        hint = (
            f"{host} closed the connection or did not answer in HTTP: check the port and the "
            f"scheme (https:// versus http://) of the connector's {setting}."
        )
    else:
        hint = fallback
    if (
        target.stage == "vault"
        and target.host_has_vault_id
        and kind in (FailureKind.CONNECT, FailureKind.CONNECT_TIMEOUT, FailureKind.TLS)
    ):
        hint += (
            f" The vault host is built from the {VAULT_ID}: a mistyped vault ID, or one of "
            "the other environment (sandbox vault IDs do not work in live and vice versa), "
            "gives a host that does not exist."
        )
    return hint


def _credentials_hint(target: Target) -> str:
    if target.stage == "vault" and target.api_version == "v1":
        hint = (
            "Check the vault access credentials of Vault API v1: Username (API Key) is the "
            "access-credentials username and Password (Key1) its password, copied exactly, "
            "for this vault."
        )
        if target.own_vault:
            return (
                f"{hint} A vaultswitch vault creates a pair with "
                f"{_vault_cmd(target, 'access-credentials')} ({_DATA_DIR_NOTE})."
            )
        return f"{hint} VGS shows them in the dashboard under the vault's Settings."
    hint = (
        f"Check the {CLIENT_ID} and the {CLIENT_SECRET}: they must be a service account's "
        "credentials, copied exactly, and the service account must be enabled and have the "
        "vault scopes (aliases:read, aliases:write, aliases:delete) on this vault."
    )
    if target.own_vault:
        return (
            f"{hint} A vaultswitch vault creates one with "
            f"{_vault_cmd(target, 'service-account')} ({_DATA_DIR_NOTE}); the secret is shown "
            "only once."
        )
    return f"{hint} VGS shows the secret only once, when the service account is created."


def _vault_not_found_hint(target: Target) -> str:
    hint = (
        f"Check the {VAULT_ID}: it must be the ID of a vault this service account is assigned "
        "to, in the environment the connector uses"
    )
    if target.environment:
        hint += f" ({target.environment})"
    hint += "; sandbox vault IDs do not work in live and vice versa."
    if target.own_vault:
        hint += (
            f" On a vaultswitch vault, `vaultswitch vault list` lists the vault IDs "
            f"({_DATA_DIR_NOTE}); check also the connector's {target.setting}, a template "
            "such as http://HOST:PORT/{vault_id}/."
        )
    return hint


def permission_hint(target: Target, fallback: str) -> str:
    if target.stage != "vault":
        return fallback
    hint = (
        "The vault answered and knows these credentials, but refused to read from it: give "
        "the service account the aliases:read scope, and have reveal enabled on the vault."
    )
    if target.own_vault:
        return (
            f"{hint} On a vaultswitch vault: {_vault_cmd(target, 'reveal enable')} "
            f"({_DATA_DIR_NOTE})."
        )
    return f"{hint} On VGS, VGS Support enables reveal."


def diagnose(exc: VaultswitchError, target: Target) -> Outcome:
    """The check failure for ``exc``, raised while talking to ``target``."""
    message = _with_trace(exc.message, exc)
    kind = failure_kind(exc)
    if kind is not None:
        return Outcome.failed(UNREACHABLE, message, _network_hint(kind, target, exc.hint))
    if isinstance(exc, VaultAuthenticationFailed):
        return Outcome.failed(exc.code, message, _credentials_hint(target))
    if isinstance(exc, VaultNotFound):
        return Outcome.failed(exc.code, message, _vault_not_found_hint(target))
    if isinstance(exc, PermissionDenied):
        return Outcome.failed(exc.code, message, permission_hint(target, exc.hint))
    if isinstance(exc, RateLimited):
        wait = f"{exc.retry_after:g} s" if exc.retry_after is not None else "a minute"
        return Outcome.failed(
            exc.code,
            message,
            f"{target.host} is rate limiting these credentials (VGS allows 3,000 requests per "
            f"minute per vault, shared by every client): wait {wait} and test again.",
        )
    if isinstance(exc, VaultUnavailable):
        return Outcome.failed(
            exc.code,
            message,
            f"{target.host} answered with a server error: this is usually transient, test "
            "again in a minute; if it persists, give the trace id to the vault's operator "
            "(VGS support, or the vault's own log).",
        )
    if isinstance(exc, MalformedVaultResponse):
        return Outcome.failed(
            exc.code,
            message,
            f"{exc.hint} The connector's {target.setting} led to {target.host}.",
        )
    return Outcome.failed(exc.code, message, exc.hint)
