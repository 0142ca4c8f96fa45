"""The connector accounts the orchestrator accepts, and how their bodies are checked.

A kind is a ``(connector_type, connector_name)`` pair with its credential type, its
credential fields (with the labels the Hyperswitch control center shows) and a
metadata check that also builds the connector:

- ``vault_processor`` / ``vgs``: ``SignatureKey {api_key, key1, api_secret}``; metadata
  ``{vault_base_url?, auth_base_url?, proxy_url?, certificate?}`` (the first two point the
  VGS connector at a vault other than VGS's own hosts, e.g. ours).
- ``payment_processor`` / ``sandbox``: ``HeaderKey {api_key}``; metadata ``{base_url}``.

A new kind is one :class:`ConnectorKind` in :data:`KINDS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from vaultswitch.connectors.base import Credentials, HeaderKey, SignatureKey, VaultConnector
from vaultswitch.connectors.vgs import VgsConnector
from vaultswitch.domain.errors import InvalidRequest, VaultswitchError
from vaultswitch.domain.secret import Secret

from .errors import ApiError, invalid_data, invalid_value, missing_field
from .processors.registry import get_processor_connector
from .repos.connector_accounts import PAYMENT_PROCESSOR, VAULT_PROCESSOR

DETAILS = "connector_account_details"
VGS_METADATA = ("vault_base_url", "auth_base_url", "proxy_url", "certificate")
MAX_SECRET_LENGTH = 4096


@dataclass(frozen=True, slots=True)
class CredentialField:
    name: str
    label: str


@dataclass(frozen=True, slots=True)
class ConnectorKind:
    connector_type: str
    connector_name: str
    auth_type: str
    fields: tuple[CredentialField, ...]
    check_metadata: Callable[[dict[str, Any]], dict[str, Any]]
    build_credentials: Callable[[Mapping[str, str]], Credentials]

    def label(self, name: str) -> str | None:
        return next((f.label for f in self.fields if f.name == name), None)


# --- metadata ------------------------------------------------------------------------------


def _vgs_urls(metadata: Mapping[str, Any]) -> dict[str, str]:
    """VGS connector options from metadata; Hyperswitch's ``{{vault_id}}`` works as well."""
    options: dict[str, str] = {}
    for key in ("vault_base_url", "auth_base_url"):
        value = metadata.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise invalid_value(f"metadata.{key}", "must be a non-empty URL string")
        options[key] = value.strip().replace("{{vault_id}}", "{vault_id}")
    return options


#: connectors by their options: a connector is immutable configuration, and building one
#: (URL checks) costs ~100 µs per request; bounded, cleared when full
_VGS_CONNECTORS: dict[tuple[tuple[str, str], ...], VgsConnector] = {}
_VGS_CONNECTORS_MAX = 256


def vgs_connector(metadata: Mapping[str, Any] | None) -> VgsConnector:
    """The VGS connector for an account's metadata (defaults: VGS's sandbox hosts)."""
    urls = _vgs_urls(metadata or {})
    key = tuple(sorted(urls.items()))
    connector = _VGS_CONNECTORS.get(key)
    if connector is None:
        options: dict[str, Any] = dict(urls)
        connector = VgsConnector(**options)
        if len(_VGS_CONNECTORS) >= _VGS_CONNECTORS_MAX:
            _VGS_CONNECTORS.clear()
        _VGS_CONNECTORS[key] = connector
    return connector


def _check_vgs_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    for key in ("proxy_url", "certificate"):
        value = metadata.get(key)
        if value is not None and not isinstance(value, str):
            raise invalid_value(f"metadata.{key}", "must be a string")
    try:
        vgs_connector(metadata)
    except InvalidRequest as exc:
        field = exc.field or "metadata"
        raise invalid_data(
            field if field.startswith("metadata") else f"metadata.{field}",
            exc.message,
            hint=exc.hint,
        ) from None
    return metadata


