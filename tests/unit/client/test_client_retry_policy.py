"""Retry decisions as pure functions: statuses, transport failures, backoff, Retry-After."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from vaultswitch.client.retry import (
    FailureKind,
    RetryPolicy,
    TransportFailure,
    classify_exception,
    delay_after_failure,
    delay_after_response,
    parse_retry_after,
)
from vaultswitch.connectors.base import Flow, HttpRequest, HttpResponse

READ = HttpRequest("GET", "https://vault.example/aliases/a", Flow.RETRIEVE)
CREATE = HttpRequest("POST", "https://vault.example/aliases", Flow.INSERT, retry_safe=False)
POLICY = RetryPolicy(attempts=3, base_delay=0.1, max_delay=1.0, max_retry_after=5.0)


def one() -> float:
    return 1.0


def test_backoff_is_full_jitter_under_an_exponential_cap() -> None:
    assert [POLICY.backoff(n, one) for n in (1, 2, 3, 4, 5)] == [0.1, 0.2, 0.4, 0.8, 1.0]
    assert POLICY.backoff(3, lambda: 0.0) == 0.0
    assert POLICY.backoff(1000, one) == 1.0  # no overflow on huge retry numbers


@pytest.mark.parametrize("bad", [{"attempts": 0}, {"base_delay": -1}, {"max_retry_after": -1}])
def test_policy_rejects_nonsense(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="RetryPolicy"):
        RetryPolicy(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("request_", "status", "retried"),
    [
        (READ, 503, True),
        (READ, 500, True),
        (READ, 502, True),
        (READ, 429, True),
        (READ, 501, False),
        (READ, 404, False),
        (READ, 401, False),
        (READ, 200, False),
        (CREATE, 503, False),
        (CREATE, 500, False),
        (CREATE, 429, True),
    ],
)
def test_which_statuses_are_retried(request_: HttpRequest, status: int, retried: bool) -> None:
    delay = delay_after_response(POLICY, request_, HttpResponse(status), 1, one)
    assert (delay is not None) is retried


def test_no_retry_after_the_last_attempt() -> None:
    assert delay_after_response(POLICY, READ, HttpResponse(503), 3, one) is None
    failure = TransportFailure(FailureKind.CONNECT)
    assert delay_after_failure(POLICY, READ, failure, 3, one) is None


def test_retry_after_is_honoured_and_capped() -> None:
    wait = HttpResponse(429, {"retry-after": "3"})
    assert delay_after_response(POLICY, CREATE, wait, 1, one) == 3.0
    too_long = HttpResponse(429, {"retry-after": "30"})
    assert delay_after_response(POLICY, CREATE, too_long, 1, one) is None
    on_503 = HttpResponse(503, {"retry-after": "1"})
    assert delay_after_response(POLICY, READ, on_503, 1, one) == 1.0


@pytest.mark.parametrize(
    ("kind", "read_retried", "create_retried"),
    [
        (FailureKind.CONNECT, True, True),
        (FailureKind.CONNECT_TIMEOUT, True, True),
        (FailureKind.POOL_TIMEOUT, True, True),
        (FailureKind.READ_TIMEOUT, True, False),
        (FailureKind.WRITE_TIMEOUT, True, False),
        (FailureKind.CONNECTION_LOST, True, False),
        (FailureKind.PROTOCOL, True, False),
        (FailureKind.TLS, False, False),
        (FailureKind.BAD_REQUEST, False, False),
        (FailureKind.DECODING, False, False),
        (FailureKind.OTHER, False, False),
    ],
)
def test_which_transport_failures_are_retried(
    kind: FailureKind, read_retried: bool, create_retried: bool
) -> None:
    failure = TransportFailure(kind)
    assert (delay_after_failure(POLICY, READ, failure, 1, one) is not None) is read_retried
    assert (delay_after_failure(POLICY, CREATE, failure, 1, one) is not None) is create_retried


def _tls_error() -> httpx.ConnectError:
    try:
        try:
            raise ssl.SSLCertVerificationError("certificate verify failed")
        except ssl.SSLError as inner:
            raise httpx.ConnectError("boom") from inner
    except httpx.ConnectError as exc:
        return exc


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (httpx.ConnectError("refused"), FailureKind.CONNECT),
        (httpx.ConnectTimeout("t"), FailureKind.CONNECT_TIMEOUT),
        (httpx.PoolTimeout("t"), FailureKind.POOL_TIMEOUT),
        (httpx.ReadTimeout("t"), FailureKind.READ_TIMEOUT),
        (httpx.WriteTimeout("t"), FailureKind.WRITE_TIMEOUT),
        (httpx.ReadError("reset"), FailureKind.CONNECTION_LOST),
        (httpx.RemoteProtocolError("bad"), FailureKind.PROTOCOL),
        (httpx.UnsupportedProtocol("ftp"), FailureKind.BAD_REQUEST),
        (httpx.InvalidURL("bad"), FailureKind.BAD_REQUEST),
        (httpx.DecodingError("gzip"), FailureKind.DECODING),
        (RuntimeError("anything"), FailureKind.OTHER),
    ],
)
def test_classify_exception(exc: BaseException, kind: FailureKind) -> None:
    failure = classify_exception(exc)
    assert failure.kind is kind
    assert failure.exception_type == type(exc).__name__


def test_a_tls_failure_is_told_apart_from_a_refused_connection() -> None:
    assert classify_exception(_tls_error()).kind is FailureKind.TLS


def test_failures_carry_no_exception_text() -> None:
    failure = classify_exception(httpx.ConnectError("https://user:pw@host/ refused"))
    assert "pw" not in repr(failure)
    assert "pw" not in failure.description


def test_parse_retry_after() -> None:
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(" 2.5 ") == 2.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None
    now = datetime(2026, 1, 1, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=42), usegmt=True)
    assert parse_retry_after(later, now=now.timestamp()) == 42.0
