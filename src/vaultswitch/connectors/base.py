"""The connector interface: flows, request/response values, credentials, vault data types.

A connector never performs I/O. For each flow it returns a :class:`Call`: the
HTTP requests to send (independent of each other, in order) and a function that
turns their responses into a typed result or raises a typed error
(:mod:`vaultswitch.domain.errors`). The client (:mod:`vaultswitch.client`) is
the only place that sends them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Generic, TypeVar

from vaultswitch.domain.cards import Card, CardNumber, NetworkToken
from vaultswitch.domain.errors import (
    FlowNotSupported,
    InvalidCredentials,
    MalformedVaultResponse,
    WrongCredentialType,
)
from vaultswitch.domain.secret import Secret

T = TypeVar("T")


class Flow(StrEnum):
    ACCESS_TOKEN = "access_token"  # noqa: S105 (a flow name)
    INSERT = "insert"
    RETRIEVE = "retrieve"
    DELETE = "delete"
    CREATE_SESSION = "create_session"


class StorageType(StrEnum):
    PERSISTENT = "PERSISTENT"
    VOLATILE = "VOLATILE"


# --- wire values ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One HTTP request a connector wants sent. ``retry_safe``: may be re-sent even if it
    may already have reached the server (reads, deletes, token fetches)."""

    method: str
    url: str
    flow: Flow
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    retry_safe: bool = True
    uses_access_token: bool = False

    def __repr__(self) -> str:
        size = 0 if self.body is None else len(self.body)
        names = ",".join(sorted(self.headers))
        return (
            f"HttpRequest({self.method} {self.url} flow={self.flow.value} "
            f"headers=[{names}] body={size}B)"
        )


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """An HTTP response handed back to a connector. Header names are lower-case."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        """Decode the body as JSON or raise MalformedVaultResponse."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedVaultResponse(
                f"expected a JSON body, got {len(self.body)} bytes that are not JSON "
                f"(HTTP {self.status})",
                upstream_status=self.status,
            ) from exc

    def __repr__(self) -> str:
        return f"HttpResponse(status={self.status} body={len(self.body)}B)"


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """A flow's plan: requests to send and the parser for their responses (same order)."""

    requests: tuple[HttpRequest, ...]
    parse: Callable[[Sequence[HttpResponse]], T]


# --- credentials (Hyperswitch ConnectorAuthType shapes) ------------------------------------


@dataclass(frozen=True, slots=True)
class SignatureKey:
    """Three secrets; for VGS: api_key = client ID, key1 = client secret, api_secret = vault ID."""

    api_key: Secret
    key1: Secret
    api_secret: Secret
    auth_type: ClassVar[str] = "SignatureKey"


@dataclass(frozen=True, slots=True)
class BodyKey:
    api_key: Secret
    key1: Secret
    auth_type: ClassVar[str] = "BodyKey"


@dataclass(frozen=True, slots=True)
class HeaderKey:
    api_key: Secret
    auth_type: ClassVar[str] = "HeaderKey"


Credentials = SignatureKey | BodyKey | HeaderKey
_CREDENTIAL_TYPES: dict[str, type[SignatureKey] | type[BodyKey] | type[HeaderKey]] = {
    "SignatureKey": SignatureKey,
    "BodyKey": BodyKey,
    "HeaderKey": HeaderKey,
}
_CREDENTIAL_FIELDS: dict[str, tuple[str, ...]] = {
    "SignatureKey": ("api_key", "key1", "api_secret"),
    "BodyKey": ("api_key", "key1"),
    "HeaderKey": ("api_key",),
}


def parse_credentials(details: Mapping[str, Any]) -> Credentials:
    """Build credentials from Hyperswitch's ``connector_account_details`` JSON shape."""
    auth_type = details.get("auth_type")
    if auth_type not in _CREDENTIAL_TYPES:
        raise InvalidCredentials(
            f"auth_type must be one of {', '.join(_CREDENTIAL_TYPES)}",
            field="connector_account_details.auth_type",
        )
    values: dict[str, Secret] = {}
    for name in _CREDENTIAL_FIELDS[auth_type]:
        raw = details.get(name)
        if isinstance(raw, Secret):
            raw = raw.reveal()
        if not isinstance(raw, str) or not raw.strip():
            raise InvalidCredentials(
                f"{name} is required for {auth_type} and must be a non-empty string",
                field=f"connector_account_details.{name}",
            )
        values[name] = Secret(raw.strip())
    return _CREDENTIAL_TYPES[auth_type](**values)


