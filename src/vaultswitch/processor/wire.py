"""Request parsing for the authorize API: JSON in, a validated :class:`AuthorizeInput` out.

Every rejection is an :class:`~vaultswitch.processor.errors.ApiError` naming the field
(``amount``, ``currency``, ``reference``, ``card.number``, ``card.exp_month``, ...);
no message quotes a value that was sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vaultswitch.domain.cards import (
    Card,
    CardBrand,
    CardExpiry,
    CardNumber,
    parse_cvc,
    parse_holder_name,
)
from vaultswitch.domain.errors import InvalidCardData
from vaultswitch.processor.currencies import CURRENCIES
from vaultswitch.processor.errors import ApiError, invalid_field, missing_field

MAX_AMOUNT = 999_999_999_999
MAX_REFERENCE_LENGTH = 255
MAX_IDEMPOTENCY_KEY_LENGTH = 255
JSON_MEDIA_TYPE = "application/json"

_TOP_FIELDS = frozenset({"amount", "currency", "reference", "card"})
_CARD_FIELDS = frozenset({"number", "exp_month", "exp_year", "cvc", "holder_name"})
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]+")  # visible ASCII, no spaces
_CURRENCY = re.compile(r"[A-Za-z]{3}")


@dataclass(frozen=True, slots=True)
class AuthorizeInput:
    """A validated authorize request. The card shows only its mask in repr."""

    amount: int
    currency: str
    reference: str
    card: Card

    def fingerprint(self, key: bytes) -> bytes:
        """Keyed digest of the request, to tell a retry from a different request."""
        card = self.card
        parts = [
            self.amount,
            self.currency,
            self.reference,
            card.number.reveal(),
            card.expiry.month,
            card.expiry.year,
            "" if card.cvc is None else card.cvc.reveal(),
            card.holder_name or "",
        ]
        return hmac.new(key, json.dumps(parts).encode(), hashlib.sha256).digest()


def check_content_type(value: str | None) -> None:
    media = (value or "").split(";", 1)[0].strip().lower()
    if media != JSON_MEDIA_TYPE:
        raise ApiError(
            415,
            "unsupported_media_type",
            "the body must be JSON",
            field="Content-Type",
            hint="Send Content-Type: application/json.",
        )


def parse_json(raw: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(
            400,
            "invalid_json",
            "the body is not valid JSON",
            hint="Send a JSON object encoded as UTF-8.",
        ) from None
    if not isinstance(payload, dict):
        raise ApiError(
            400, "invalid_json", "the body must be a JSON object", hint="Send a JSON object."
        )
    return payload


def parse_idempotency_key(value: str | None) -> str | None:
    """The ``Idempotency-Key`` header: 1-255 visible ASCII characters, or absent."""
    if value is None:
        return None
    if not 1 <= len(value) <= MAX_IDEMPOTENCY_KEY_LENGTH or not _IDEMPOTENCY_KEY.fullmatch(value):
        raise invalid_field(
            "Idempotency-Key",
            f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters "
            "without spaces",
            hint="Use a unique id per payment attempt, e.g. a UUID.",
        )
    return value


def _reject_unknown(payload: Mapping[str, Any], known: frozenset[str], prefix: str) -> None:
    for name in payload:
        if name not in known:
            shown = name if _FIELD_NAME.fullmatch(name) else "<unprintable>"
            raise invalid_field(
                f"{prefix}{shown}",
                f"unknown field {prefix}{shown}; accepted: {', '.join(sorted(known))}",
            )


def _amount(value: Any) -> int:
    if value is None:
        raise missing_field("amount")
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_field(
            "amount", "amount must be an integer number of minor units (e.g. 1050 for 10.50)"
        )
    if not 1 <= value <= MAX_AMOUNT:
        raise invalid_field("amount", f"amount must be from 1 to {MAX_AMOUNT} minor units")
    return value


def _currency(value: Any) -> str:
    if value is None:
        raise missing_field("currency")
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise invalid_field("currency", "currency must be a 3-letter ISO 4217 code, e.g. USD")
    code = value.upper()
    if code not in CURRENCIES:
        raise invalid_field("currency", "currency is not an ISO 4217 currency code")
    return code


def _reference(value: Any) -> str:
    if value is None:
        raise missing_field("reference")
    if not isinstance(value, str) or not value.strip():
        raise invalid_field("reference", "reference must be a non-empty string")
    if len(value) > MAX_REFERENCE_LENGTH or not value.isprintable():
        raise invalid_field(
            "reference",
            f"reference must be at most {MAX_REFERENCE_LENGTH} printable characters",
        )
    return value


def _card(value: Any) -> Card:
    if value is None:
        raise missing_field("card")
    if not isinstance(value, dict):
        raise invalid_field("card", "card must be an object with number, exp_month, exp_year")
    _reject_unknown(value, _CARD_FIELDS, "card.")
    for name in ("number", "exp_month", "exp_year"):
        if value.get(name) is None:
            raise missing_field(f"card.{name}")
    try:
        number = CardNumber(value["number"], field="card.number")
        expiry = CardExpiry.parse(value["exp_month"], value["exp_year"], prefix="card.exp")
        holder = parse_holder_name(value.get("holder_name"), field="card.holder_name")
    except InvalidCardData as exc:
        raise invalid_field(exc.field or "card", exc.message, exc.hint) from None
    raw_cvc = value.get("cvc")
    cvc = None
    if raw_cvc is not None:
        try:
            cvc = parse_cvc(raw_cvc, number.brand)
        except InvalidCardData as exc:
            want = 4 if number.brand is CardBrand.AMEX else 3
            raise invalid_field(
                "card.cvc", f"card.cvc must be a string of {want} digits", exc.hint
            ) from None
    return Card(number, expiry, cvc, holder)


def parse_authorize(payload: Mapping[str, Any]) -> AuthorizeInput:
    """Validate a ``POST /v1/authorizations`` body, naming the first field that is wrong."""
    _reject_unknown(payload, _TOP_FIELDS, "")
    return AuthorizeInput(
        amount=_amount(payload.get("amount")),
        currency=_currency(payload.get("currency")),
        reference=_reference(payload.get("reference")),
        card=_card(payload.get("card")),
    )
