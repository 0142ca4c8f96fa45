"""Card data: numbers (Luhn, brand, masking), expiry, CVC, holder name, network tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from .digits import luhn_check_digit as luhn_check_digit
from .digits import luhn_valid as luhn_valid
from .digits import mask_digits as mask_digits
from .errors import InvalidCardData
from .secret import Secret

MIN_PAN_LENGTH = 12
MAX_PAN_LENGTH = 19
MAX_HOLDER_NAME_LENGTH = 64
_SEPARATORS = re.compile(r"[ \-]")
_ASCII_DIGITS = re.compile(r"[0-9]+")


class CardBrand(StrEnum):
    VISA = "visa"
    MASTERCARD = "mastercard"
    AMEX = "amex"
    DISCOVER = "discover"
    DINERS = "diners"
    JCB = "jcb"
    UNIONPAY = "unionpay"
    MAESTRO = "maestro"
    UNKNOWN = "unknown"


_BRAND_RULES: tuple[tuple[CardBrand, tuple[tuple[int, int], ...]], ...] = (
    (CardBrand.AMEX, ((34, 34), (37, 37))),
    (CardBrand.MASTERCARD, ((51, 55), (2221, 2720))),
    (CardBrand.DISCOVER, ((6011, 6011), (644, 649), (65, 65))),
    (CardBrand.DINERS, ((300, 305), (3095, 3095), (36, 36), (38, 39))),
    (CardBrand.JCB, ((3528, 3589),)),
    (CardBrand.UNIONPAY, ((62, 62), (81, 81))),
    (CardBrand.MAESTRO, ((50, 50), (56, 58), (6304, 6304), (67, 67))),
    (CardBrand.VISA, ((4, 4),)),
)
# (brand, prefix width, low, high), in rule order, for one pass over precomputed prefixes
_BRAND_TABLE: tuple[tuple[CardBrand, int, int, int], ...] = tuple(
    (brand, len(str(low)), low, high) for brand, ranges in _BRAND_RULES for low, high in ranges
)


def detect_brand(digits: str) -> CardBrand:
    """Card brand from the leading digits (IIN ranges); UNKNOWN when none matches."""
    prefixes = [-1] + [int(digits[:w]) if len(digits) >= w else -1 for w in range(1, 5)]
    for brand, width, low, high in _BRAND_TABLE:
        if low <= prefixes[width] <= high:
            return brand
    return CardBrand.UNKNOWN


def normalise_digits(raw: str, field: str, min_len: int, max_len: int) -> str:
    """Strip spaces/dashes and check an ASCII digit string of the given length range."""
    if not isinstance(raw, str):
        raise InvalidCardData(f"{field} must be a string of digits", field=field)
    stripped = _SEPARATORS.sub("", raw.strip())
    if not stripped:
        raise InvalidCardData(f"{field} is empty", field=field)
    if not _ASCII_DIGITS.fullmatch(stripped):
        raise InvalidCardData(
            f"{field} may contain only ASCII digits 0-9, spaces and dashes", field=field
        )
    if not min_len <= len(stripped) <= max_len:
        raise InvalidCardData(
            f"{field} must have {min_len} to {max_len} digits, not {len(stripped)}", field=field
        )
    return stripped


class CardNumber:
    """A validated primary account number. Behaves like a Secret: shows only its mask."""

    __slots__ = ("_secret", "brand")

    def __init__(self, raw: str | Secret, *, field: str = "card_number") -> None:
        text = raw.reveal() if isinstance(raw, Secret) else raw
        digits = normalise_digits(text, field, MIN_PAN_LENGTH, MAX_PAN_LENGTH)
        if set(digits) == {"0"}:
            raise InvalidCardData(f"{field} is all zeros", field=field)
        if not luhn_valid(digits):
            raise InvalidCardData(f"{field} fails the Luhn check", field=field)
        self._secret = Secret(digits)
        self.brand = detect_brand(digits)

    def reveal(self) -> str:
        """The digits, for the vault call that needs them."""
        return self._secret.reveal()

    @property
    def secret(self) -> Secret:
        return self._secret

    @property
    def first6(self) -> str:
        return self._secret.reveal()[:6]

    @property
    def last4(self) -> str:
        return self._secret.reveal()[-4:]

    @property
    def masked(self) -> str:
        return mask_digits(self._secret.reveal())

    def __len__(self) -> int:
        return len(self._secret)

    def __repr__(self) -> str:
        if not hasattr(self, "_secret"):  # half-built (validation failed in __init__)
            return "CardNumber(<invalid>)"
        return f"CardNumber('{self.masked}')"

    def __str__(self) -> str:
        return self.masked

    def __format__(self, format_spec: str) -> str:
        return self.masked

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CardNumber):
            return NotImplemented
        return self._secret == other._secret

    def __hash__(self) -> int:
        return hash(self._secret)

    def __reduce__(self) -> Any:
        raise TypeError("a CardNumber cannot be pickled")

    def __copy__(self) -> CardNumber:
        return self  # immutable

    def __deepcopy__(self, memo: dict[int, Any]) -> CardNumber:
        return self


@dataclass(frozen=True, slots=True)
class CardExpiry:
    """Expiry month (1-12) and 4-digit year."""

    month: int
    year: int

    @classmethod
    def parse(cls, month: str | int, year: str | int, *, prefix: str = "card_exp") -> CardExpiry:
        """Accept month 1-12 (``"01"`` or ``1``) and a 2- or 4-digit year."""
        m_field, y_field = f"{prefix}_month", f"{prefix}_year"
        m_text = str(month).strip() if isinstance(month, int | str) else ""
        if not re.fullmatch(r"[0-9]{1,2}", m_text) or not 1 <= int(m_text) <= 12:
            raise InvalidCardData(f"{m_field} must be a month from 1 to 12", field=m_field)
        y_text = str(year).strip() if isinstance(year, int | str) else ""
        if re.fullmatch(r"[0-9]{2}", y_text):
            y_value = 2000 + int(y_text)
        elif re.fullmatch(r"[0-9]{4}", y_text) and 2000 <= int(y_text) <= 2099:
            y_value = int(y_text)
        else:
            raise InvalidCardData(
                f"{y_field} must be a 2-digit or 4-digit year (2000-2099)", field=y_field
            )
        return cls(int(m_text), y_value)

    def is_expired(self, at: date) -> bool:
        """A card is valid through the last day of its expiry month."""
        return (at.year, at.month) > (self.year, self.month)

    @property
    def month_str(self) -> str:
        return f"{self.month:02d}"

    @property
    def year_str(self) -> str:
        return str(self.year)


def parse_cvc(raw: str | Secret, brand: CardBrand = CardBrand.UNKNOWN) -> Secret:
    """CVC: 3 digits, 4 for Amex; returned as a Secret."""
    text = raw.reveal() if isinstance(raw, Secret) else raw
    if not isinstance(text, str):
        raise InvalidCardData("card_cvc must be a string of digits", field="card_cvc")
    text = text.strip()
    want = 4 if brand is CardBrand.AMEX else 3
    if not re.fullmatch(r"[0-9]+", text) or len(text) != want:
        raise InvalidCardData(
            f"card_cvc must be {want} digits for {brand.value} cards", field="card_cvc"
        )
    return Secret(text)


def parse_holder_name(raw: str | None, *, field: str = "card_holder_name") -> str | None:
    """Trimmed holder name of at most 64 printable characters; None stays None."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise InvalidCardData(f"{field} must be a string", field=field)
    name = " ".join(raw.split())
    if not name:
        return None
    if len(name) > MAX_HOLDER_NAME_LENGTH:
        raise InvalidCardData(
            f"{field} must be at most {MAX_HOLDER_NAME_LENGTH} characters", field=field
        )
    if any(not ch.isprintable() for ch in name):
        raise InvalidCardData(f"{field} contains control characters", field=field)
    return name


