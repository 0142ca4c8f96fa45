"""Plain data objects passed between the vault service and the HTTP layer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vaultswitch.domain.secret import Secret

SCOPES: tuple[str, ...] = (
    "aliases:read",
    "aliases:write",
    "aliases:delete",
    "routes:read",  # the vault-management API: list and read routes
    "routes:write",  # create, replace and delete routes
)
STORAGES: tuple[str, ...] = ("PERSISTENT", "VOLATILE")
# Classifier limits: the wire checks, the service checks and the troubleshooting page all
# read these (a classifier is also limited to letters, digits and _ . : / -, see wire.py).
MAX_CLASSIFIERS = 32
MAX_CLASSIFIER_LENGTH = 64


def iso_utc(moment: datetime | None) -> str | None:
    """ISO-8601 UTC with a `Z` suffix, second precision (VGS style), or None."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    elif moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    if moment.year < 1000:  # isoformat pads the year, strftime("%Y") does not
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.isoformat(timespec="seconds")[:19] + "Z"


@dataclass(frozen=True, slots=True)
class VaultInfo:
    vault_id: str
    name: str
    reveal_enabled: bool
    fingerprinting: bool
    environment: str
    created_at: datetime
    key_version: int


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    client_id: str
    name: str
    vault_ids: tuple[str, ...]
    scopes: tuple[str, ...]
    token_lifespan: int
    disabled: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AccessCredential:
    """v1 access credentials (HTTP Basic) as listed: never the password or its hash."""

    username: str
    vault_id: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewValue:
    """A create item carrying a new value."""

    value: Secret
    format: str
    classifiers: tuple[str, ...] = ()
    storage: str = "PERSISTENT"


@dataclass(frozen=True, slots=True)
class AliasReference:
    """A create item asking for another alias (in `format`) of an existing record."""

    alias: str
    format: str
    storage: str = "PERSISTENT"


CreateItem = NewValue | AliasReference


@dataclass(frozen=True, slots=True)
class AliasInfo:
    alias: str
    format: str


@dataclass(frozen=True, slots=True)
class Record:
    """A stored value with its classifiers and aliases (VGS `RevealedData`).

    ``value`` is None when the caller may not see it (a create-by-reference answered to a
    caller that may not reveal); the wire form then leaves ``value`` out.
    """

    value: Secret | None
    classifiers: tuple[str, ...]
    aliases: tuple[AliasInfo, ...]
    created_at: datetime | None
    storage: str

    def to_wire(self) -> dict[str, Any]:
        """VGS RevealedData JSON; contains the revealed value unless it is withheld."""
        wire: dict[str, Any] = {} if self.value is None else {"value": self.value.reveal()}
        wire["classifiers"] = list(self.classifiers)
        wire["aliases"] = [{"alias": a.alias, "format": a.format} for a in self.aliases]
        wire["created_at"] = iso_utc(self.created_at)
        wire["storage"] = self.storage
        return wire


@dataclass(frozen=True, slots=True)
class AuditContext:
    """Who asks (client id / username / `cli`), from where, under which trace id."""

    actor: str
    source: str | None = None
    trace_id: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: int | None
    at: datetime
    actor: str
    vault_id: str | None
    action: str
    alias: str | None
    outcome: str
    source: str | None
    trace_id: str | None
    detail: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "actor": self.actor,
            "vault_id": self.vault_id,
            "action": self.action,
            "alias": self.alias,
            "outcome": self.outcome,
            "source": self.source,
            "trace_id": self.trace_id,
            "detail": self.detail,
        }
