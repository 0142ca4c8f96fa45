"""The processor connector interface: authorize (and sync) as request builders and response
parsers over plain values, in the style of :mod:`vaultswitch.connectors.base`.

A processor connector never performs I/O. ``build_authorize`` turns an
:class:`AuthorizeData` (the card as a :class:`~vaultswitch.domain.cards.Card`) into an
:class:`HttpRequest`; ``parse_authorize`` turns the :class:`HttpResponse` into an
:class:`AuthorizeResult` or raises a typed error (:mod:`.errors`). A declined card is
a result (status ``failed`` with the decline code), not an error. The send step is
the caller's (:mod:`.transport` has one over httpx).

The request value is this module's own (its ``flow`` is a processor flow); the
response value is the vault connectors' :class:`~vaultswitch.connectors.base.HttpResponse`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from vaultswitch.connectors.base import Credentials, HeaderKey, HttpResponse
from vaultswitch.domain.cards import Card
from vaultswitch.domain.errors import FlowNotSupported, InvalidRequest, WrongCredentialType

__all__ = [
    "AuthorizeData",
    "AuthorizeResult",
    "AuthorizeStatus",
    "HttpRequest",
    "HttpResponse",
    "ProcessorConnector",
    "ProcessorFlow",
]

MAX_REFERENCE_LENGTH = 255


class ProcessorFlow(StrEnum):
    AUTHORIZE = "authorize"
    SYNC = "sync"


class AuthorizeStatus(StrEnum):
    """Hyperswitch's payment statuses for an authorize outcome."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PROCESSING = "processing"


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One HTTP request a processor connector wants sent. ``retry_safe``: may be re-sent
    even if it may already have reached the processor (an authorize with an idempotency
    key, a read). Its repr shows neither the body (it holds the card) nor header values
    (they hold the API key)."""

    method: str
    url: str
    flow: ProcessorFlow
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    retry_safe: bool = True

    def __repr__(self) -> str:
        size = 0 if self.body is None else len(self.body)
        names = ",".join(sorted(self.headers))
        return (
            f"HttpRequest({self.method} {self.url} flow={self.flow.value} "
            f"headers=[{names}] body={size}B)"
        )

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class AuthorizeData:
    """What to authorize: amount in minor units, ISO currency, our reference (the payment
    id), the card, and an idempotency key that makes retries safe (one per payment
    attempt). The card shows only its mask in repr."""

    amount: int
    currency: str
    reference: str
    card: Card
    idempotency_key: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 1:
            raise InvalidRequest("amount must be a positive integer of minor units", field="amount")
        if not isinstance(self.currency, str) or len(self.currency) != 3:
            raise InvalidRequest("currency must be a 3-letter ISO 4217 code", field="currency")
        if (
            not isinstance(self.reference, str)
            or not 1 <= len(self.reference) <= MAX_REFERENCE_LENGTH
        ):
            raise InvalidRequest(
                f"reference must be 1-{MAX_REFERENCE_LENGTH} characters", field="reference"
            )
        if not isinstance(self.card, Card):
            raise InvalidRequest("card must be a vaultswitch.domain.cards.Card", field="card")


@dataclass(frozen=True, slots=True)
class AuthorizeResult:
    """The outcome of an authorize: ``failed`` carries the processor's decline code."""

    status: AuthorizeStatus
    connector_transaction_id: str | None
    error_code: str | None = None
    error_message: str | None = None


class ProcessorConnector:
    """Base class for processor connectors. Flows a connector does not override raise
    FlowNotSupported; ``supported_flows`` lists the ones it implements."""

    name: ClassVar[str] = "base"
    accepted_credentials: ClassVar[tuple[type[Any], ...]] = (HeaderKey,)
    supported_flows: ClassVar[frozenset[ProcessorFlow]] = frozenset()

    def supports(self, flow: ProcessorFlow) -> bool:
        return flow in self.supported_flows

    def check_credentials(self, credentials: Credentials) -> None:
        """Raise WrongCredentialType when the account's auth_type is not accepted."""
        if not isinstance(credentials, self.accepted_credentials):
            accepted = ", ".join(t.auth_type for t in self.accepted_credentials)
            raise WrongCredentialType(
                f"processor connector {self.name} takes {accepted}, not {credentials.auth_type}",
                field="connector_account_details.auth_type",
                hint=f"Give the {self.name} processor account connector_account_details "
                f'{{"auth_type": "{accepted}", "api_key": "..."}}.',
            )

    def _unsupported(self, flow: ProcessorFlow) -> FlowNotSupported:
        return FlowNotSupported(
            f"processor connector {self.name} does not support the {flow.value} flow"
        )

    def build_authorize(self, credentials: Credentials, data: AuthorizeData) -> HttpRequest:
        raise self._unsupported(ProcessorFlow.AUTHORIZE)

    def parse_authorize(self, response: HttpResponse) -> AuthorizeResult:
        raise self._unsupported(ProcessorFlow.AUTHORIZE)

    def build_sync(self, credentials: Credentials, connector_transaction_id: str) -> HttpRequest:
        raise self._unsupported(ProcessorFlow.SYNC)

    def parse_sync(self, response: HttpResponse) -> AuthorizeResult:
        raise self._unsupported(ProcessorFlow.SYNC)
