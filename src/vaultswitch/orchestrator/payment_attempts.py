"""One payment attempt: running it under the payment row's lease, and answering the
retries of the request that started it.

:func:`run_attempt` loads the card, sends the authorize request (the attempt id is the
processor's idempotency key), and records what came of it, with the lease token as a
guard. What is recorded tells whether the processor may hold an authorization
(:mod:`vaultswitch.orchestrator.repos.payments` lists the states):

- the processor answered (approved, declined, processing): ``completed``, final;
- nothing reached it (vault error, connection refused, request refused by the processor):
  ``not_authorized``, the payment ``failed``;
- the request may have reached it without an answer coming back (timeout after sending,
  5xx, an unreadable answer): ``unknown``, the payment ``processing``.

:func:`follow` answers an idempotent retry: it waits while another request holds the
lease, replays a final outcome, and runs the attempt again (same processor key, so the
processor never authorizes twice) when the last run ended ``not_authorized`` or
``unknown``, or when the request running it is gone (its lease ran out).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio
import httpx
from sqlalchemy.engine import Connection

from vaultswitch.connectors.base import Credentials, HttpResponse
from vaultswitch.domain.cards import Card
from vaultswitch.domain.errors import VaultswitchError

from .auth import Caller
from .context import AppContext
from .db import utcnow
from .errors import DUPLICATE_REQUEST, ApiError, from_vaultswitch_error, not_found
from .log import logger
from .processors.base import AuthorizeData, AuthorizeResult, HttpRequest, ProcessorConnector
from .processors.errors import (
    MalformedProcessorResponse,
    ProcessorError,
    ProcessorRejectedRequest,
    ProcessorUnavailable,
)
from .processors.transport import authorize_async, transport_error
from .repos import payment_methods as pm_repo
from .repos import payments as repo
from .repos.payments import Payment

#: how long a waiting duplicate waits for the request running the attempt, then 409
WAIT_LIMIT_SECONDS = 25.0
_POLL_FIRST = 0.01
_POLL_MAX = 0.2
#: a lease lasts the processor timeout plus this (the vault read with its retries, margins)
_LEASE_MARGIN_SECONDS = 90.0


@dataclass(frozen=True, slots=True)
class Idempotency:
    """The ``Idempotency-Key`` header and the keyed hash of what it was sent with."""

    key: str
    request_hash: str

    def __repr__(self) -> str:
        return "Idempotency(<key>)"


@dataclass(frozen=True, slots=True)
class ProcessorTarget:
    account_id: str
    name: str
    connector: ProcessorConnector
    credentials: Credentials

    def __repr__(self) -> str:
        return f"ProcessorTarget({self.account_id!r}, {self.name!r})"


CardLoader = Callable[[], Awaitable[Card]]


# --- outcome -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    payment: Payment
    error: ApiError | None = None
    replayed: bool = False


def failure_error(payment: Payment) -> ApiError | None:
    """The HTTP error an attempt ended with, rebuilt from the row (for replays)."""
    failure = payment.failure
    if payment.attempt_state not in repo.RERUNNABLE or not failure:
        return None
    return ApiError(
        int(failure["status"]),
        str(failure["code"]),
        str(failure["message"]),
        hint=str(failure["hint"]),
        type_=str(failure.get("type") or "api"),
        field=failure.get("field"),
        payment_id=payment.id,
        payment_status=payment.status,
    )


def still_in_flight(payment_id: str) -> ApiError:
    return ApiError(
        409,
        "HE_01",
        "A request with this Idempotency-Key is still being processed",
        hint="Retry with the same Idempotency-Key in a few seconds to get its outcome, or "
        f"GET /v2/payments/{payment_id}.",
        type_=DUPLICATE_REQUEST,
        field="Idempotency-Key",
        payment_id=payment_id,
    )


# --- sending -------------------------------------------------------------------------------


class NothingSent(Exception):
    """The processor request never left (connect failure): the processor did not see it."""

    def __init__(self, error: ProcessorUnavailable) -> None:
        super().__init__(error.message)
        self.error = error


class ProcessorSend:
    """Sends a processor connector's request over the app's httpx client (one attempt),
    telling a request that never left from one that may have been processed."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            response = await self.client.request(
                request.method, request.url, headers=dict(request.headers), content=request.body
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise NothingSent(transport_error(request, exc)) from None
        except httpx.HTTPError as exc:
            raise transport_error(request, exc) from None
        headers = {name.lower(): value for name, value in response.headers.items()}
        return HttpResponse(response.status_code, headers, response.content)


