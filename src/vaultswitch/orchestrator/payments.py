"""Payments on the detokenize path: the card comes out of the vault (or the request), goes
to the processor over HTTP, and only the outcome is stored.

Three entry points, one per API operation: :func:`create_intent`,
:func:`create_and_confirm` (``POST /v2/payments``) and :func:`confirm_intent`. Each
returns an :class:`Outcome`: the stored payment, and the HTTP error to answer with when
the attempt ended without the processor's answer (a declined card is not an error:
``failed`` with the decline code, answered 200).

The attempt (one per payment; its id is the processor's idempotency key) runs under a
lease on the payment row (:mod:`vaultswitch.orchestrator.repos.payments` describes the
states). With an ``Idempotency-Key`` the key row is inserted in the same transaction that
creates (or confirms) the payment, before the processor is called, so of N concurrent
identical requests one runs the attempt and the others wait for its outcome and answer
it; a later retry replays a final outcome, or runs the attempt again (with the same
processor idempotency key, so the processor never authorizes twice) when the first one
ended without an authorization or without an answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
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
from vaultswitch.domain.secret import Secret

from . import ids
from .accounts import credentials_of, open_secrets
from .auth import Caller
from .context import AppContext
from .db import utcnow
from .errors import (
    DUPLICATE_REQUEST,
    ApiError,
    from_vaultswitch_error,
    invalid_data,
    not_found,
)
from .log import logger
from .processors.base import AuthorizeData, AuthorizeResult, HttpRequest, ProcessorConnector
from .processors.errors import (
    MalformedProcessorResponse,
    ProcessorError,
    ProcessorRejectedRequest,
    ProcessorUnavailable,
)
from .processors.registry import get_processor_connector
from .processors.transport import authorize_async, transport_error
from .repos import connector_accounts as accounts_repo
from .repos import customers as customers_repo
from .repos import payments as repo
from .repos.connector_accounts import PAYMENT_PROCESSOR, ConnectorAccount
from .repos.payments import Payment

PATH = "detokenize"
#: how long a waiting duplicate waits for the request running the attempt
WAIT_LIMIT_SECONDS = 25.0
_POLL_FIRST = 0.01
_POLL_MAX = 0.2
#: beyond the processor timeout: the vault read (with the client's retries) and margins
_LEASE_MARGIN_SECONDS = 90.0

# --- inputs --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IntentInput:
    amount: int
    currency: str
    customer_id: str | None = None
    merchant_reference_id: str | None = None
    description: str | None = None
    return_url: str | None = None
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class NewCard:
    """A card sent in the request: paid with as is, never stored."""

    card: Card

    def __repr__(self) -> str:
        return f"NewCard({self.card.number.masked})"


@dataclass(frozen=True, slots=True)
class SavedCard:
    """A saved payment method, read back from the vault; ``cvc`` from ``card_token``."""

    payment_method_id: str
    cvc: Secret | None = None


@dataclass(frozen=True, slots=True)
class ConfirmInput:
    method: NewCard | SavedCard
    payment_method_type: str | None = None
    payment_method_subtype: str | None = None
    connector_id: str | None = None
    return_url: str | None = None


@dataclass(frozen=True, slots=True)
class Idempotency:
    """The ``Idempotency-Key`` header and the keyed hash of what it was sent with."""

    key: str
    request_hash: str

    def __repr__(self) -> str:
        return "Idempotency(<key>)"


def request_hash(ctx: AppContext, caller: Caller, operation: str, body: Any) -> str:
    """HMAC-SHA256 (keyed per merchant) of the operation, the profile and the canonical JSON
    body: a card number in the body never becomes a bare hash."""
    canonical = json.dumps(
        {"operation": operation, "profile_id": caller.profile_id, "body": body},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    key = ctx.keyring.derive("idempotency:" + caller.merchant_id)
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


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


# --- errors --------------------------------------------------------------------------------


def key_reused() -> ApiError:
    return ApiError(
        422,
        "IR_06",
        "Invalid request data: Idempotency-Key: this key was already used with a different "
        "request (another body, endpoint or profile)",
        hint="Send a retry with exactly the same body to the same endpoint, or use a new "
        "Idempotency-Key for a new payment.",
        field="Idempotency-Key",
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


def unexpected_state(payment: Payment) -> ApiError:
    """Hyperswitch's PaymentUnexpectedState (400 IR_14)."""
    return ApiError(
        400,
        "IR_14",
        f"This Payment could not be confirmed because it has a status of {payment.status}. "
        f"The expected state is {repo.REQUIRES_PAYMENT_METHOD}",
        hint="Only an intent that was never confirmed can be confirmed; create a new intent "
        "(POST /v2/payments/create-intent), or retry the first confirm with its "
        "Idempotency-Key to get its outcome.",
        payment_id=payment.id,
    )


