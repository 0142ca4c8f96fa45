"""The sandbox processor connector: vaultswitch's own sandbox processor (``vaultswitch
processor serve``), over its JSON authorize API (docs/sandbox-processor.md).

Credentials: ``HeaderKey`` (``api_key``, sent as a Bearer token). Configuration:
the account's ``metadata.base_url`` (default ``http://127.0.0.1:8230/``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from vaultswitch.connectors.base import Credentials, HeaderKey, HttpResponse
from vaultswitch.domain.errors import InvalidRequest, VaultswitchError
from vaultswitch.orchestrator.processors.base import (
    AuthorizeData,
    AuthorizeResult,
    AuthorizeStatus,
    HttpRequest,
    ProcessorConnector,
    ProcessorFlow,
)
from vaultswitch.orchestrator.processors.errors import (
    MalformedProcessorResponse,
    ProcessorAuthenticationFailed,
    ProcessorRateLimited,
    ProcessorRejectedRequest,
    ProcessorTransactionNotFound,
    ProcessorUnavailable,
)

DEFAULT_BASE_URL = "http://127.0.0.1:8230/"
AUTHORIZATIONS_PATH = "v1/authorizations"
_MAX_UPSTREAM_TEXT = 300
_FIELD = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_TRANSACTION_ID = re.compile(r"[A-Za-z0-9_\-]{1,128}")
_STATUSES = {
    "succeeded": AuthorizeStatus.SUCCEEDED,
    "declined": AuthorizeStatus.FAILED,
    "failed": AuthorizeStatus.FAILED,
    "processing": AuthorizeStatus.PROCESSING,
}


def _config_error(message: str) -> InvalidRequest:
    return InvalidRequest(
        message,
        field="metadata.base_url",
        hint="Set metadata.base_url of the processor account to the sandbox processor's URL, "
        f"e.g. {DEFAULT_BASE_URL} (the URL `vaultswitch processor serve` prints).",
    )


def normalise_base_url(value: Any) -> str:
    """An http(s) URL without credentials, query or fragment, ending in ``/``."""
    if not isinstance(value, str) or not value.strip():
        raise _config_error("metadata.base_url must be a non-empty URL string")
    text = value.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise _config_error("metadata.base_url is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _config_error("metadata.base_url must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise _config_error("metadata.base_url must not carry credentials (use api_key)")
    if parts.query or parts.fragment:
        raise _config_error("metadata.base_url must not have a query string or fragment")
    if port == 0:
        raise _config_error("metadata.base_url must not use port 0")
    return text if text.endswith("/") else text + "/"


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    base_url: str = DEFAULT_BASE_URL

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", normalise_base_url(self.base_url))

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any] | None) -> SandboxConfig:
        """From a connector account's ``metadata`` (other keys are ignored)."""
        if metadata is None:
            return cls()
        if not isinstance(metadata, Mapping):
            raise InvalidRequest("metadata must be an object", field="metadata")
        base_url = metadata.get("base_url")
        return cls() if base_url is None else cls(base_url)


# --- error bodies ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Upstream:
    status: int
    code: str | None
    message: str | None
    field: str | None
    request_id: str | None


def _text(value: Any, limit: int = _MAX_UPSTREAM_TEXT) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:limit]


def _read_error(response: HttpResponse) -> _Upstream:
    """The processor's ``{"error": {code, message, field, request_id}}``, best effort."""
    error: Any = None
    try:
        error = json.loads(response.body).get("error")
    except (ValueError, UnicodeDecodeError, AttributeError):
        error = None
    if not isinstance(error, dict):
        error = {}
    field = _text(error.get("field"), 64)
    return _Upstream(
        status=response.status,
        code=_text(error.get("code"), 64),
        message=_text(error.get("message")),
        field=field if field and _FIELD.fullmatch(field) else None,
        request_id=_text(response.headers.get("x-request-id"), 128)
        or _text(error.get("request_id"), 128),
    )


def _retry_after(response: HttpResponse) -> float | None:
    raw = response.headers.get("retry-after")
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None


def map_error(response: HttpResponse, flow: ProcessorFlow) -> VaultswitchError:
    """Turn a non-2xx answer of the sandbox processor into the typed error that explains it."""
    up = _read_error(response)
    status = response.status
    common: dict[str, Any] = {
        "trace_id": up.request_id,
        "upstream_status": status,
        "upstream_code": up.code,
    }
    detail = f": {up.message}" if up.message else ""
    doing = "authorize the payment" if flow is ProcessorFlow.AUTHORIZE else "look the payment up"
    if status in (401, 403):
        return ProcessorAuthenticationFailed(
            f"the processor rejected the API key (HTTP {status}){detail}", **common
        )
    if status == 429:
        return ProcessorRateLimited(
            f"the processor is rate limiting (HTTP 429){detail}",
            retry_after=_retry_after(response),
            **common,
        )
    if status >= 500:
        unknown = (
            "; the outcome is unknown until a retry with the same Idempotency-Key"
            if flow is ProcessorFlow.AUTHORIZE
            else ""
        )
        return ProcessorUnavailable(
            f"the processor failed to {doing} (HTTP {status}){unknown}", **common
        )
    if status == 404 and flow is ProcessorFlow.SYNC and up.code == "not_found":
        return ProcessorTransactionNotFound(
            f"the processor has no such transaction (HTTP 404){detail}", **common
        )
    if status == 404:
        return MalformedProcessorResponse(
            f"no sandbox processor API at metadata.base_url (HTTP 404 for /{AUTHORIZATIONS_PATH})",
            **common,
        )
    if status == 422 and up.code == "idempotency_key_reused":
        return ProcessorRejectedRequest(
            f"the processor refused the request (HTTP 422){detail}",
            field="Idempotency-Key",
            hint="An idempotency key must name one payment attempt: the same key was sent "
            "with a different amount, currency, reference or card. Use a new key per attempt.",
            **common,
        )
    if status in (400, 413, 415, 422):
        where = f" {up.field}" if up.field else ""
        return ProcessorRejectedRequest(
            f"the processor rejected the request{where} (HTTP {status}){detail}",
            field=up.field,
            **common,
        )
    return MalformedProcessorResponse(
        f"unexpected HTTP {status} from the processor when trying to {doing}", **common
    )