# --- running an attempt --------------------------------------------------------------------


def new_token() -> str:
    return secrets.token_hex(16)


def lease_until(ctx: AppContext) -> datetime:
    seconds = ctx.settings.processor_timeout_seconds + _LEASE_MARGIN_SECONDS
    return utcnow() + timedelta(seconds=seconds)


def _failure(exc: VaultswitchError | ApiError) -> dict[str, Any]:
    error = exc if isinstance(exc, ApiError) else from_vaultswitch_error(exc)
    return {
        "status": error.status,
        "code": error.code,
        "message": error.message[:500],
        "hint": error.hint[:1000],
        "type": error.type,
        "field": error.field,
    }


_UNKNOWN_HINT = (
    "The processor may have authorized this payment: it is stored with status processing. "
    "Retry with the same Idempotency-Key to get the processor's answer (it never authorizes "
    "twice), or GET /v2/payments/{id}."
)
_UNKNOWN_HINT_NO_KEY = (
    "The processor may have authorized this payment: it is stored with status processing. "
    "Without an Idempotency-Key it cannot be resolved through the API: check the processor's "
    "records for the payment id, and send Idempotency-Key with payments."
)


def _not_authorized(exc: VaultswitchError | ApiError, keyed: bool) -> dict[str, Any]:
    changes: dict[str, Any] = {
        "status": repo.FAILED,
        "attempt_state": repo.NOT_AUTHORIZED,
        "error_code": exc.code[:64],
        "error_message": exc.message[:500],
        "error_reason": None,
        "failure": _failure(exc),
    }
    if keyed:
        changes["failure"]["hint"] = (
            exc.hint + " A retry with the same Idempotency-Key runs the payment again."
        )[:1000]
    return changes


def _unknown(exc: VaultswitchError, keyed: bool) -> dict[str, Any]:
    failure = _failure(exc)
    failure["hint"] = _UNKNOWN_HINT if keyed else _UNKNOWN_HINT_NO_KEY
    return {
        "status": repo.PROCESSING,
        "attempt_state": repo.UNKNOWN,
        "error_code": None,
        "error_message": None,
        "error_reason": None,
        "failure": failure,
    }


def _completed(result: AuthorizeResult) -> dict[str, Any]:
    failed = result.status.value == repo.FAILED
    return {
        "status": result.status.value,
        "attempt_state": repo.COMPLETED,
        "connector_transaction_id": result.connector_transaction_id,
        "error_code": (result.error_code or "declined")[:64] if failed else None,
        "error_message": (result.error_message or "The payment was declined.")[:500]
        if failed
        else None,
        "error_reason": None,
        "failure": None,
    }


def _may_have_reached(exc: ProcessorError) -> bool:
    """Whether the processor may hold an authorization after this error: yes for no answer
    (timeout after sending), a 5xx or an unreadable 2xx; no when it refused the request
    (a 4xx: wrong key, bad request, no such endpoint)."""
    refused = exc.upstream_status is not None and 400 <= exc.upstream_status < 500
    if isinstance(exc, ProcessorRejectedRequest):
        # the processor holds a different request under this attempt's key: it authorized that
        return exc.upstream_code == "idempotency_key_reused"
    if isinstance(exc, ProcessorUnavailable | MalformedProcessorResponse):
        return not refused
    return False


async def _attempt_changes(
    ctx: AppContext, payment: Payment, target: ProcessorTarget, load: CardLoader, keyed: bool
) -> dict[str, Any]:
    """Load the card, authorize it, and say what to record (never raises a VaultswitchError)."""
    try:
        card = await load()
    except VaultswitchError as exc:
        return _not_authorized(exc, keyed)
    except ApiError as exc:
        return _not_authorized(exc, keyed)
    assert payment.attempt_id is not None
    try:
        data = AuthorizeData(
            amount=payment.amount,
            currency=payment.currency,
            reference=payment.id,
            card=card,
            idempotency_key=payment.attempt_id,
        )
        result = await authorize_async(
            target.connector, target.credentials, data, ProcessorSend(ctx.processor_http)
        )
    except NothingSent as exc:
        return _not_authorized(exc.error, keyed)
    except ProcessorError as exc:
        return _unknown(exc, keyed) if _may_have_reached(exc) else _not_authorized(exc, keyed)
    except VaultswitchError as exc:  # the request could not be built: nothing was sent
        return _not_authorized(exc, keyed)
    return _completed(result)


