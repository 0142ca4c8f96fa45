"""Payments (merchant API key), detokenize path: ``POST /v2/payments`` (create and confirm),
``POST /v2/payments/create-intent`` + ``POST /v2/payments/{id}/confirm-intent``,
``GET /v2/payments/{id}``, ``GET /v2/payments/{id}/get-intent``, ``GET /v2/payments/list``.

A payment method is either ``payment_method_id`` of a saved card (read back from the
vault; ``payment_method_data.card_token.card_cvc`` optionally adds a CVC) or a new card in
``payment_method_data.card`` (paid with, never stored: save it first with
``POST /v2/payment-methods`` to pay with it again). A declined card is answered 200 with
``status: failed`` and ``error.code`` = the processor's decline code; an attempt that ended
without the processor's answer is answered with its own error status, the error naming the
stored payment (``payment_id``, ``payment_status``). See docs/payments.md.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from vaultswitch.domain.cards import Card
from vaultswitch.domain.errors import InvalidCardData
from vaultswitch.domain.secret import Secret
from vaultswitch.orchestrator import payments as flow
from vaultswitch.orchestrator.auth import Caller, Merchant
from vaultswitch.orchestrator.context import AppContext, Ctx
from vaultswitch.orchestrator.errors import ApiError, invalid_value, missing_field, not_found
from vaultswitch.orchestrator.repos import payments as repo
from vaultswitch.orchestrator.repos.payments import Payment
from vaultswitch.processor.currencies import CURRENCIES

from .common import Offset, SecretText, iso

router = APIRouter(tags=["payments"])

MAX_AMOUNT = 999_999_999_999
MAX_METADATA_BYTES = 8192
IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
PAYMENT_METHOD_TYPES = ("card",)
PAYMENT_METHOD_SUBTYPES = ("credit", "debit")
#: Hyperswitch's IntentStatus values (the list filter accepts any of them)
INTENT_STATUSES = (
    "succeeded",
    "failed",
    "cancelled",
    "cancelled_post_capture",
    "processing",
    "requires_customer_action",
    "requires_merchant_action",
    "requires_payment_method",
    "requires_confirmation",
    "requires_capture",
    "partially_captured",
    "partially_captured_and_capturable",
    "partially_authorized_and_requires_capture",
    "partially_captured_and_processing",
    "conflicted",
    "expired",
)
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
_CVC = re.compile(r"[0-9]{3,4}")
_URL = re.compile(r"https?://[^\s]+", re.IGNORECASE)


# --- request models ------------------------------------------------------------------------


class AmountDetails(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_amount: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="Minor units, e.g. 1050.")
    currency: str = Field(description="ISO 4217, e.g. USD.")
    skip_external_tax_calculation: Literal["skip"] | None = None
    skip_surcharge_calculation: Literal["skip"] | None = None

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        code = value.strip().upper()
        if code not in CURRENCIES:
            raise ValueError("must be an ISO 4217 currency code such as USD or EUR")
        return code


class PaymentCard(BaseModel):
    """``payment_method_data.card``: a card to pay with (Hyperswitch's payment ``Card``)."""

    model_config = ConfigDict(extra="forbid")

    card_number: SecretText
    card_exp_month: str | int
    card_exp_year: str | int
    card_cvc: SecretText
    card_holder_name: str | None = Field(default=None, max_length=255)
    card_issuer: str | None = Field(default=None, max_length=64)
    card_network: str | None = Field(default=None, max_length=32)
    card_type: str | None = Field(default=None, max_length=16)
    card_issuing_country: str | None = Field(default=None, max_length=2)
    bank_code: str | None = Field(default=None, max_length=32)
    nick_name: str | None = Field(default=None, max_length=64)


class CardToken(BaseModel):
    """``payment_method_data.card_token``: extras for a saved card."""

    model_config = ConfigDict(extra="forbid")

    card_cvc: SecretText | None = None
    card_holder_name: str | None = Field(default=None, max_length=255)


class PaymentMethodData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    card: PaymentCard | None = None
    card_token: CardToken | None = None


def _check_metadata(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and len(json.dumps(value)) > MAX_METADATA_BYTES:
        raise ValueError(f"must be at most {MAX_METADATA_BYTES} bytes of JSON")
    return value


def _check_url(value: str | None) -> str | None:
    if value is not None and not _URL.fullmatch(value.strip()):
        raise ValueError("must be an http:// or https:// URL")
    return value


class IntentFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount_details: AmountDetails
    customer_id: str | None = Field(default=None, min_length=1, max_length=80)
    merchant_reference_id: str | None = Field(default=None, min_length=1, max_length=64)
    description: str | None = Field(default=None, max_length=255)
    return_url: str | None = Field(default=None, max_length=2048)
    metadata: dict[str, Any] | None = None

    _metadata = field_validator("metadata")(_check_metadata)
    _return_url = field_validator("return_url")(_check_url)


class PaymentsCreateIntentRequest(IntentFields):
    """``POST /v2/payments/create-intent``."""


class ConfirmFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payment_method_data: PaymentMethodData | None = None
    payment_method_type: str | None = None
    payment_method_subtype: str | None = None
    payment_method_id: str | None = Field(default=None, min_length=1, max_length=80)
    connector_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=80,
        description="A payment_processor connector account of this profile (default: the "
        "profile's first active one).",
    )
    return_url: str | None = Field(default=None, max_length=2048)

    _return_url = field_validator("return_url")(_check_url)


class PaymentsConfirmIntentRequest(ConfirmFields):
    """``POST /v2/payments/{id}/confirm-intent``."""


class PaymentsRequest(IntentFields, ConfirmFields):
    """``POST /v2/payments``: create and confirm in one call."""

    model_config = ConfigDict(extra="forbid")


# --- request → flow inputs -----------------------------------------------------------------


def _card(card: PaymentCard) -> Card:
    try:
        return Card.parse(
            card.card_number,
            card.card_exp_month,
            card.card_exp_year,
            card.card_cvc,
            card.card_holder_name,
        )
    except InvalidCardData as exc:
        field = f"payment_method_data.card.{exc.field or 'card_number'}"
        raise invalid_value(field, exc.message, hint=exc.hint) from None


def _method_type(value: str | None, *, required: bool) -> str | None:
    if value is None:
        if required:
            raise missing_field(
                "payment_method_type", hint='Send "payment_method_type": "card" with a new card.'
            )
        return None
    if value not in PAYMENT_METHOD_TYPES:
        raise invalid_value("payment_method_type", 'only "card" payments are supported')
    return value


def _method_subtype(value: str | None, *, required: bool) -> str | None:
    if value is None:
        if required:
            raise missing_field(
                "payment_method_subtype",
                hint='Send "payment_method_subtype": "credit" (or "debit") with a new card.',
            )
        return None
    if value not in PAYMENT_METHOD_SUBTYPES:
        raise invalid_value("payment_method_subtype", 'must be "credit" or "debit"')
    return value


def confirm_input(body: ConfirmFields) -> flow.ConfirmInput:
    data = body.payment_method_data
    card = data.card if data else None
    token = data.card_token if data else None
    method: flow.NewCard | flow.SavedCard
    if body.payment_method_id is not None:
        if card is not None:
            raise invalid_value(
                "payment_method_data.card",
                "send either payment_method_id (a saved card) or a new card, not both",
            )
        cvc = token.card_cvc if token else None
        if cvc is not None and not _CVC.fullmatch(cvc.reveal().strip()):
            raise invalid_value("payment_method_data.card_token.card_cvc", "must be 3 or 4 digits")
        method = flow.SavedCard(
            body.payment_method_id, Secret(cvc.reveal().strip()) if cvc else None
        )
        new = False
    else:
        if token is not None:
            raise invalid_value(
                "payment_method_data.card_token",
                "goes with payment_method_id (a saved card)",
                hint="Send payment_method_id with card_token, or a new card in "
                "payment_method_data.card.",
            )
        if card is None:
            raise missing_field(
                "payment_method_id",
                hint="Pay with a saved card (payment_method_id) or a new one "
                '(payment_method_data.card with payment_method_type "card" and '
                'payment_method_subtype "credit").',
            )
        method = flow.NewCard(_card(card))
        new = True
    return flow.ConfirmInput(
        method=method,
        payment_method_type=_method_type(body.payment_method_type, required=new),
        payment_method_subtype=_method_subtype(body.payment_method_subtype, required=new),
        connector_id=body.connector_id,
        return_url=body.return_url,
    )


def intent_input(body: IntentFields) -> flow.IntentInput:
    return flow.IntentInput(
        amount=body.amount_details.order_amount,
        currency=body.amount_details.currency,
        customer_id=body.customer_id,
        merchant_reference_id=body.merchant_reference_id,
        description=body.description,
        return_url=body.return_url,
        metadata=body.metadata,
    )


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_HEADER,
        description="Retries with the same key and body answer the same payment, with one "
        "processor call.",
    ),
]