def _no_processor(profile_id: str) -> ApiError:
    return invalid_data(
        "connector_id",
        f"profile {profile_id} has no active payment_processor connector account",
        hint="Create one with POST /v2/connector-accounts (connector_type "
        '"payment_processor", connector_name "sandbox", connector_account_details '
        '{"auth_type": "HeaderKey", "api_key": "..."}, metadata {"base_url": "..."}), '
        "or name one in connector_id.",
    )


# --- the processor account -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProcessorTarget:
    account_id: str
    name: str
    connector: ProcessorConnector
    credentials: Credentials

    def __repr__(self) -> str:
        return f"ProcessorTarget({self.account_id!r}, {self.name!r})"


def _target(ctx: AppContext, account: ConnectorAccount) -> ProcessorTarget:
    metadata = open_secrets(ctx.keyring, account).metadata
    try:
        connector = get_processor_connector(account.connector_name, metadata)
    except VaultswitchError as exc:
        raise ApiError(
            424,
            "processor_not_configured",
            f"The processor connector account {account.id} cannot be used: {exc.message}",
            hint="Fix the account with PUT /v2/connector-accounts/{id}. " + exc.hint,
            type_="connector_error",
            field="connector_id",
        ) from None
    return ProcessorTarget(
        account.id, account.connector_name, connector, credentials_of(ctx.keyring, account)
    )


def resolve_processor(
    ctx: AppContext, conn: Connection, caller: Caller, connector_id: str | None
) -> ProcessorTarget:
    """The named payment_processor account of the caller's profile, or the profile's
    default: its first active one."""
    if connector_id is None:
        for account in accounts_repo.list_for_profile(conn, caller.merchant_id, caller.profile_id):
            if account.connector_type == PAYMENT_PROCESSOR and account.usable:
                return _target(ctx, account)
        raise _no_processor(caller.profile_id)
    found = accounts_repo.get(conn, caller.merchant_id, connector_id)
    if found is None:
        raise not_found(
            "Merchant connector account",
            "Check connector_id: it must be a payment_processor account of this merchant "
            "(GET /v2/connector-accounts/{id}).",
        )
    if found.connector_type != PAYMENT_PROCESSOR:
        raise invalid_data(
            "connector_id",
            f"is a {found.connector_type} account, not a payment_processor",
            hint="Name a payment_processor account (e.g. the sandbox processor), or leave "
            "connector_id out to use the profile's.",
        )
    if found.profile_id != caller.profile_id:
        raise invalid_data(
            "connector_id",
            "belongs to another profile of this merchant",
            hint="Send X-Profile-Id of the account's profile, or name an account of this one.",
        )
    if not found.usable:
        state = "disabled" if found.disabled else "inactive"
        raise invalid_data(
            "connector_id",
            f"the account is {state}",
            hint="Activate it with PUT /v2/connector-accounts/{id} (status active, disabled "
            "false), or name another account.",
        )
    return _target(ctx, found)


def _target_of_payment(ctx: AppContext, conn: Connection, payment: Payment) -> ProcessorTarget:
    """The processor a payment's attempt went to (for a re-run: the same account)."""
    account = (
        accounts_repo.get(conn, payment.merchant_id, payment.connector_id)
        if payment.connector_id
        else None
    )
    if account is None or account.connector_type != PAYMENT_PROCESSOR:
        raise ApiError(
            424,
            "processor_not_configured",
            "The processor connector account of this payment no longer exists",
            hint="The payment cannot be retried; create a new payment.",
            type_="connector_error",
            field="connector_id",
            payment_id=payment.id,
        )
    return _target(ctx, account)


# --- the card ------------------------------------------------------------------------------

CardLoader = Callable[[], Awaitable[Card]]


@dataclass(frozen=True, slots=True)
class MethodFacts:
    """What a payment stores about its payment method, and how to get the card."""

    payment_method_id: str | None
    payment_method_type: str
    payment_method_subtype: str | None
    customer_id: str | None
    load: CardLoader

    def __repr__(self) -> str:
        return f"MethodFacts({self.payment_method_id!r})"


def _customer_must_exist(conn: Connection, merchant_id: str, customer_id: str | None) -> None:
    if customer_id is not None and not customers_repo.exists(conn, merchant_id, customer_id):
        raise not_found("Customer", "Check customer_id (POST /v2/customers creates customers).")