# --- success bodies --------------------------------------------------------------------------


def _malformed(problem: str, response: HttpResponse) -> MalformedProcessorResponse:
    return MalformedProcessorResponse(
        f"the processor's answer (HTTP {response.status}) {problem}",
        upstream_status=response.status,
        trace_id=_text(response.headers.get("x-request-id"), 128),
    )


def parse_authorization(response: HttpResponse) -> AuthorizeResult:
    """A 2xx authorization body → AuthorizeResult (``declined`` becomes ``failed``)."""
    try:
        body = json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        raise _malformed(f"is not JSON ({len(response.body)} bytes)", response) from None
    if not isinstance(body, dict):
        raise _malformed("is not a JSON object", response)
    transaction_id = body.get("id")
    if not isinstance(transaction_id, str) or not _TRANSACTION_ID.fullmatch(transaction_id):
        raise _malformed("has no valid id", response)
    raw_status = body.get("status")
    status = _STATUSES.get(raw_status) if isinstance(raw_status, str) else None
    if status is None:
        raise _malformed("has a status that is not succeeded, declined or processing", response)
    if status is not AuthorizeStatus.FAILED:
        return AuthorizeResult(status, transaction_id)
    code = _text(body.get("decline_code"), 64)
    if code is None:
        raise _malformed("declines without a decline_code", response)
    return AuthorizeResult(status, transaction_id, code, _text(body.get("message")))


class SandboxProcessorConnector(ProcessorConnector):
    """vaultswitch's sandbox processor: ``POST /v1/authorizations``, ``GET .../{id}``."""

    name = "sandbox"
    accepted_credentials = (HeaderKey,)
    supported_flows = frozenset({ProcessorFlow.AUTHORIZE, ProcessorFlow.SYNC})

    def __init__(self, config: SandboxConfig | None = None, **metadata: Any) -> None:
        self.config = config or SandboxConfig.from_metadata(metadata)

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any] | None) -> SandboxProcessorConnector:
        return cls(SandboxConfig.from_metadata(metadata))

    def __repr__(self) -> str:
        return f"SandboxProcessorConnector(base_url={self.config.base_url!r})"

    def _api_key(self, credentials: Credentials) -> str:
        self.check_credentials(credentials)
        assert isinstance(credentials, HeaderKey)
        return credentials.api_key.reveal()

    def _headers(self, credentials: Credentials) -> dict[str, str]:
        return {
            "authorization": f"Bearer {self._api_key(credentials)}",
            "accept": "application/json",
        }

    def build_authorize(self, credentials: Credentials, data: AuthorizeData) -> HttpRequest:
        headers = self._headers(credentials)
        headers["content-type"] = "application/json"
        if data.idempotency_key is not None:
            headers["idempotency-key"] = data.idempotency_key
        return HttpRequest(
            method="POST",
            url=self.config.base_url + AUTHORIZATIONS_PATH,
            flow=ProcessorFlow.AUTHORIZE,
            headers=headers,
            body=authorize_body(data),
            # the processor answers a retry with the first result only under the same key
            retry_safe=data.idempotency_key is not None,
        )

    def parse_authorize(self, response: HttpResponse) -> AuthorizeResult:
        if not 200 <= response.status < 300:
            raise map_error(response, ProcessorFlow.AUTHORIZE)
        return parse_authorization(response)

    def build_sync(self, credentials: Credentials, connector_transaction_id: str) -> HttpRequest:
        if not isinstance(connector_transaction_id, str) or not _TRANSACTION_ID.fullmatch(
            connector_transaction_id
        ):
            raise InvalidRequest(
                "connector_transaction_id must be 1-128 letters, digits, '_' or '-'",
                field="connector_transaction_id",
            )
        return HttpRequest(
            method="GET",
            url=f"{self.config.base_url}{AUTHORIZATIONS_PATH}/{quote(connector_transaction_id)}",
            flow=ProcessorFlow.SYNC,
            headers=self._headers(credentials),
        )

    def parse_sync(self, response: HttpResponse) -> AuthorizeResult:
        if not 200 <= response.status < 300:
            raise map_error(response, ProcessorFlow.SYNC)
        return parse_authorization(response)


def authorize_body(data: AuthorizeData) -> bytes:
    """The JSON body of an authorize: the one place the card number and CVC are revealed."""
    card = data.card
    card_json: dict[str, Any] = {
        "number": card.number.reveal(),
        "exp_month": card.expiry.month,
        "exp_year": card.expiry.year,
    }
    if card.cvc is not None:
        card_json["cvc"] = card.cvc.reveal()
    if card.holder_name is not None:
        card_json["holder_name"] = card.holder_name
    body = {
        "amount": data.amount,
        "currency": data.currency.upper(),
        "reference": data.reference,
        "card": card_json,
    }
    return json.dumps(body, separators=(",", ":")).encode()