async def idempotency(
    request: Request, ctx: AppContext, caller: Caller, key: str | None, operation: str
) -> flow.Idempotency | None:
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise invalid_value(
            IDEMPOTENCY_HEADER,
            "must be 1-255 visible ASCII characters without spaces",
            hint="Use one new random key (e.g. a UUID) per payment and send it again on retries.",
        )
    body = json.loads(await request.body())
    return flow.Idempotency(key, flow.request_hash(ctx, caller, operation, body))


# --- responses -----------------------------------------------------------------------------


def _amount_details(payment: Payment) -> dict[str, Any]:
    return {
        "order_amount": payment.amount,
        "currency": payment.currency,
        "shipping_cost": None,
        "order_tax_amount": None,
        "external_tax_calculation": "skip",
        "surcharge_calculation": "skip",
        "surcharge_amount": None,
        "tax_on_surcharge": None,
    }


def _amount(payment: Payment) -> dict[str, Any]:
    open_ = payment.status in (repo.REQUIRES_PAYMENT_METHOD, repo.PROCESSING)
    return {
        **_amount_details(payment),
        "net_amount": payment.amount,
        "amount_to_capture": None,
        "amount_capturable": payment.amount if open_ else 0,
        "amount_captured": payment.amount if payment.status == repo.SUCCEEDED else None,
    }