def _as_card_number(value: object, field: str) -> CardNumber:
    if isinstance(value, CardNumber):
        return value
    if isinstance(value, str | Secret):
        return CardNumber(value, field=field)  # validated, held in a Secret
    raise InvalidCardData(
        f"{field} must be a CardNumber, str or Secret, not {type(value).__name__}", field=field
    )


def _check_expiry(value: object, prefix: str) -> None:
    if not isinstance(value, CardExpiry):
        raise InvalidCardData(
            f"{prefix} expiry must be a CardExpiry, not {type(value).__name__}",
            field=f"{prefix}_exp_month",
            hint="Build it with CardExpiry.parse(month, year), or build the whole "
            f"{'card with Card' if prefix == 'card' else 'token with NetworkToken'}.parse(...).",
        )


@dataclass(frozen=True, slots=True)
class Card:
    """A payment card as the orchestrator holds it. CVC is optional and never persisted.

    Built directly, a ``number`` or ``cvc`` given as a plain str is validated and wrapped
    (:class:`CardNumber`, :class:`Secret`); :meth:`parse` validates every field.
    """

    number: CardNumber
    expiry: CardExpiry
    cvc: Secret | None = None
    holder_name: str | None = None

    def __post_init__(self) -> None:
        number: object = self.number
        if type(number) is not CardNumber:
            object.__setattr__(self, "number", _as_card_number(number, "card_number"))
        _check_expiry(self.expiry, "card")
        cvc: object = self.cvc
        if cvc is not None and type(cvc) is not Secret:
            if cvc == "":
                object.__setattr__(self, "cvc", None)
            elif isinstance(cvc, str):
                object.__setattr__(self, "cvc", parse_cvc(cvc, self.number.brand))
            elif not isinstance(cvc, Secret):
                raise InvalidCardData(
                    f"card_cvc must be a str or Secret, not {type(cvc).__name__}",
                    field="card_cvc",
                )
        holder: object = self.holder_name
        if holder is not None and not isinstance(holder, str):
            raise InvalidCardData(
                f"card_holder_name must be a str, not {type(holder).__name__}",
                field="card_holder_name",
            )

    @classmethod
    def parse(
        cls,
        number: str | Secret,
        exp_month: str | int,
        exp_year: str | int,
        cvc: str | Secret | None = None,
        holder_name: str | None = None,
    ) -> Card:
        """Validate every field, naming the first one that is wrong."""
        pan = CardNumber(number)
        expiry = CardExpiry.parse(exp_month, exp_year)
        cvc_secret = None if cvc is None or cvc == "" else parse_cvc(cvc, pan.brand)
        return cls(pan, expiry, cvc_secret, parse_holder_name(holder_name))

    @property
    def brand(self) -> CardBrand:
        return self.number.brand

    def without_cvc(self) -> Card:
        return Card(self.number, self.expiry, None, self.holder_name)