def _check_processor_metadata(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def check(metadata: dict[str, Any]) -> dict[str, Any]:
        try:
            get_processor_connector(name, metadata)
        except VaultswitchError as exc:
            field = exc.field or "metadata"
            raise invalid_data(
                field if field.startswith("metadata") else f"metadata.{field}",
                exc.message,
                hint=exc.hint,
            ) from None
        return metadata

    return check


def _signature_key(values: Mapping[str, str]) -> Credentials:
    return SignatureKey(
        Secret(values["api_key"]), Secret(values["key1"]), Secret(values["api_secret"])
    )


def _header_key(values: Mapping[str, str]) -> Credentials:
    return HeaderKey(Secret(values["api_key"]))


KINDS: dict[tuple[str, str], ConnectorKind] = {
    (VAULT_PROCESSOR, "vgs"): ConnectorKind(
        VAULT_PROCESSOR,
        "vgs",
        "SignatureKey",
        (
            CredentialField("api_key", "Username (API Key)"),
            CredentialField("key1", "Password (Key1)"),
            CredentialField("api_secret", "Vault ID (API Secret)"),
        ),
        _check_vgs_metadata,
        _signature_key,
    ),
    (PAYMENT_PROCESSOR, "sandbox"): ConnectorKind(
        PAYMENT_PROCESSOR,
        "sandbox",
        "HeaderKey",
        (CredentialField("api_key", "API Key"),),
        _check_processor_metadata("sandbox"),
        _header_key,
    ),
}


def kind_for(connector_type: str, connector_name: str) -> ConnectorKind:
    kind = KINDS.get((connector_type, connector_name.strip().lower()))
    if kind is None:
        known = sorted(name for (ctype, name) in KINDS if ctype == connector_type)
        raise invalid_data(
            "connector_name",
            f"{connector_type} accounts take connector_name {' or '.join(map(repr, known))}",
            hint='Use "vgs" for a vault_processor and "sandbox" for a payment_processor.',
        )
    return kind


# --- credentials ---------------------------------------------------------------------------


def _details_object(raw: Any) -> dict[str, Any]:
    if raw is None:
        raise missing_field(DETAILS)
    if not isinstance(raw, dict):
        raise invalid_value(DETAILS, "must be an object with auth_type and the credential fields")
    return raw


def check_auth_type(kind: ConnectorKind, details: Mapping[str, Any]) -> None:
    auth_type = details.get("auth_type")
    field = f"{DETAILS}.auth_type"
    if auth_type is None:
        raise missing_field(field, hint=f'Send "auth_type": "{kind.auth_type}".')
    if auth_type != kind.auth_type:
        raise invalid_data(
            field,
            f"{kind.connector_name} accounts take {kind.auth_type}",
            hint=f'Send "auth_type": "{kind.auth_type}" with '
            + ", ".join(f"{f.name} ({f.label})" for f in kind.fields)
            + ".",
        )


def _field_value(kind: ConnectorKind, spec: CredentialField, raw: Any) -> str:
    field = f"{DETAILS}.{spec.name}"
    if raw is None:
        raise missing_field(field, label=spec.label)
    if not isinstance(raw, str):
        raise invalid_value(field, "must be a string", label=spec.label)
    value = raw.strip()
    if not value:
        raise missing_field(field, label=spec.label)
    if len(value) > MAX_SECRET_LENGTH:
        raise invalid_value(
            field, f"must be at most {MAX_SECRET_LENGTH} characters", label=spec.label
        )
    return value


def parse_credentials(
    kind: ConnectorKind, raw: Any, current: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The credential fields of ``connector_account_details`` (``current`` fills the fields
    an update leaves out). Errors name the field with its control-center label."""
    details = _details_object(raw)
    check_auth_type(kind, details)
    known = {"auth_type", *(f.name for f in kind.fields)}
    unknown = sorted(k for k in details if k not in known)
    if unknown:
        raise invalid_value(
            f"{DETAILS}.{unknown[0]}",
            f"is not a field of {kind.auth_type}",
            hint=f"{kind.auth_type} takes " + ", ".join(f.name for f in kind.fields) + ".",
        )
    values: dict[str, str] = {}
    for spec in kind.fields:
        raw_value = details.get(spec.name)
        if raw_value is None and current is not None and spec.name in current:
            values[spec.name] = current[spec.name]
            continue
        values[spec.name] = _field_value(kind, spec, raw_value)
    return values


def check_credentials(
    kind: ConnectorKind, connector: VaultConnector | None, values: Mapping[str, str]
) -> Credentials:
    """Credentials, checked by the connector itself (e.g. the VGS vault ID's form): a
    semantic problem is 422 naming the field by its label."""
    credentials = kind.build_credentials(values)
    if connector is None:
        return credentials
    try:
        connector.check_credentials(credentials)
    except VaultswitchError as exc:
        field = exc.field or DETAILS
        name = field.rsplit(".", 1)[-1]
        raise invalid_data(field, exc.message, label=kind.label(name), hint=exc.hint) from None
    return credentials


# --- masking -------------------------------------------------------------------------------


def mask(value: str) -> str:
    """Hyperswitch's display mask: first 2 + ``*``... + last 2; up to 4 characters all ``*``."""
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def masked_details(kind: ConnectorKind, values: Mapping[str, str]) -> dict[str, str]:
    masked = {"auth_type": kind.auth_type}
    for spec in kind.fields:
        masked[spec.name] = mask(values.get(spec.name, ""))
    return masked


def _mask_userinfo(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return mask(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"****:****@{host}", parts.path, parts.query, ""))


def masked_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Metadata as answered: credentials inside a ``proxy_url`` are masked."""
    if metadata is None:
        return None
    shown = dict(metadata)
    proxy = shown.get("proxy_url")
    if isinstance(proxy, str):
        shown["proxy_url"] = _mask_userinfo(proxy)
    return shown


__all__ = [
    "DETAILS",
    "KINDS",
    "VGS_METADATA",
    "ApiError",
    "ConnectorKind",
    "CredentialField",
    "check_credentials",
    "kind_for",
    "mask",
    "masked_details",
    "masked_metadata",
    "parse_credentials",
    "vgs_connector",
]