def _error(payment: Payment) -> dict[str, Any] | None:
    if payment.error_code is None:
        return None
    error: dict[str, Any] = {"code": payment.error_code, "message": payment.error_message or ""}
    if payment.error_reason:
        error["reason"] = payment.error_reason
    return error


def payment_response(payment: Payment) -> dict[str, Any]:
    """Hyperswitch's ``PaymentsResponse`` (the fields this orchestrator has)."""
    return {
        "id": payment.id,
        "status": payment.status,
        "amount": _amount(payment),
        "customer_id": payment.customer_id,
        "processor_merchant_id": payment.merchant_id,
        "profile_id": payment.profile_id,
        "connector": payment.connector,
        "merchant_connector_id": payment.connector_id,
        "created": iso(payment.created_at),
        "modified_at": iso(payment.modified_at),
        "payment_method_type": payment.payment_method_type,
        "payment_method_subtype": payment.payment_method_subtype,
        "payment_method_id": payment.payment_method_id,
        "connector_transaction_id": payment.connector_transaction_id,
        "error": _error(payment),
        "return_url": payment.return_url,
        "merchant_reference_id": payment.merchant_reference_id,
        "description": payment.description,
        "metadata": payment.metadata,
        "capture_method": "automatic",
        "authentication_type": "no_three_ds",
        "attempt_count": payment.attempt_count,
        "path": flow.PATH,
    }


def intent_response(payment: Payment) -> dict[str, Any]:
    """Hyperswitch's ``PaymentsIntentResponse`` (the fields this orchestrator has)."""
    return {
        "id": payment.id,
        "status": payment.status,
        "amount_details": _amount_details(payment),
        "profile_id": payment.profile_id,
        "customer_id": payment.customer_id,
        "merchant_reference_id": payment.merchant_reference_id,
        "description": payment.description,
        "return_url": payment.return_url,
        "metadata": payment.metadata,
        "capture_method": "automatic",
        "authentication_type": "no_three_ds",
        "created": iso(payment.created_at),
    }


def list_item(payment: Payment) -> dict[str, Any]:
    """Hyperswitch's ``PaymentsListResponseItem`` (the fields this orchestrator has)."""
    return {
        "id": payment.id,
        "merchant_id": payment.merchant_id,
        "profile_id": payment.profile_id,
        "customer_id": payment.customer_id,
        "payment_method_id": payment.payment_method_id,
        "status": payment.status,
        "amount": _amount(payment),
        "created": iso(payment.created_at),
        "modified_at": iso(payment.modified_at),
        "payment_method_type": payment.payment_method_type,
        "payment_method_subtype": payment.payment_method_subtype,
        "connector": payment.connector,
        "merchant_connector_id": payment.connector_id,
        "merchant_reference_id": payment.merchant_reference_id,
        "connector_payment_id": payment.connector_transaction_id,
        "metadata": payment.metadata,
        "description": payment.description,
        "error": _error(payment),
        "return_url": payment.return_url,
        "attempt_count": payment.attempt_count,
        "capture_method": "automatic",
        "authentication_type": "no_three_ds",
        "is_split_payment": False,
    }


