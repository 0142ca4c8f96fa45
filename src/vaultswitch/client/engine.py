"""The client's logic as generators: every line the sync and async clients share.

A flow is a generator that yields *operations* and receives their results:

- :class:`Send` → an :class:`HttpResponse` or a :class:`TransportFailure` (never raises),
- :class:`Sleep` → None, after waiting,
- :class:`NeedToken` → an :class:`AccessToken` from the token cache (errors are thrown in).

:class:`~vaultswitch.client.executor.VaultClient` drives these with ``httpx.Client`` and
:class:`~vaultswitch.client.executor.AsyncVaultClient` with ``httpx.AsyncClient``; the only
difference is ``send`` versus ``await send``. The generators are also testable without I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Generator, Sequence
from dataclasses import fields
from time import perf_counter
from typing import Any, TypeVar

from vaultswitch.connectors.base import (
    AccessToken,
    AccessTokenGrant,
    Call,
    Credentials,
    DeleteResult,
    Flow,
    HttpRequest,
    HttpResponse,
    InsertResult,
    RetrieveResult,
    SessionResult,
    VaultConnector,
    VaultRequestData,
    require_credentials,
    require_request_data,
    require_request_items,
)
from vaultswitch.domain.errors import (
    InvalidRequest,
    MalformedVaultResponse,
    RateLimited,
    VaultError,
    VaultswitchError,
    VaultUnavailable,
)
from vaultswitch.domain.secret import Secret

from .logs import bind_logger, debug_check, host_of, new_logger, url_for_log
from .retry import (
    FailureKind,
    RetryPolicy,
    TransportFailure,
    delay_after_failure,
    delay_after_response,
    parse_retry_after,
)
from .tokens import key_digest

T = TypeVar("T")
_UNKNOWN: Any = object()
_MAX_ACCOUNTS = 4096


class Send:
    """Send this request once; the driver answers with HttpResponse | TransportFailure."""

    __slots__ = ("request",)

    def __init__(self, request: HttpRequest) -> None:
        self.request = request


class Sleep:
    """Wait this many seconds before going on."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


class NeedToken:
    """Get the access token for ``key`` (``stale``: the token the vault just rejected)."""

    __slots__ = ("connector", "credentials", "force", "key", "stale")

    def __init__(
        self,
        key: str,
        connector: VaultConnector,
        credentials: Credentials,
        stale: AccessToken | None = None,
        force: bool = False,
    ) -> None:
        self.key = key
        self.connector = connector
        self.credentials = credentials
        self.stale = stale
        self.force = force


Op = Send | Sleep | NeedToken
Outcome = HttpResponse | TransportFailure
Steps = Generator[Op, Any, T]


def _ms(started: float) -> float:
    return round((perf_counter() - started) * 1000.0, 3)


def _trace_id(responses: Sequence[HttpResponse]) -> str | None:
    for response in reversed(responses):
        trace = response.headers.get("vgs-request-id")
        if trace:
            return trace
    return None


_FAILURE_HINTS = {
    FailureKind.TLS: (
        "The TLS certificate of {host} is not trusted here: point ClientConfig.verify at the "
        "CA bundle that signed it (for a local vault, its CA file), or fix the host name."
    ),
    FailureKind.READ_TIMEOUT: (
        "{host} accepted the connection but did not answer within ClientConfig.read_timeout; "
        "retry later or raise the timeout. A create that timed out may have been stored."
    ),
    FailureKind.POOL_TIMEOUT: (
        "All connections to {host} were busy: raise ClientConfig.max_connections or "
        "pool_timeout, or send fewer concurrent requests."
    ),
    FailureKind.BAD_REQUEST: (
        "The connector built a request for {host} that cannot be sent: check the connector's "
        "base URL (scheme http/https, host name) in its configuration."
    ),
}
_DEFAULT_HINT = (
    "Check that {host} is the right vault or auth host and that it is reachable from here "
    "(DNS, firewall, proxy settings), then retry; 5xx answers and timeouts are usually transient."
)


def transport_error(
    request: HttpRequest, failure: TransportFailure, attempts: int, connector: str
) -> VaultError:
    """The typed error for an exchange that never got a response (names the host only)."""
    host = host_of(request.url)
    tries = "attempt" if attempts == 1 else "attempts"
    message = (
        f"{connector} {request.flow.value} request to {host} failed after {attempts} {tries}: "
        f"{failure.description}"
    )
    if failure.kind is FailureKind.DECODING:
        return MalformedVaultResponse(message)
    hint = _FAILURE_HINTS.get(failure.kind, _DEFAULT_HINT).format(host=host)
    return VaultUnavailable(message, hint=hint)