@dataclass(frozen=True, slots=True)
class AccessTokenGrant:
    """What a token endpoint granted; the client turns ``expires_in`` into a deadline."""

    token: Secret
    token_type: str
    expires_in: int
    scope: str | None = None


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A cached bearer token with its absolute expiry (``time.time()`` seconds)."""

    token: Secret
    token_type: str
    expires_at: float


# --- vault data (Hyperswitch VaultRequestData / VaultResponseData) -------------------------


@dataclass(frozen=True, slots=True)
class SingleVaultId:
    """One alias holding the whole payment method."""

    alias: str

    def aliases(self) -> tuple[str, ...]:
        return (self.alias,)


@dataclass(frozen=True, slots=True)
class CardVaultIds:
    """One alias per card field (Hyperswitch ``MultiVaultIdType::Card``)."""

    card_number: str
    card_exp_month: str
    card_exp_year: str
    card_cvc: str | None = None

    def aliases(self) -> tuple[str, ...]:
        base = (self.card_number, self.card_exp_month, self.card_exp_year)
        return base if self.card_cvc is None else (*base, self.card_cvc)


@dataclass(frozen=True, slots=True)
class NetworkTokenVaultIds:
    """One alias per network token field (``MultiVaultIdType::NetworkToken``)."""

    network_token: str
    network_token_exp_month: str
    network_token_exp_year: str
    cryptogram: str | None = None

    def aliases(self) -> tuple[str, ...]:
        base = (self.network_token, self.network_token_exp_month, self.network_token_exp_year)
        return base if self.cryptogram is None else (*base, self.cryptogram)


VaultId = SingleVaultId | CardVaultIds | NetworkTokenVaultIds
VaultingData = Card | NetworkToken


@dataclass(frozen=True, slots=True)
class VaultRequestData:
    """Input of every vault flow; which fields matter depends on the flow."""

    vaulting_data: VaultingData | None = None
    connector_vault_id: VaultId | None = None
    connector_customer_id: str | None = None
    should_generate_multiple_tokens: bool = False


@dataclass(frozen=True, slots=True)
class InsertResult:
    vault_id: VaultId
    fingerprint_id: str


@dataclass(frozen=True, slots=True)
class RetrieveResult:
    vault_data: Card | NetworkToken | CardNumber


@dataclass(frozen=True, slots=True)
class DeleteResult:
    deleted: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SessionResult:
    """What a client-side vault SDK needs (for VGS: vault id and environment)."""

    details: Mapping[str, str]


# --- the interface -------------------------------------------------------------------------


class VaultConnector:
    """Base class for vault connectors. Flows a connector does not override raise
    FlowNotSupported; ``supported_flows`` lists the ones it implements."""

    name: ClassVar[str] = "base"
    accepted_credentials: ClassVar[tuple[type[Any], ...]] = ()
    supported_flows: ClassVar[frozenset[Flow]] = frozenset()

    def supports(self, flow: Flow) -> bool:
        return flow in self.supported_flows

    def check_credentials(self, credentials: Credentials) -> None:
        """Raise WrongCredentialType / InvalidCredentials naming the field that is wrong."""
        if not isinstance(credentials, self.accepted_credentials):
            accepted = ", ".join(t.auth_type for t in self.accepted_credentials)
            raise WrongCredentialType(
                f"connector {self.name} takes {accepted}, not {credentials.auth_type}",
                field="connector_account_details.auth_type",
            )

    def requires_access_token(self, credentials: Credentials) -> bool:
        return False

    def token_cache_key(self, credentials: Credentials) -> str:
        """Key of this account's access token: connector, auth URL, client ID, vault."""
        raise FlowNotSupported(f"connector {self.name} does not use access tokens")

    def _unsupported(self, flow: Flow) -> FlowNotSupported:
        return FlowNotSupported(f"connector {self.name} does not support the {flow.value} flow")

    def access_token(self, credentials: Credentials) -> Call[AccessTokenGrant]:
        raise self._unsupported(Flow.ACCESS_TOKEN)

    def insert(
        self, credentials: Credentials, token: AccessToken | None, data: VaultRequestData
    ) -> Call[InsertResult]:
        raise self._unsupported(Flow.INSERT)

    def insert_many(
        self,
        credentials: Credentials,
        token: AccessToken | None,
        items: Sequence[VaultRequestData],
    ) -> Call[list[InsertResult]]:
        raise self._unsupported(Flow.INSERT)

    def retrieve(
        self, credentials: Credentials, token: AccessToken | None, data: VaultRequestData
    ) -> Call[RetrieveResult]:
        raise self._unsupported(Flow.RETRIEVE)

    def delete(
        self, credentials: Credentials, token: AccessToken | None, data: VaultRequestData
    ) -> Call[DeleteResult]:
        raise self._unsupported(Flow.DELETE)

    def create_session(
        self, credentials: Credentials, data: VaultRequestData
    ) -> Call[SessionResult]:
        raise self._unsupported(Flow.CREATE_SESSION)