def _answer(outcome: flow.Outcome, render: Any = payment_response) -> JSONResponse:
    headers = {REPLAYED_HEADER: "true"} if outcome.replayed else None
    if outcome.error is not None:
        if headers:
            outcome.error.headers = {**(outcome.error.headers or {}), **headers}
        raise outcome.error
    return JSONResponse(render(outcome.payment), headers=headers)


# --- handlers ------------------------------------------------------------------------------


@router.post("/v2/payments")
async def create_payment(
    body: PaymentsRequest,
    request: Request,
    ctx: Ctx,
    caller: Merchant,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Create a payment and confirm it: the card is read from the vault (saved payment
    method) or taken from the request, and authorized at the processor."""
    intent = intent_input(body)
    confirm = confirm_input(body)
    idem = await idempotency(request, ctx, caller, idempotency_key, "create")
    return _answer(await flow.create_and_confirm(ctx, caller, intent, confirm, idem))


@router.post("/v2/payments/create-intent")
async def create_intent(
    body: PaymentsCreateIntentRequest,
    request: Request,
    ctx: Ctx,
    caller: Merchant,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Create a payment intent (``requires_payment_method``); confirm it with
    ``POST /v2/payments/{id}/confirm-intent``."""
    idem = await idempotency(request, ctx, caller, idempotency_key, "intent")
    outcome = await flow.create_intent(ctx, caller, intent_input(body), idem)
    return _answer(outcome, intent_response)


@router.post("/v2/payments/{payment_id}/confirm-intent")
async def confirm_intent(
    payment_id: str,
    body: PaymentsConfirmIntentRequest,
    request: Request,
    ctx: Ctx,
    caller: Merchant,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Confirm an intent with a payment method (a confirmed intent answers 400 IR_14)."""
    confirm = confirm_input(body)
    idem = await idempotency(request, ctx, caller, idempotency_key, f"confirm:{payment_id}")
    return _answer(await flow.confirm_intent(ctx, caller, payment_id, confirm, idem))


@router.get("/v2/payments/list")
async def list_payments(
    ctx: Ctx,
    caller: Merchant,
    customer_id: Annotated[str | None, Query(max_length=80)] = None,
    profile_id: Annotated[str | None, Query(max_length=80)] = None,
    status: Annotated[
        str | None, Query(description="One status or several, comma-separated.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size (1-100).")] = 10,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The merchant's payments (of every profile unless ``profile_id`` is given), newest
    first: ``{count, total_count, data}``."""
    statuses: list[str] | None = None
    if status is not None:
        statuses = [part.strip() for part in status.split(",") if part.strip()]
        unknown = [part for part in statuses if part not in INTENT_STATUSES]
        if unknown or not statuses:
            raise invalid_value(
                "status", "must be payment statuses such as succeeded, failed or processing"
            )
    merchant_id = caller.merchant_id

    def read(conn: Any) -> tuple[list[Payment], int]:
        found = repo.list_for_merchant(
            conn,
            merchant_id,
            customer_id=customer_id,
            statuses=statuses,
            profile_id=profile_id,
            limit=limit,
            offset=offset,
        )
        total = repo.count_for_merchant(
            conn, merchant_id, customer_id=customer_id, statuses=statuses, profile_id=profile_id
        )
        return found, total

    found, total = await ctx.db.read(read)
    return {"count": len(found), "total_count": total, "data": [list_item(p) for p in found]}


async def _get(ctx: AppContext, caller: Caller, payment_id: str) -> Payment:
    payment = await ctx.db.read(lambda conn: repo.get(conn, caller.merchant_id, payment_id))
    if payment is None:
        raise not_found("Payment")
    return payment


@router.get("/v2/payments/{payment_id}")
async def retrieve_payment(payment_id: str, ctx: Ctx, caller: Merchant) -> dict[str, Any]:
    return payment_response(await _get(ctx, caller, payment_id))


@router.get("/v2/payments/{payment_id}/get-intent")
async def retrieve_intent(payment_id: str, ctx: Ctx, caller: Merchant) -> dict[str, Any]:
    return intent_response(await _get(ctx, caller, payment_id))


__all__ = ["ApiError", "router"]