def resolve_method(
    ctx: AppContext,
    conn: Connection,
    caller: Caller,
    confirm: ConfirmInput,
    customer_id: str | None,
) -> MethodFacts:
    """Check the payment method choice against the merchant's records (404 for another
    merchant's payment method) and say how its card is loaded."""
    method = confirm.method
    if isinstance(method, NewCard):
        _customer_must_exist(conn, caller.merchant_id, customer_id)
        card = method.card

        async def given() -> Card:
            return card

        return MethodFacts(
            None,
            confirm.payment_method_type or "card",
            confirm.payment_method_subtype,
            customer_id,
            given,
        )
    # imported here: the payment-method modules import the vault connector stack
    from . import vaulting
    from .repos import payment_methods as pm_repo

    record = pm_repo.get(conn, ctx.keyring, caller.merchant_id, method.payment_method_id)
    if record is None:
        raise not_found(
            "Payment method",
            "Check payment_method_id; payment methods are only visible to their merchant.",
        )
    if customer_id is not None and record.customer_id != customer_id:
        raise invalid_data(
            "payment_method_id",
            "belongs to another customer",
            hint="Pay with a payment method of this customer_id (GET "
            "/v2/customers/{id}/saved-payment-methods lists them), or leave customer_id out.",
        )
    if confirm.payment_method_type not in (None, record.payment_method_type):
        raise invalid_data(
            "payment_method_type",
            f"the saved payment method is of type {record.payment_method_type}",
        )
    cvc = method.cvc

    async def from_vault() -> Card:
        return await vaulting.load_card(ctx, caller, record, cvc)

    return MethodFacts(
        record.id,
        record.payment_method_type or "card",
        confirm.payment_method_subtype or record.payment_method_subtype,
        record.customer_id,
        from_vault,
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


def _new_token() -> str:
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
_NOT_AUTHORIZED_PREFIX = "The processor did not authorize anything; the payment is failed. "


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
    """A processor error after which the processor may hold an authorization."""
    if isinstance(exc, ProcessorUnavailable | MalformedProcessorResponse):
        return True
    # the processor has a different request under this attempt's key: it authorized that one
    return isinstance(exc, ProcessorRejectedRequest) and exc.upstream_code == (
        "idempotency_key_reused"
    )


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
        recorded = await ctx.db.write(
            lambda conn: repo.finish_attempt(conn, payment.merchant_id, payment.id, token, changes)
        )
    logger().info(
        "payment.attempt",
        payment_id=payment.id,
        status=changes["status"],
        attempt_state=changes["attempt_state"],
        attempt=payment.attempt_count,
        connector=target.name,
        error_code=changes.get("error_code") or (changes.get("failure") or {}).get("code"),
        recorded=recorded,
        ms=round((time.perf_counter() - started) * 1000, 2),
    )
    if not recorded:  # another request took the lease over: answer what it records
        return await follow(ctx, caller, payment.id, None, idem, waited=True)
    stored = await ctx.db.read(lambda conn: repo.get(conn, payment.merchant_id, payment.id))
    assert stored is not None
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
    token = _new_token()
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


# --- the three operations ------------------------------------------------------------------


def _intent_values(
    ctx: AppContext, caller: Caller, intent: IntentInput, payment_id: str
) -> dict[str, Any]:
    return {
        "id": payment_id,
        "merchant_id": caller.merchant_id,
        "profile_id": caller.profile_id,
        "customer_id": intent.customer_id,
        "status": repo.REQUIRES_PAYMENT_METHOD,
        "amount": intent.amount,
        "currency": intent.currency,
        "merchant_reference_id": intent.merchant_reference_id,
        "description": intent.description,
        "return_url": intent.return_url,
        "metadata": intent.metadata,
    }


def _claim(
    conn: Connection,
    caller: Caller,
    idem: Idempotency | None,
    operation: str,
    payment_id: str,
) -> str | None:
    """Insert the key row; the id of the payment a previous use of the key made, if any."""
    if idem is None:
        return None
    if repo.claim_key(
        conn,
        caller.merchant_id,
        idem.key,
        request_hash=idem.request_hash,
        operation=operation,
        payment_id=payment_id,
    ):
        return None
    existing = repo.find_key(conn, caller.merchant_id, idem.key)
    assert existing is not None
    if not hmac.compare_digest(existing.request_hash, idem.request_hash):
        raise key_reused()
    return existing.payment_id


async def create_intent(
    ctx: AppContext, caller: Caller, intent: IntentInput, idem: Idempotency | None
) -> Outcome:
    payment_id = ids.global_id(ctx.settings.cell_id, "pay")

    def create(conn: Connection) -> tuple[Payment, bool]:
        previous = _claim(conn, caller, idem, "intent", payment_id)
        if previous is not None:
            found = repo.get(conn, caller.merchant_id, previous)
            assert found is not None
            return found, True
        _customer_must_exist(conn, caller.merchant_id, intent.customer_id)
        return repo.create(conn, _intent_values(ctx, caller, intent, payment_id)), False

    payment, replayed = await ctx.db.write(create)
    return Outcome(payment, replayed=replayed)


def _attempt_values(facts: MethodFacts, target: ProcessorTarget, attempt_id: str) -> dict[str, Any]:
    return {
        "customer_id": facts.customer_id,
        "payment_method_id": facts.payment_method_id,
        "payment_method_type": facts.payment_method_type,
        "payment_method_subtype": facts.payment_method_subtype,
        "connector_id": target.account_id,
        "connector": target.name,
        "attempt_id": attempt_id,
    }


def _rerun_source(ctx: AppContext, caller: Caller, confirm: ConfirmInput) -> RerunSource:
    def source(conn: Connection, payment: Payment) -> tuple[ProcessorTarget, CardLoader]:
        target = _target_of_payment(ctx, conn, payment)
        facts = resolve_method(ctx, conn, caller, confirm, payment.customer_id)
        return target, facts.load

    return source


async def create_and_confirm(
    ctx: AppContext,
    caller: Caller,
    intent: IntentInput,
    confirm: ConfirmInput,
    idem: Idempotency | None,
) -> Outcome:
    """``POST /v2/payments``: create the payment and run its attempt."""
    cell = ctx.settings.cell_id
    payment_id = ids.global_id(cell, "pay")
    attempt_id = ids.global_id(cell, "att")
    token = _new_token()
    until = lease_until(ctx)

    def reserve(conn: Connection) -> tuple[Payment, ProcessorTarget, CardLoader] | str:
        previous = _claim(conn, caller, idem, "create", payment_id)
        if previous is not None:
            return previous
        target = resolve_processor(ctx, conn, caller, confirm.connector_id)
        facts = resolve_method(ctx, conn, caller, confirm, intent.customer_id)
        values = _intent_values(ctx, caller, intent, payment_id)
        values.update(_attempt_values(facts, target, attempt_id))
        if confirm.return_url is not None:
            values["return_url"] = confirm.return_url
        values.update(
            status=repo.PROCESSING,
            attempt_state=repo.STARTED,
            attempt_count=1,
            lease_token=token,
            lease_until=until,
        )
        return repo.create(conn, values), target, facts.load

    reserved = await ctx.db.write(reserve)
    if isinstance(reserved, str):
        return await follow(ctx, caller, reserved, _rerun_source(ctx, caller, confirm), idem)
    payment, target, load = reserved
    return await run_attempt(ctx, caller, payment, token, target, load, idem)


async def confirm_intent(
    ctx: AppContext,
    caller: Caller,
    payment_id: str,
    confirm: ConfirmInput,
    idem: Idempotency | None,
) -> Outcome:
    """``POST /v2/payments/{id}/confirm-intent``: run the attempt of an unconfirmed intent."""
    attempt_id = ids.global_id(ctx.settings.cell_id, "att")
    token = _new_token()
    until = lease_until(ctx)
    merchant_id = caller.merchant_id

    def reserve(conn: Connection) -> tuple[Payment, ProcessorTarget, CardLoader] | str:
        payment = repo.get(conn, merchant_id, payment_id)
        if payment is None:
            raise not_found("Payment")
        previous = _claim(conn, caller, idem, "confirm", payment_id)
        if previous is not None:
            return previous
        if payment.status != repo.REQUIRES_PAYMENT_METHOD or payment.attempt_state != repo.NONE:
            raise unexpected_state(payment)
        target = resolve_processor(ctx, conn, caller, confirm.connector_id)
        facts = resolve_method(ctx, conn, caller, confirm, payment.customer_id)
        changes = _attempt_values(facts, target, attempt_id)
        if not repo.start_attempt(
            conn,
            merchant_id,
            payment_id,
            from_states=(repo.NONE,),
            expected_token=None,
            token=token,
            until=until,
            changes=changes,
        ):
            current = repo.get(conn, merchant_id, payment_id)
            raise unexpected_state(current or payment)
        started = repo.get(conn, merchant_id, payment_id)
        assert started is not None
        return started, target, facts.load

    reserved = await ctx.db.write(reserve)
    if isinstance(reserved, str):
        return await follow(ctx, caller, reserved, _rerun_source(ctx, caller, confirm), idem)
    payment, target, load = reserved
    return await run_attempt(ctx, caller, payment, token, target, load, idem)
