"""The connector interface: flows, request/response values, credentials, vault data types.

A connector never performs I/O. For each flow it returns a :class:`Call`: the
HTTP requests to send (independent of each other, in order) and a function that
turns their responses into a typed result or raises a typed error
(:mod:`vaultswitch.domain.errors`). The client (:mod:`vaultswitch.client`) is
the only place that sends them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Generic, TypeVar

from vaultswitch.domain.cards import Card, CardNumber, NetworkToken
from vaultswitch.domain.errors import (
    FlowNotSupported,
    InvalidCredentials,
    InvalidRequest,
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

_CREDENTIAL_VALUE_HINT = (
    "Pass each credential value as a str or a vaultswitch.domain.secret.Secret, e.g. "
    'SignatureKey(api_key="<client id>", key1="<client secret>", api_secret="tntabc12345"); '
    "a plain str is wrapped in a Secret when the credentials are built."
)


def _as_secret(value: object, field_name: str) -> Secret:
    """A credential value as a Secret: a str is wrapped, anything else is a typed error."""
    if isinstance(value, Secret):
        return value
    if isinstance(value, str):
        return Secret(value)
    raise InvalidCredentials(
        f"{field_name} must be a str or Secret, not {type(value).__name__}",
        field=f"connector_account_details.{field_name}",
        hint=_CREDENTIAL_VALUE_HINT,
    )


def _wrap_secrets(instance: object, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(instance, name)
        if type(value) is not Secret:
            object.__setattr__(instance, name, _as_secret(value, name))


@dataclass(frozen=True, slots=True)
class SignatureKey:
    """Three secrets; for VGS: api_key = client ID, key1 = client secret, api_secret = vault ID.

    Each value may be given as a str: it is wrapped in a :class:`Secret` on construction.
    """

    api_key: Secret
    key1: Secret
    api_secret: Secret
    auth_type: ClassVar[str] = "SignatureKey"

    def __post_init__(self) -> None:
        _wrap_secrets(self, ("api_key", "key1", "api_secret"))


@dataclass(frozen=True, slots=True)
class BodyKey:
    api_key: Secret
    key1: Secret
    auth_type: ClassVar[str] = "BodyKey"

    def __post_init__(self) -> None:
        _wrap_secrets(self, ("api_key", "key1"))


@dataclass(frozen=True, slots=True)
class HeaderKey:
    api_key: Secret
    auth_type: ClassVar[str] = "HeaderKey"

    def __post_init__(self) -> None:
        _wrap_secrets(self, ("api_key",))


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


def require_credentials(value: object) -> Credentials:
    """``value`` if it is one of the credential types, else InvalidCredentials saying how to
    build them (a ``connector_account_details`` mapping goes through :func:`parse_credentials`)."""
    if isinstance(value, SignatureKey | BodyKey | HeaderKey):
        return value
    hint = (
        "Build the credentials with SignatureKey(api_key, key1, api_secret) (VGS: client ID, "
        "client secret, vault ID), or from Hyperswitch's connector_account_details JSON with "
        "vaultswitch.connectors.base.parse_credentials(details)."
    )
    raise InvalidCredentials(
        f"credentials must be SignatureKey, BodyKey or HeaderKey, not {type(value).__name__}",
        field="connector_account_details",
        hint=hint,
    )


def parse_credentials(details: Mapping[str, Any]) -> Credentials:
    """Build credentials from Hyperswitch's ``connector_account_details`` JSON shape."""
    if not isinstance(details, Mapping):
        raise InvalidCredentials(
            f"connector_account_details must be a JSON object, not {type(details).__name__}",
            field="connector_account_details",
        )
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

    def __post_init__(self) -> None:
        if type(self.token) is not Secret:
            object.__setattr__(self, "token", _token_secret(self.token, "AccessTokenGrant"))


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A cached bearer token with its absolute expiry (``time.time()`` seconds)."""

    token: Secret
    token_type: str
    expires_at: float

    def __post_init__(self) -> None:
        if type(self.token) is not Secret:
            object.__setattr__(self, "token", _token_secret(self.token, "AccessToken"))


def as_access_token(value: object) -> AccessToken | None:
    """The token argument of a connector flow: an :class:`AccessToken`, None, or a bare bearer
    token (str or Secret, wrapped with no known expiry); anything else is InvalidRequest."""
    if value is None or isinstance(value, AccessToken):
        return value
    if isinstance(value, str | Secret):
        return AccessToken(
            value if isinstance(value, Secret) else Secret(value), "Bearer", math.inf
        )
    raise InvalidRequest(
        f"the access token must be an AccessToken, str or Secret, not {type(value).__name__}",
        field="access_token",
        hint="Pass what client.access_token(connector, credentials) returns, or None for "
        "connectors and API versions that use no token.",
    )


def _token_secret(value: object, owner: str) -> Secret:
    if isinstance(value, Secret):
        return value
    if isinstance(value, str):
        return Secret(value)
    raise InvalidRequest(
        f"{owner}.token must be a str or Secret, not {type(value).__name__}",
        field="access_token",
        hint="Pass the bearer token as a str or Secret; a str is wrapped in a Secret.",
    )


# --- vault data (Hyperswitch VaultRequestData / VaultResponseData) -------------------------


@dataclass(frozen=True, slots=True)
class SingleVaultId:
    """One alias holding the whole payment method."""

    alias: str

    def aliases(self) -> tuple[str, ...]:
        return (self.alias,)


@dataclass(frozen=True, slots=True)
class CardVaultIds:
    """One alias per card field (Hyperswitch ``MultiVaultIdType::Card``, plus the holder name).

    ``card_holder_name`` is None for a card stored without a holder name, and in ids stored
    before holder names had an alias of their own: such a card is rebuilt without one.
    """

    card_number: str
    card_exp_month: str
    card_exp_year: str
    card_cvc: str | None = None
    card_holder_name: str | None = None

    def aliases(self) -> tuple[str, ...]:
        return tuple(
            alias
            for alias in (
                self.card_number,
                self.card_exp_month,
                self.card_exp_year,
                self.card_cvc,
                self.card_holder_name,
            )
            if alias is not None
        )


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
VaultingData = Card | NetworkToken | CardNumber


@dataclass(frozen=True, slots=True)
class VaultRequestData:
    """Input of every vault flow; which fields matter depends on the flow.

    Checked on construction: card data must already be a :class:`Card`,
    :class:`NetworkToken` or :class:`CardNumber` (built with their ``parse``), so that it is
    validated and held as secrets; anything else is an :class:`InvalidRequest` naming the field.
    """

    vaulting_data: VaultingData | None = None
    connector_vault_id: VaultId | None = None
    connector_customer_id: str | None = None
    should_generate_multiple_tokens: bool = False

    def __post_init__(self) -> None:
        _check_request_fields(self)


def require_request_data(value: object, name: str = "data") -> VaultRequestData:
    """``value`` if it is a :class:`VaultRequestData`, else InvalidRequest naming ``name``."""
    if isinstance(value, VaultRequestData):
        return value
    raise InvalidRequest(
        f"{name} must be a VaultRequestData, not {type(value).__name__}",
        field=name,
        hint="Wrap the payment method: VaultRequestData(vaulting_data=Card.parse(...)) to "
        "insert, VaultRequestData(connector_vault_id=result.vault_id) to retrieve or delete.",
    )


def require_request_items(items: object) -> Sequence[VaultRequestData]:
    """``items`` if it is a sequence of :class:`VaultRequestData`, else InvalidRequest."""
    if isinstance(items, VaultRequestData | str | bytes) or not isinstance(items, Sequence):
        raise InvalidRequest(
            f"items must be a list of VaultRequestData, not {type(items).__name__}",
            field="items",
            hint="Pass a list, e.g. insert_many(connector, credentials, [data1, data2]); "
            "for one payment method use insert().",
        )
    for index, item in enumerate(items):
        require_request_data(item, f"items[{index}]")
    return items


def _check_request_fields(data: VaultRequestData) -> None:
    vaulting: object = data.vaulting_data
    if vaulting is not None and not isinstance(vaulting, Card | NetworkToken | CardNumber):
        raise InvalidRequest(
            f"vaulting_data must be a Card, NetworkToken or CardNumber, "
            f"not {type(vaulting).__name__}",
            field="vaulting_data",
            hint="Build card data with Card.parse(number, exp_month, exp_year, cvc, holder_name), "
            "NetworkToken.parse(token, exp_month, exp_year, cryptogram) or CardNumber(number) "
            "(vaultswitch.domain.cards): they validate it and keep it in Secrets.",
        )
    vault_id: object = data.connector_vault_id
    if vault_id is not None and not isinstance(
        vault_id, SingleVaultId | CardVaultIds | NetworkTokenVaultIds
    ):
        raise InvalidRequest(
            f"connector_vault_id must be a SingleVaultId, CardVaultIds or NetworkTokenVaultIds, "
            f"not {type(vault_id).__name__}",
            field="connector_vault_id",
            hint="Pass the vault_id of an InsertResult, or wrap a stored alias: "
            "SingleVaultId(alias).",
        )
    customer: object = data.connector_customer_id
    if customer is not None and not isinstance(customer, str):
        raise InvalidRequest(
            f"connector_customer_id must be a str, not {type(customer).__name__}",
            field="connector_customer_id",
        )
    if not isinstance(data.should_generate_multiple_tokens, bool):
        raise InvalidRequest(
            "should_generate_multiple_tokens must be True or False, "
            f"not {type(data.should_generate_multiple_tokens).__name__}",
            field="should_generate_multiple_tokens",
        )


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
        require_credentials(credentials)
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
