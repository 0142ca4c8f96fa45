"""Payment methods (merchant API key): save a card into the profile's vault (or record a
``proxy_card`` made of aliases), retrieve it masked, list a customer's saved cards,
delete it from the vault too; payment-method sessions for client-side vault SDKs.

Shapes are Hyperswitch v2's (``PaymentMethodCreate``, ``PaymentMethodResponse`` with
``payment_method_data.card`` = ``CardDetailFromLocker``, ``{customer_payment_methods}``),
plus ``duplicate`` on create: a card this customer already saved answers the existing
payment method with ``duplicate: true`` (Hyperswitch answers 400 for its internal vault
and does not check at all for external vaults).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator
from sqlalchemy.engine import Connection

from vaultswitch.domain.cards import Card, CardBrand, detect_brand, parse_holder_name
from vaultswitch.domain.errors import InvalidCardData
from vaultswitch.domain.secret import Secret
from vaultswitch.orchestrator import ids, vaulting
from vaultswitch.orchestrator import payment_methods as service
from vaultswitch.orchestrator.auth import Merchant
from vaultswitch.orchestrator.context import Ctx
from vaultswitch.orchestrator.db import utcnow
from vaultswitch.orchestrator.errors import invalid_data, invalid_value, not_found
from vaultswitch.orchestrator.repos import customers as customers_repo
from vaultswitch.orchestrator.repos import payment_methods as repo
from vaultswitch.orchestrator.repos.payment_methods import (
    CardDisplay,
    PaymentMethod,
    PaymentMethodSession,
)
from vaultswitch.orchestrator.vaulting import VaultIds

from .common import iso

router = APIRouter(tags=["payment methods"])

CARD = "payment_method_data.card"
PROXY_CARD = "payment_method_data.proxy_card"
SESSION_TTL_SECONDS = 900

CardNetwork = Literal[
    "Visa",
    "Mastercard",
    "AmericanExpress",
    "JCB",
    "DinersClub",
    "Discover",
    "CartesBancaires",
    "UnionPay",
    "Interac",
    "RuPay",
    "Maestro",
    "Star",
    "Pulse",
    "Accel",
    "Nyce",
]
NETWORK_OF_BRAND: dict[CardBrand, str] = {
    CardBrand.VISA: "Visa",
    CardBrand.MASTERCARD: "Mastercard",
    CardBrand.AMEX: "AmericanExpress",
    CardBrand.DISCOVER: "Discover",
    CardBrand.DINERS: "DinersClub",
    CardBrand.JCB: "JCB",
    CardBrand.UNIONPAY: "UnionPay",
    CardBrand.MAESTRO: "Maestro",
}
CardType = Literal["credit", "debit"]
Country = Field(default=None, pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")
#: Card data in a request: held as a Secret (never echoed, never logged), a string in JSON.
SecretText = Annotated[Secret, WithJsonSchema({"type": "string", "writeOnly": True})]
#: An alias as VGS writes them (tok_..., UUIDs, format-preserving digits): no spaces.
ALIAS_PATTERN = r"^[\x21-\x7e]{1,256}$"


# --- requests ------------------------------------------------------------------------------


class CardDetail(BaseModel):
    """A card to save (Hyperswitch ``CardDetail``). The CVC is never stored by us: it is
    kept only as a VOLATILE alias in the vault, for the next payment."""

    model_config = ConfigDict(extra="forbid")

    card_number: SecretText
    card_exp_month: str | int
    card_exp_year: str | int
    card_holder_name: str | None = None
    card_cvc: SecretText | None = None
    nick_name: str | None = Field(default=None, max_length=64)
    card_network: CardNetwork | None = None
    card_issuer: str | None = Field(default=None, max_length=64)
    card_type: CardType | None = None
    card_issuing_country: str | None = Country


class ProxyCardDetail(BaseModel):
    """A card already in the profile's vault (e.g. collected with VGS Collect): its fields
    are aliases (the expiry may be plain), plus display metadata (Hyperswitch
    ``ProxyCardDetails``)."""

    model_config = ConfigDict(extra="forbid")

    card_number: str = Field(pattern=ALIAS_PATTERN, description="The alias of the number")
    card_exp_month: str = Field(pattern=ALIAS_PATTERN, description="Month, or its alias")
    card_exp_year: str = Field(pattern=ALIAS_PATTERN, description="Year, or its alias")
    card_cvc: str | None = Field(
        default=None, pattern=ALIAS_PATTERN, description="The alias of the CVC"
    )
    bin_number: str | None = Field(default=None, pattern=r"^[0-9]{6,8}$")
    last_four: str | None = Field(default=None, pattern=r"^[0-9]{4}$")
    card_holder_name: str | None = None
    nick_name: str | None = Field(default=None, max_length=64)
    card_network: CardNetwork | None = None
    card_issuer: str | None = Field(default=None, max_length=64)
    card_type: CardType | None = None
    card_issuing_country: str | None = Country


class PaymentMethodData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    card: CardDetail | None = None
    proxy_card: ProxyCardDetail | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> PaymentMethodData:
        if (self.card is None) == (self.proxy_card is None):
            raise ValueError('send exactly one of "card" and "proxy_card"')
        return self


class PaymentMethodCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: str = Field(min_length=1, max_length=80)
    payment_method_type: Literal["card"]
    payment_method_subtype: Literal["credit", "debit", "card"]
    payment_method_data: PaymentMethodData
    metadata: dict[str, Any] | None = None
    storage_type: Literal["persistent", "volatile"] | None = None


class PaymentMethodSessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: str | None = Field(default=None, min_length=1, max_length=80)
    return_url: str | None = Field(default=None, max_length=2048)
    expires_in: int | None = Field(
        default=None, ge=60, le=86_400, description="Seconds (default 900)"
    )


# --- responses -----------------------------------------------------------------------------


class CardDetailFromLocker(BaseModel):
    issuer_country: str | None
    last4_digits: str | None
    expiry_month: str | None
    expiry_year: str | None
    card_holder_name: str | None
    card_fingerprint: str | None = None
    nick_name: str | None
    card_network: str | None
    card_isin: str | None
    card_issuer: str | None
    card_type: str | None
    saved_to_locker: bool = True


class CardData(BaseModel):
    card: CardDetailFromLocker


class CvcTokenStorage(BaseModel):
    is_stored: bool
    expires_at: str | None


class PaymentMethodResponse(BaseModel):
    id: str
    merchant_id: str
    customer_id: str
    payment_method_type: str
    payment_method_subtype: str
    recurring_enabled: bool = False
    created: str | None
    last_used_at: str | None
    payment_method_data: CardData
    connector_tokens: None = None
    network_token: None = None
    storage_type: Literal["persistent"] = "persistent"
    card_cvc_token_storage: CvcTokenStorage
    external_vault_source: str | None = Field(
        default=None,
        description="The vault connector account the card is stored through (null: the "
        "internal vault); a vault migration changes it.",
    )


class PaymentMethodCreateResponse(PaymentMethodResponse):
    duplicate: bool = Field(
        description="true: this customer already had this card; this is that payment method"
    )


class PaymentMethodResponseItem(BaseModel):
    id: str
    customer_id: str
    payment_method_type: str
    payment_method_subtype: str
    recurring_enabled: bool = False
    payment_method_data: CardData
    bank: None = None
    created: str | None
    requires_cvv: bool
    last_used_at: str | None
    is_default: bool = False
    billing: None = None
    psp_tokenization_enabled: bool = False
    network_tokenization: None = None


class CustomerPaymentMethodsListResponse(BaseModel):
    customer_payment_methods: list[PaymentMethodResponseItem]


class PaymentMethodDeleteResponse(BaseModel):
    id: str


class VgsSessionDetails(BaseModel):
    external_vault_id: str
    sdk_env: str


class VaultSessionDetails(BaseModel):
    vgs: VgsSessionDetails


class PaymentMethodSessionResponse(BaseModel):
    id: str
    customer_id: str | None
    expires_at: str | None
    return_url: str | None
    vault_details: VaultSessionDetails
    billing: None = None
    psp_tokenization: None = None
    network_tokenization: None = None
    tokenization_data: None = None
    next_action: None = None
    authentication_details: None = None
    associated_payment_methods: None = None
    associated_token_id: None = None


class PaymentMethodSessionCreateResponse(PaymentMethodSessionResponse):
    client_secret: str = Field(description="Shown once; the orchestrator keeps its hash")


def _cvc_storage(record: PaymentMethod, now: datetime) -> CvcTokenStorage:
    if record.vault_ids.cvc_alias is None:
        return CvcTokenStorage(is_stored=False, expires_at=None)
    expires = record.cvc_expires_at
    return CvcTokenStorage(is_stored=expires is None or expires > now, expires_at=iso(expires))


def _card_data(record: PaymentMethod) -> CardData:
    d = record.display
    return CardData(
        card=CardDetailFromLocker(
            issuer_country=d.issuer_country,
            last4_digits=d.last4_digits,
            expiry_month=d.expiry_month,
            expiry_year=d.expiry_year,
            card_holder_name=d.card_holder_name,
            nick_name=d.nick_name,
            card_network=d.card_network,
            card_isin=d.card_isin,
            card_issuer=d.card_issuer,
            card_type=d.card_type,
        )
    )


def payment_method_response(record: PaymentMethod) -> PaymentMethodResponse:
    return PaymentMethodResponse(**_response_fields(record))


def _response_fields(record: PaymentMethod) -> dict[str, Any]:
    return {
        "id": record.id,
        "merchant_id": record.merchant_id,
        "customer_id": record.customer_id,
        "payment_method_type": record.payment_method_type,
        "payment_method_subtype": record.payment_method_subtype,
        "created": iso(record.created_at),
        "last_used_at": iso(record.last_used_at),
        "payment_method_data": _card_data(record),
        "card_cvc_token_storage": _cvc_storage(record, utcnow()),
        "external_vault_source": None
        if record.vault_connector_id == vaulting.INTERNAL
        else record.vault_connector_id,
    }


def _list_item(record: PaymentMethod, now: datetime) -> PaymentMethodResponseItem:
    return PaymentMethodResponseItem(
        id=record.id,
        customer_id=record.customer_id,
        payment_method_type=record.payment_method_type,
        payment_method_subtype=record.payment_method_subtype,
        payment_method_data=_card_data(record),
        created=iso(record.created_at),
        requires_cvv=not _cvc_storage(record, now).is_stored,
        last_used_at=iso(record.last_used_at),
    )


# --- request checks ------------------------------------------------------------------------


def _card_error(exc: InvalidCardData) -> Exception:
    name = exc.field or "card_number"
    reason = exc.message
    if reason.startswith(name + " "):
        reason = reason[len(name) + 1 :]
    return invalid_value(f"{CARD}.{name}", reason, hint=exc.hint)


def _expired(field: str) -> Exception:
    return invalid_data(
        field,
        "the card has expired",
        hint="Save a card whose expiry month has not passed (a card is valid through the "
        "last day of its expiry month).",
    )


def _card(body: CardDetail, today: date) -> Card:
    try:
        card = Card.parse(
            body.card_number,
            body.card_exp_month,
            body.card_exp_year,
            body.card_cvc,
            body.card_holder_name,
        )
    except InvalidCardData as exc:
        raise _card_error(exc) from None
    if card.expiry.is_expired(today):
        raise _expired(f"{CARD}.card_exp_year")
    return card


def _card_type(given: str | None, subtype: str) -> str | None:
    if given is not None:
        return given
    return subtype if subtype in ("credit", "debit") else None


def _card_display(body: CardDetail, card: Card, subtype: str) -> CardDisplay:
    return CardDisplay(
        card_isin=card.number.first6,
        last4_digits=card.number.last4,
        card_network=body.card_network or NETWORK_OF_BRAND.get(card.brand),
        card_type=_card_type(body.card_type, subtype),
        card_issuer=body.card_issuer,
        issuer_country=body.card_issuing_country,
        expiry_month=card.expiry.month_str,
        expiry_year=card.expiry.year_str,
        nick_name=body.nick_name,
        card_holder_name=card.holder_name,
    )


def _plain_part(value: str, field: str, *, month: bool) -> str | None:
    """A plain expiry month or year ("03", "2030"), None for an alias; up to 4 digits are
    taken as a plain value and must be a valid one."""
    if not re.fullmatch(r"[0-9]{1,4}", value):
        return None
    if month:
        if len(value) > 2 or not 1 <= int(value) <= 12:
            raise invalid_value(field, "must be a month from 1 to 12, or the alias of one")
        return f"{int(value):02d}"
    if len(value) == 2:
        return str(2000 + int(value))
    if len(value) == 4 and 2000 <= int(value) <= 2099:
        return value
    raise invalid_value(field, "must be a 2-digit or 4-digit year, or the alias of one")


def _proxy(body: ProxyCardDetail, subtype: str, today: date) -> tuple[VaultIds, CardDisplay]:
    aliases = {"card_number": body.card_number}
    month = _plain_part(body.card_exp_month, f"{PROXY_CARD}.card_exp_month", month=True)
    year = _plain_part(body.card_exp_year, f"{PROXY_CARD}.card_exp_year", month=False)
    if month is None:
        aliases["card_exp_month"] = body.card_exp_month
    if year is None:
        aliases["card_exp_year"] = body.card_exp_year
    if (
        month is not None
        and year is not None
        and (today.year, today.month)
        > (
            int(year),
            int(month),
        )
    ):
        raise _expired(f"{PROXY_CARD}.card_exp_year")
    if body.card_cvc is not None:
        if re.fullmatch(r"[0-9]{3,4}", body.card_cvc):
            raise invalid_data(
                f"{PROXY_CARD}.card_cvc",
                "must be the alias of the CVC, not the CVC itself",
                hint="Send the CVC's VOLATILE alias (e.g. from VGS Collect); a CVC in clear "
                "goes in payment_method_data.card.card_cvc, and is kept only in the vault.",
            )
        aliases["card_cvc"] = body.card_cvc
    try:
        holder = parse_holder_name(body.card_holder_name)
    except InvalidCardData as exc:
        raise invalid_value(f"{PROXY_CARD}.card_holder_name", exc.message) from None
    network: str | None = body.card_network
    if network is None and body.bin_number is not None:
        network = NETWORK_OF_BRAND.get(detect_brand(body.bin_number))
    display = CardDisplay(
        card_isin=body.bin_number[:6] if body.bin_number else None,
        last4_digits=body.last_four,
        card_network=network,
        card_type=_card_type(body.card_type, subtype),
        card_issuer=body.card_issuer,
        issuer_country=body.card_issuing_country,
        expiry_month=month,
        expiry_year=year,
        nick_name=body.nick_name,
        card_holder_name=holder,
    )
    return VaultIds(vaulting.PROXY, aliases), display


# --- handlers ------------------------------------------------------------------------------


@router.post("/v2/payment-methods")
async def create_payment_method(
    body: PaymentMethodCreate, ctx: Ctx, caller: Merchant
) -> PaymentMethodCreateResponse:
    """Save a card in the profile's vault (or record a proxy card); a card the customer
    already saved answers that payment method with ``duplicate: true``."""
    if body.storage_type == "volatile":
        raise invalid_data(
            "storage_type",
            "volatile payment methods are not supported",
            hint='Leave storage_type out (or send "persistent"): the card is saved '
            "persistently in the vault and only its CVC is kept VOLATILE.",
        )
    kind = service.PaymentMethodKind(
        customer_id=body.customer_id,
        payment_method_type=body.payment_method_type,
        payment_method_subtype=body.payment_method_subtype,
        metadata=body.metadata,
    )
    today = datetime.now(UTC).date()
    data = body.payment_method_data
    if data.card is not None:
        card = _card(data.card, today)
        display = _card_display(data.card, card, body.payment_method_subtype)
        saved = await service.save_card(ctx, caller, kind, card, display)
    else:
        assert data.proxy_card is not None
        aliases, display = _proxy(data.proxy_card, body.payment_method_subtype, today)
        saved = await service.save_proxy_card(ctx, caller, kind, aliases, display)
    return PaymentMethodCreateResponse(**_response_fields(saved.record), duplicate=saved.duplicate)


@router.get("/v2/payment-methods/{pm_id}")
async def retrieve_payment_method(pm_id: str, ctx: Ctx, caller: Merchant) -> PaymentMethodResponse:
    """The payment method, masked (first 6 and last 4 digits at most)."""
    record = await ctx.db.read(lambda conn: repo.get(conn, ctx.keyring, caller.merchant_id, pm_id))
    if record is None:
        raise not_found("Payment method")
    return payment_method_response(record)


@router.delete("/v2/payment-methods/{pm_id}")
async def delete_payment_method(
    pm_id: str, ctx: Ctx, caller: Merchant
) -> PaymentMethodDeleteResponse:
    """Delete the card's aliases from the vault (those no other payment method holds),
    then the payment method. A vault error keeps it, so the delete can be retried."""
    await service.delete(ctx, caller, pm_id)
    return PaymentMethodDeleteResponse(id=pm_id)


@router.get("/v2/customers/{customer_id}/saved-payment-methods")
async def list_saved_payment_methods(
    customer_id: str, ctx: Ctx, caller: Merchant
) -> CustomerPaymentMethodsListResponse:
    """The customer's saved payment methods, newest first."""

    def load(conn: Connection) -> list[PaymentMethod]:
        if not customers_repo.exists(conn, caller.merchant_id, customer_id):
            raise not_found("Customer")
        return repo.list_for_customer(conn, ctx.keyring, caller.merchant_id, customer_id)

    records = await ctx.db.read(load)
    now = utcnow()
    return CustomerPaymentMethodsListResponse(
        customer_payment_methods=[_list_item(r, now) for r in records]
    )