def _enrich(exc: VaultswitchError, responses: Sequence[HttpResponse]) -> None:
    """Fill trace id and Retry-After from the failing response when the parser did not."""
    failing = next((r for r in responses if r.status >= 400), None)
    if failing is None:
        return
    if exc.trace_id is None:
        exc.trace_id = failing.headers.get("vgs-request-id") or None
    if exc.upstream_status is None and isinstance(exc, VaultError):
        exc.upstream_status = failing.status
    if isinstance(exc, RateLimited) and exc.retry_after is None:
        exc.retry_after = parse_retry_after(failing.headers.get("retry-after"))


def bind_credentials(key: str, credentials: Credentials) -> str:
    """The cache key actually used: the connector's key (connector, auth URL, client ID,
    vault) bound to a digest of every credential value, so a caller with the right client
    ID but a wrong secret can never be served another caller's cached token."""
    digest = hashlib.sha256(key.encode())
    for item in fields(credentials):
        value = getattr(credentials, item.name)
        digest.update(
            b"\x00" + (value.reveal() if isinstance(value, Secret) else str(value)).encode()
        )
    return digest.hexdigest()


def require_connector(value: object) -> VaultConnector:
    """``value`` if it is a connector, else InvalidRequest saying how to get one."""
    if isinstance(value, VaultConnector):
        return value
    raise InvalidRequest(
        f"connector must be a VaultConnector, not {type(value).__name__}",
        field="connector",
        hint='Pass a connector instance, e.g. VgsConnector(environment="sandbox") or '
        'vaultswitch.connectors.registry.get_connector("vgs", **options).',
    )


def _check_flow_args(connector: object, credentials: object) -> None:
    require_connector(connector)
    require_credentials(credentials)


def _build(
    connector: str,
    flow: Flow,
    build: Callable[[AccessToken | None], Call[T]],
    token: AccessToken | None,
) -> Call[T]:
    try:
        return build(token)
    except VaultswitchError:
        raise
    except Exception as exc:
        # the message of a foreign exception may quote input data: keep only its type
        raise VaultswitchError(
            f"connector {connector} failed to build the {flow.value} request ({type(exc).__name__})"
        ) from None


def _parse(connector: str, flow: Flow, call: Call[T], responses: Sequence[HttpResponse]) -> T:
    try:
        return call.parse(responses)
    except VaultswitchError as exc:
        _enrich(exc, responses)
        raise
    except Exception as exc:
        status = responses[-1].status if responses else None
        raise MalformedVaultResponse(
            f"connector {connector} could not read the vault's answer to the {flow.value} "
            f"flow ({type(exc).__name__})",
            upstream_status=status,
            trace_id=_trace_id(responses),
        ) from None


