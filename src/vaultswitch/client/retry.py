"""Retry policy: which outcomes are retried and how long to wait (exponential backoff, full jitter).

Pure functions over :class:`HttpRequest`, :class:`HttpResponse` and :class:`TransportFailure`;
the executors only carry out the decisions.
"""

from __future__ import annotations

import math
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum

import httpx

from vaultswitch.connectors.base import HttpRequest, HttpResponse

#: Statuses that are never worth retrying although they are 5xx (permanent server answers).
_PERMANENT_5XX = frozenset({501, 505})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``attempts`` counts the first try; delays are ``uniform(0, min(max_delay, base * 2**n))``.

    ``max_retry_after``: the longest ``Retry-After`` the client waits for; a longer one is not
    waited for and the 429/503 surfaces as a typed error carrying ``retry_after``.
    """

    attempts: int = 3
    base_delay: float = 0.05
    max_delay: float = 2.0
    max_retry_after: float = 10.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1 (1 = no retries)")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_retry_after < 0:
            raise ValueError("RetryPolicy delays must be zero or positive seconds")

    def backoff(self, retry_number: int, rng: Callable[[], float]) -> float:
        """Full-jitter delay before retry ``retry_number`` (1 = the first retry)."""
        exponent = min(retry_number - 1, 62)
        ceiling: float = min(self.max_delay, self.base_delay * (2.0**exponent))
        return rng() * ceiling


class FailureKind(StrEnum):
    """Why an exchange produced no HTTP response."""

    CONNECT = "connect_error"
    CONNECT_TIMEOUT = "connect_timeout"
    POOL_TIMEOUT = "pool_timeout"
    TLS = "tls_error"
    READ_TIMEOUT = "read_timeout"
    WRITE_TIMEOUT = "write_timeout"
    CONNECTION_LOST = "connection_lost"
    PROTOCOL = "protocol_error"
    BAD_REQUEST = "invalid_request_url"
    DECODING = "decoding_error"
    OTHER = "transport_error"


_NOT_SENT = frozenset({FailureKind.CONNECT, FailureKind.CONNECT_TIMEOUT, FailureKind.POOL_TIMEOUT})
_NEVER_RETRIED = frozenset(
    {FailureKind.TLS, FailureKind.BAD_REQUEST, FailureKind.DECODING, FailureKind.OTHER}
)
_DESCRIPTIONS = {
    FailureKind.CONNECT: "the connection failed (refused, reset or no route)",
    FailureKind.CONNECT_TIMEOUT: "connecting timed out",
    FailureKind.POOL_TIMEOUT: "no free connection in the pool in time",
    FailureKind.TLS: "the TLS handshake failed (certificate not trusted?)",
    FailureKind.READ_TIMEOUT: "the vault did not answer in time (read timeout)",
    FailureKind.WRITE_TIMEOUT: "sending the request timed out",
    FailureKind.CONNECTION_LOST: "the connection was lost before a full answer",
    FailureKind.PROTOCOL: "the server broke the HTTP protocol",
    FailureKind.BAD_REQUEST: "the request URL or headers are not valid",
    FailureKind.DECODING: "the response body could not be decoded",
    FailureKind.OTHER: "the HTTP exchange failed",
}


@dataclass(frozen=True, slots=True)
class TransportFailure:
    """An exchange that produced no response; carries only a kind (never exception text)."""

    kind: FailureKind
    exception_type: str = ""

    @property
    def certainly_not_sent(self) -> bool:
        """True when the request cannot have reached the server (safe to re-send anything)."""
        return self.kind in _NOT_SENT

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self.kind]


def classify_exception(exc: BaseException) -> TransportFailure:
    """Map an httpx (or lower-level) exception to a :class:`TransportFailure`."""
    name = type(exc).__name__
    kind = FailureKind.OTHER
    if isinstance(exc, httpx.ConnectTimeout):
        kind = FailureKind.CONNECT_TIMEOUT
    elif isinstance(exc, httpx.PoolTimeout):
        kind = FailureKind.POOL_TIMEOUT
    elif isinstance(exc, httpx.ReadTimeout):
        kind = FailureKind.READ_TIMEOUT
    elif isinstance(exc, httpx.WriteTimeout):
        kind = FailureKind.WRITE_TIMEOUT
    elif isinstance(exc, httpx.ConnectError):
        kind = FailureKind.TLS if _is_tls_failure(exc) else FailureKind.CONNECT
    elif isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.CloseError):
        kind = FailureKind.CONNECTION_LOST
    elif isinstance(exc, httpx.RemoteProtocolError):
        kind = FailureKind.PROTOCOL
    elif isinstance(
        exc,
        httpx.LocalProtocolError | httpx.UnsupportedProtocol | httpx.InvalidURL | UnicodeError,
    ):
        kind = FailureKind.BAD_REQUEST
    elif isinstance(exc, httpx.DecodingError):
        kind = FailureKind.DECODING
    elif isinstance(exc, httpx.TimeoutException):
        kind = FailureKind.READ_TIMEOUT
    return TransportFailure(kind, name)


def _is_tls_failure(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            return True
        current = current.__cause__ or current.__context__
    return False


def is_retryable_status(status: int) -> bool:
    return status == 429 or (status >= 500 and status not in _PERMANENT_5XX)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP date); None if absent."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def delay_after_response(
    policy: RetryPolicy,
    request: HttpRequest,
    response: HttpResponse,
    attempt: int,
    rng: Callable[[], float],
) -> float | None:
    """Seconds to wait before re-sending after ``response``; None = use this response."""
    status = response.status
    if status < 429 or attempt >= policy.attempts or not is_retryable_status(status):
        return None
    if status != 429 and not request.retry_safe:
        return None  # a 5xx to a create may have stored the data: never re-send
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if retry_after is not None:
        if retry_after > policy.max_retry_after:
            return None
        return retry_after
    return policy.backoff(attempt, rng)


def delay_after_failure(
    policy: RetryPolicy,
    request: HttpRequest,
    failure: TransportFailure,
    attempt: int,
    rng: Callable[[], float],
) -> float | None:
    """Seconds to wait before re-sending after a transport failure; None = give up."""
    if attempt >= policy.attempts or failure.kind in _NEVER_RETRIED:
        return None
    if not request.retry_safe and not failure.certainly_not_sent:
        return None
    return policy.backoff(attempt, rng)