@dataclass(frozen=True, slots=True)
class NetworkToken:
    """A network (scheme) token with its expiry and optional cryptogram."""

    token: CardNumber
    expiry: CardExpiry
    cryptogram: Secret | None = None

    def __post_init__(self) -> None:
        token: object = self.token
        if type(token) is not CardNumber:
            object.__setattr__(self, "token", _as_card_number(token, "network_token"))
        _check_expiry(self.expiry, "network_token")
        cryptogram: object = self.cryptogram
        if cryptogram is not None and type(cryptogram) is not Secret:
            object.__setattr__(self, "cryptogram", parse_cryptogram(cryptogram))

    @classmethod
    def parse(
        cls,
        token: str | Secret,
        exp_month: str | int,
        exp_year: str | int,
        cryptogram: str | Secret | None = None,
    ) -> NetworkToken:
        number = CardNumber(token, field="network_token")
        expiry = CardExpiry.parse(exp_month, exp_year, prefix="network_token_exp")
        crypt = None if cryptogram is None else parse_cryptogram(cryptogram)
        return cls(number, expiry, crypt)


def parse_cryptogram(raw: object) -> Secret:
    """A network token cryptogram: 1-128 characters, returned as a Secret."""
    text = raw.reveal() if isinstance(raw, Secret) else raw
    if not isinstance(text, str) or not 1 <= len(text.strip()) <= 128:
        raise InvalidCardData("cryptogram must be 1-128 characters", field="cryptogram")
    return Secret(text.strip())