class Engine:
    """Builds the step generators for every flow; holds the retry policy, RNG and logger."""

    __slots__ = ("_accounts", "debug_on", "log", "retry", "rng")

    def __init__(
        self, retry: RetryPolicy, rng: Callable[[], float], logger: Any | None = None
    ) -> None:
        self.retry = retry
        self.rng = rng
        # the library logger routes each call to the logging set-up in force at that moment
        # (silent until the application configures one); debug lines are not even
        # assembled while debug is off
        self.log: Any = bind_logger(logger if logger is not None else new_logger())
        self.debug_on = debug_check(self.log)
        self._accounts: dict[tuple[VaultConnector, Credentials], str | None] = {}

    def account(
        self, connector: VaultConnector, credentials: Credentials, use_token: bool = True
    ) -> str | None:
        """Check the credentials and return their token cache key (None: no token needed).

        Remembered per (connector, credentials) pair: both are immutable, so a check that
        passed once passes again; failures are never remembered.
        """
        memo: tuple[VaultConnector, Credentials] | None = (connector, credentials)
        try:
            known = self._accounts.get(memo, _UNKNOWN)  # type: ignore[arg-type]
        except TypeError:  # an unhashable connector: check every time
            memo, known = None, _UNKNOWN
        if known is not _UNKNOWN:
            return known if use_token else None
        connector.check_credentials(credentials)
        key = (
            bind_credentials(connector.token_cache_key(credentials), credentials)
            if connector.requires_access_token(credentials)
            else None
        )
        if memo is not None:
            if len(self._accounts) >= _MAX_ACCOUNTS:
                self._accounts.clear()
            self._accounts[memo] = key
        return key if use_token else None

    # --- one request, with retries -------------------------------------------------------

    def exchange(self, request: HttpRequest, connector: str) -> Steps[HttpResponse]:
        """Send one request, retrying per policy; return the response the parser should see."""
        attempt = 0
        while True:
            attempt += 1
            started = perf_counter()
            outcome = yield Send(request)
            if type(outcome) is HttpResponse:
                status = outcome.status
                if status >= 500 or self.debug_on():
                    (self.log.debug if status < 500 else self.log.warning)(
                        "vault.http",
                        flow=request.flow.value,
                        connector=connector,
                        method=request.method,
                        url=url_for_log(request.url),
                        status=status,
                        duration_ms=_ms(started),
                        attempt=attempt,
                        trace_id=outcome.headers.get("vgs-request-id"),
                    )
                delay = delay_after_response(self.retry, request, outcome, attempt, self.rng)
                if delay is None:
                    return outcome
                reason = f"HTTP {status}"
            else:
                assert isinstance(outcome, TransportFailure)
                self.log.warning(
                    "vault.http.failed",
                    flow=request.flow.value,
                    connector=connector,
                    method=request.method,
                    url=url_for_log(request.url),
                    error=outcome.kind.value,
                    exception_type=outcome.exception_type,
                    duration_ms=_ms(started),
                    attempt=attempt,
                )
                delay = delay_after_failure(self.retry, request, outcome, attempt, self.rng)
                if delay is None:
                    raise transport_error(request, outcome, attempt, connector)
                reason = outcome.kind.value
            self.log.info(
                "vault.retry",
                flow=request.flow.value,
                connector=connector,
                method=request.method,
                url=url_for_log(request.url),
                attempt=attempt,
                reason=reason,
                delay_ms=round(delay * 1000.0, 1),
            )
            yield Sleep(delay)

    def _send_all(self, call: Call[T], connector: str) -> Steps[list[HttpResponse]]:
        responses: list[HttpResponse] = []
        for request in call.requests:
            responses.append((yield from self.exchange(request, connector)))
        return responses

    # --- flows -----------------------------------------------------------------------------

    def flow(
        self,
        connector: VaultConnector,
        credentials: Credentials,
        flow: Flow,
        build: Callable[[AccessToken | None], Call[T]],
        *,
        use_token: bool = True,
    ) -> Steps[T]:
        """Check credentials, get a token if needed, send the call, parse; one 401 re-fetch."""
        started = perf_counter()
        name = connector.name
        responses: list[HttpResponse] = []
        try:
            key = self.account(connector, credentials, use_token)
            token: AccessToken | None = None
            if key is not None:
                token = yield NeedToken(key, connector, credentials)
            call = _build(name, flow, build, token)
            requests = call.requests
            refetched = False
            index = 0
            while index < len(requests):
                request = requests[index]
                response = yield from self.exchange(request, name)
                if (
                    response.status == 401
                    and key is not None
                    and request.uses_access_token
                    and not refetched
                ):
                    refetched = True
                    self.log.info(
                        "vault.token.rejected",
                        flow=flow.value,
                        connector=name,
                        token_key=key_digest(key),
                        trace_id=response.headers.get("vgs-request-id"),
                    )
                    token = yield NeedToken(key, connector, credentials, stale=token)
                    call = _build(name, flow, build, token)
                    if len(call.requests) != len(requests):
                        responses.clear()  # a different plan: start it from its beginning
                        index = 0
                    requests = call.requests
                    continue
                responses.append(response)
                index += 1
            result = _parse(name, flow, call, responses)
        except VaultswitchError as exc:
            self._flow_failed(exc, flow, name, started, requests=len(responses))
            raise
        self._flow_done(flow, name, started, responses)
        return result

    def fetch_token(
        self, connector: VaultConnector, credentials: Credentials
    ) -> Steps[AccessTokenGrant]:
        """The access-token flow itself (no cache): what the token cache calls on a miss."""
        started = perf_counter()
        responses: list[HttpResponse] = []
        try:
            call = _build(
                connector.name,
                Flow.ACCESS_TOKEN,
                lambda _t: connector.access_token(credentials),
                None,
            )
            responses = yield from self._send_all(call, connector.name)
            grant = _parse(connector.name, Flow.ACCESS_TOKEN, call, responses)
        except VaultswitchError as exc:
            self._flow_failed(exc, Flow.ACCESS_TOKEN, connector.name, started)
            raise
        self.log.info(
            "vault.token.fetched",
            connector=connector.name,
            token_key=key_digest(connector.token_cache_key(credentials)),
            expires_in=grant.expires_in,
            duration_ms=_ms(started),
        )
        return grant

    def access_token(
        self, connector: VaultConnector, credentials: Credentials, force_refresh: bool
    ) -> Steps[AccessToken]:
        _check_flow_args(connector, credentials)
        key = self.account(connector, credentials)
        if key is None:  # raises FlowNotSupported
            key = bind_credentials(connector.token_cache_key(credentials), credentials)
        token: AccessToken = yield NeedToken(key, connector, credentials, force=force_refresh)
        return token

    def insert(
        self, connector: VaultConnector, credentials: Credentials, data: VaultRequestData
    ) -> Steps[InsertResult]:
        _check_flow_args(connector, credentials)
        require_request_data(data)
        return self.flow(
            connector, credentials, Flow.INSERT, lambda t: connector.insert(credentials, t, data)
        )

    def insert_many(
        self,
        connector: VaultConnector,
        credentials: Credentials,
        items: Sequence[VaultRequestData],
    ) -> Steps[list[InsertResult]]:
        _check_flow_args(connector, credentials)
        require_request_items(items)
        return self.flow(
            connector,
            credentials,
            Flow.INSERT,
            lambda t: connector.insert_many(credentials, t, items),
        )

    def retrieve(
        self, connector: VaultConnector, credentials: Credentials, data: VaultRequestData
    ) -> Steps[RetrieveResult]:
        _check_flow_args(connector, credentials)
        require_request_data(data)
        return self.flow(
            connector,
            credentials,
            Flow.RETRIEVE,
            lambda t: connector.retrieve(credentials, t, data),
        )

    def delete(
        self, connector: VaultConnector, credentials: Credentials, data: VaultRequestData
    ) -> Steps[DeleteResult]:
        _check_flow_args(connector, credentials)
        require_request_data(data)
        return self.flow(
            connector, credentials, Flow.DELETE, lambda t: connector.delete(credentials, t, data)
        )

    def create_session(
        self, connector: VaultConnector, credentials: Credentials, data: VaultRequestData
    ) -> Steps[SessionResult]:
        _check_flow_args(connector, credentials)
        require_request_data(data)
        return self.flow(
            connector,
            credentials,
            Flow.CREATE_SESSION,
            lambda _t: connector.create_session(credentials, data),
            use_token=False,
        )

    def run(self, call: Call[T], connector: str) -> Steps[T]:
        """Send a ready-made call (no credentials check, no token handling) and parse it."""
        if not isinstance(call, Call):
            raise InvalidRequest(
                f"call must be a Call, not {type(call).__name__}",
                field="call",
                hint="Pass what a connector flow returns, "
                "e.g. connector.insert(credentials, token, data).",
            )
        flow = call.requests[0].flow if call.requests else Flow.CREATE_SESSION
        started = perf_counter()
        try:
            responses = yield from self._send_all(call, connector)
            result = _parse(connector, flow, call, responses)
        except VaultswitchError as exc:
            self._flow_failed(exc, flow, connector, started)
            raise
        self._flow_done(flow, connector, started, responses)
        return result

    def _flow_failed(
        self,
        exc: VaultswitchError,
        flow: Flow,
        connector: str,
        started: float,
        requests: int | None = None,
    ) -> None:
        """One warning line for a flow that ended in a typed error (never its values)."""
        extra = {} if requests is None else {"requests": requests}
        self.log.warning(
            "vault.flow.failed",
            flow=flow.value,
            connector=connector,
            code=exc.code,
            upstream_status=exc.upstream_status,
            trace_id=exc.trace_id,
            duration_ms=_ms(started),
            **extra,
        )

    def _flow_done(
        self, flow: Flow, connector: str, started: float, responses: Sequence[HttpResponse]
    ) -> None:
        if self.debug_on():
            self.log.debug(
                "vault.flow",
                flow=flow.value,
                connector=connector,
                requests=len(responses),
                duration_ms=_ms(started),
                trace_id=_trace_id(responses),
            )