async def run_attempt(
    ctx: AppContext,
    caller: Caller,
    payment: Payment,
    token: str,
    target: ProcessorTarget,
    load: CardLoader,
    idem: Idempotency | None,
) -> Outcome:
    """Run the attempt whose lease ``token`` holds and record its outcome. Shielded from
    cancellation: a client hanging up does not leave the attempt half recorded."""
    started = time.perf_counter()
    with anyio.CancelScope(shield=True):
        changes = await _attempt_changes(ctx, payment, target, load, idem is not None)

        def record(conn: Connection) -> Payment | None:
            if not repo.finish_attempt(conn, payment.merchant_id, payment.id, token, changes):
                return None
            if payment.payment_method_id and changes["attempt_state"] == repo.COMPLETED:
                pm_repo.mark_used(conn, payment.merchant_id, payment.payment_method_id)
            return repo.get(conn, payment.merchant_id, payment.id)

        stored = await ctx.db.write(record)
    logger().info(
        "payment.attempt",
        payment_id=payment.id,
        status=changes["status"],
        attempt_state=changes["attempt_state"],
        attempt=payment.attempt_count,
        connector=target.name,
        error_code=changes.get("error_code") or (changes.get("failure") or {}).get("code"),
        recorded=stored is not None,
        ms=round((time.perf_counter() - started) * 1000, 2),
    )
    if stored is None:  # another request took the lease over: answer what it records
        return await follow(ctx, caller, payment.id, None, idem, waited=True)
    return Outcome(stored, failure_error(stored))


# --- following another request's attempt ---------------------------------------------------

RerunSource = Callable[[Connection, Payment], tuple[ProcessorTarget, CardLoader]]


async def _take(
    ctx: AppContext,
    caller: Caller,
    payment: Payment,
    rerun: RerunSource,
) -> tuple[Payment, str, ProcessorTarget, CardLoader] | None:
    """Take the lease of ``payment`` as last read (compare-and-set on its lease token) to
    run its attempt again; None when another request took it first."""
    merchant_id = caller.merchant_id
    from_states = repo.RERUNNABLE if payment.attempt_state in repo.RERUNNABLE else (repo.STARTED,)
    token = new_token()
    until = lease_until(ctx)

    def take(conn: Connection) -> tuple[Payment, str, ProcessorTarget, CardLoader] | None:
        target, load = rerun(conn, payment)
        if not repo.start_attempt(
            conn,
            merchant_id,
            payment.id,
            from_states=from_states,
            expected_token=payment.lease_token,
            token=token,
            until=until,
        ):
            return None
        taken = repo.get(conn, merchant_id, payment.id)
        assert taken is not None
        return taken, token, target, load

    return await ctx.db.write(take)


async def follow(
    ctx: AppContext,
    caller: Caller,
    payment_id: str,
    rerun: RerunSource | None,
    idem: Idempotency | None,
    *,
    waited: bool = False,
) -> Outcome:
    """Answer an idempotent retry of the request that made ``payment_id``:

    - while another request runs the attempt (it holds the lease), wait for its outcome
      (up to WAIT_LIMIT_SECONDS, then 409) and answer that;
    - a final outcome (the processor answered, or an intent) is replayed;
    - an attempt that ended without an authorization or without an answer is run again
      (``rerun`` rebuilds its card and processor; the processor key stays the same), as is
      one whose lease ran out (the request running it is gone).
    """
    deadline = time.monotonic() + WAIT_LIMIT_SECONDS
    delay = _POLL_FIRST
    merchant_id = caller.merchant_id
    while True:
        payment = await ctx.db.read(lambda conn: repo.get(conn, merchant_id, payment_id))
        if payment is None:  # pragma: no cover - payments are never deleted
            raise not_found("Payment")
        state = payment.attempt_state
        if state == repo.STARTED and payment.leased(utcnow()):
            waited = True
            if time.monotonic() > deadline:
                raise still_in_flight(payment.id)
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, _POLL_MAX)
            continue
        final = state in (repo.COMPLETED, repo.NONE)
        if final or rerun is None or (state in repo.RERUNNABLE and waited):
            return Outcome(payment, failure_error(payment), replayed=True)
        taken = await _take(ctx, caller, payment, rerun)
        if taken is None:
            continue  # another retry took it first: follow that one
        return await run_attempt(ctx, caller, *taken, idem)