def _session_response(session: PaymentMethodSession, details: dict[str, str]) -> dict[str, Any]:
    return {
        "id": session.id,
        "customer_id": session.customer_id,
        "expires_at": iso(session.expires_at),
        "return_url": session.return_url,
        "vault_details": {
            "vgs": {
                "external_vault_id": details["external_vault_id"],
                "sdk_env": details["sdk_env"],
            }
        },
    }


@router.post("/v2/payment-method-sessions")
async def create_payment_method_session(
    body: PaymentMethodSessionCreate, ctx: Ctx, caller: Merchant
) -> PaymentMethodSessionCreateResponse:
    """What a client-side vault SDK needs to collect a card into the profile's vault (for
    VGS Collect: the vault id and the environment)."""
    customer_id = body.customer_id

    def prepare(conn: Connection) -> vaulting.VaultTarget:
        if customer_id is not None and not customers_repo.exists(
            conn, caller.merchant_id, customer_id
        ):
            raise not_found("Customer")
        return vaulting.profile_vault(ctx, conn, caller.profile)

    target = await ctx.db.read(prepare)
    details = await vaulting.session_details(ctx, target)
    client_secret = "pms_secret_" + secrets.token_urlsafe(24)
    expires_at = utcnow() + timedelta(seconds=body.expires_in or SESSION_TTL_SECONDS)
    values = {
        "id": ids.global_id(ctx.settings.cell_id, "pms"),
        "merchant_id": caller.merchant_id,
        "profile_id": caller.profile_id,
        "customer_id": customer_id,
        "vault_connector_id": target.connector_id,
        "client_secret_hash": hashlib.sha256(client_secret.encode()).hexdigest(),
        "return_url": body.return_url,
        "expires_at": expires_at,
    }
    session = await ctx.db.write(lambda conn: repo.create_session(conn, values))
    return PaymentMethodSessionCreateResponse(
        **_session_response(session, dict(details.details)), client_secret=client_secret
    )


@router.get("/v2/payment-method-sessions/{session_id}")
async def retrieve_payment_method_session(
    session_id: str, ctx: Ctx, caller: Merchant
) -> PaymentMethodSessionResponse:
    def load(conn: Connection) -> tuple[PaymentMethodSession, vaulting.VaultTarget]:
        session = repo.get_session(conn, caller.merchant_id, session_id)
        if session is None:
            raise not_found("Payment method session")
        return session, vaulting.stored_vault(
            ctx, conn, caller.merchant_id, session.vault_connector_id
        )

    session, target = await ctx.db.read(load)
    details = await vaulting.session_details(ctx, target)
    return PaymentMethodSessionResponse(**_session_response(session, dict(details.details)))
