"""Payments on the detokenize path: the card comes out of the vault (or the request), goes
to the processor over HTTP, and only the outcome is stored.

Three entry points, one per API operation: :func:`create_intent`,
:func:`create_and_confirm` (``POST /v2/payments``) and :func:`confirm_intent`. Each
returns an :class:`Outcome`: the stored payment, and the HTTP error to answer with when
the attempt ended without the processor's answer (a declined card is not an error:
``failed`` with the decline code, answered 200).

Each operation checks the request against the merchant's records (customer, payment
method, processor account: another merchant's answer 404) in the same transaction that
writes the payment and, with an ``Idempotency-Key``, the key row, before the processor is
called. The attempt itself (card from the vault, authorize, record) and the answers to
retries are :mod:`vaultswitch.orchestrator.payment_attempts`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from vaultswitch.domain.cards import Card
from vaultswitch.domain.errors import VaultswitchError
from vaultswitch.domain.secret import Secret

from . import ids, vaulting
from .accounts import credentials_of, open_secrets
from .auth import Caller
from .context import AppContext
from .errors import ApiError, invalid_data, not_found
from .payment_attempts import (
    CardLoader,
    Idempotency,
    Outcome,
    ProcessorTarget,
    RerunSource,
    follow,
    lease_until,
    new_token,
    run_attempt,
)
from .processors.registry import get_processor_connector
from .repos import connector_accounts as accounts_repo
from .repos import customers as customers_repo
from .repos import payment_methods as pm_repo
from .repos import payments as repo
from .repos.connector_accounts import PAYMENT_PROCESSOR, ConnectorAccount
from .repos.payments import Payment

PATH = "detokenize"

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


def _card_vault(
    ctx: AppContext, conn: Connection, merchant_id: str, record: pm_repo.PaymentMethod
) -> vaulting.VaultTarget | ApiError | VaultswitchError:
    """The vault the saved card is read from, looked up in the transaction that reserves
    the payment (one database round trip less per payment). A vault that cannot be used is
    returned, not raised: it fails the attempt when the card is loaded, as before."""
    try:
        return vaulting.stored_vault(ctx, conn, merchant_id, record.vault_connector_id)
    except (ApiError, VaultswitchError) as exc:
        return exc


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
    vault = _card_vault(ctx, conn, caller.merchant_id, record)

    async def from_vault() -> Card:
        if isinstance(vault, Exception):
            raise vault
        return await vaulting.load_card(ctx, caller, record, cvc, vault)

    return MethodFacts(
        record.id,
        record.payment_method_type or "card",
        confirm.payment_method_subtype or record.payment_method_subtype,
        record.customer_id,
        from_vault,
    )


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
    token = new_token()
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
    token = new_token()
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


__all__ = [
    "PATH",
    "ConfirmInput",
    "Idempotency",
    "IntentInput",
    "NewCard",
    "Outcome",
    "SavedCard",
    "confirm_intent",
    "create_and_confirm",
    "create_intent",
    "request_hash",
    "resolve_method",
    "resolve_processor",
]
