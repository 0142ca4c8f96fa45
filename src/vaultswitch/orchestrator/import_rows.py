"""One row of a card import (``POST /v2/payment-methods/import``): its fields, checked one
row at a time so that a bad row is answered ``invalid`` (naming the field, never echoing
the value) while the other rows of its batch go on.

A row names a customer by the merchant's own reference and a card already in the
profile's vault by its alias(es): ``alias`` (one alias whose value is the card as JSON,
as Hyperswitch's single-token mode stores it) or the per-field aliases ``card_number``,
``card_exp_month``, ``card_exp_year`` (and optionally ``card_holder_name``). Display
metadata (``last4``, ``card_isin``, ``card_network``, ``expiry_month``, ``expiry_year``)
is optional while the vault allows reveal, and required when it does not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vaultswitch.domain.digits import looks_like_card_number
from vaultswitch.domain.redaction import scrub_text

#: Aliases as vaults write them (tok_..., UUIDs, format-preserving digits): printable
#: ASCII, no space and no comma (reveal-multiple separates aliases with commas).
IMPORT_ALIAS_PATTERN = r"^[\x21-\x2b\x2d-\x7e]{1,256}$"
#: The per-field alias columns, in the order the vault's multi-token mode stores them.
FIELD_ALIASES = ("card_number", "card_exp_month", "card_exp_year", "card_holder_name")
#: The single-token alias column.
SINGLE_ALIAS = "alias"
ALIAS_COLUMNS = (SINGLE_ALIAS, *FIELD_ALIASES)
#: What a row must carry when the vault does not allow reveal.
METADATA_WITHOUT_REVEAL = ("last4", "expiry_month", "expiry_year")

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")

CardNetworkName = Literal[
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


class ImportRowBody(BaseModel):
    """A row as sent (``row`` is checked by the envelope)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, coerce_numbers_to_str=True)

    row: int
    customer_reference: str = Field(min_length=1, max_length=64)
    customer_name: str | None = Field(default=None, min_length=1, max_length=255)
    customer_email: str | None = Field(default=None, min_length=3, max_length=255)
    alias: str | None = Field(default=None, pattern=IMPORT_ALIAS_PATTERN)
    card_number: str | None = Field(default=None, pattern=IMPORT_ALIAS_PATTERN)
    card_exp_month: str | None = Field(default=None, pattern=IMPORT_ALIAS_PATTERN)
    card_exp_year: str | None = Field(default=None, pattern=IMPORT_ALIAS_PATTERN)
    card_holder_name: str | None = Field(default=None, pattern=IMPORT_ALIAS_PATTERN)
    last4: str | None = Field(default=None, pattern=r"^[0-9]{4}$")
    card_isin: str | None = Field(default=None, pattern=r"^[0-9]{6,8}$")
    card_network: CardNetworkName | None = None
    expiry_month: str | None = Field(default=None, pattern=r"^[0-9]{1,2}$")
    expiry_year: str | None = Field(default=None, pattern=r"^([0-9]{2}|20[0-9]{2})$")

    @field_validator("customer_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.fullmatch(value):
            raise ValueError("must be an email address (name@domain)")
        return value

    @field_validator("expiry_month")
    @classmethod
    def _month(cls, value: str | None) -> str | None:
        if value is not None and not 1 <= int(value) <= 12:
            raise ValueError("must be a month from 1 to 12")
        return value


@dataclass(frozen=True, slots=True)
class Metadata:
    """Display metadata a row gives (normalised: 2-digit month, 4-digit year)."""

    last4: str | None = None
    card_isin: str | None = None
    card_network: str | None = None
    expiry_month: str | None = None
    expiry_year: str | None = None

    def lacking(self, names: tuple[str, ...]) -> list[str]:
        return [name for name in names if getattr(self, name) is None]


@dataclass(frozen=True, slots=True)
class ImportRow:
    """A row whose fields are well-formed."""

    row: int
    customer_reference: str
    customer_name: str | None
    customer_email: str | None
    #: column -> alias: ``{"alias": ...}`` or the per-field aliases given
    aliases: Mapping[str, str] = field(repr=False)
    given: Metadata

    @property
    def single(self) -> bool:
        return SINGLE_ALIAS in self.aliases

    @property
    def primary_column(self) -> str:
        """The alias that identifies the card: the single alias, or the number's."""
        return SINGLE_ALIAS if self.single else "card_number"

    @property
    def primary_alias(self) -> str:
        return self.aliases[self.primary_column]


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Why a row is ``invalid``: text naming the field, never its value."""

    row: int
    reason: str


def _reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    loc = ".".join(str(part) for part in first.get("loc", ())) or "row"
    kind = str(first.get("type", ""))
    if kind == "missing":
        return f"{loc}: missing"
    if kind == "extra_forbidden":
        return f"{loc}: unknown field"
    message = scrub_text(str(first.get("msg", "invalid value")))
    message = message.removeprefix("Value error, ")
    return f"{loc}: {message}"


def parse_row(row: int, raw: Mapping[str, Any], *, fpe_aliases: bool) -> ImportRow | RowProblem:
    """The row, or why it is invalid. A value shaped like a card number in an alias field
    is refused (aliases only) unless ``fpe_aliases`` says the vault's aliases are
    format-preserving and look like card numbers."""
    values = {k: v for k, v in raw.items() if v is not None and v != ""}
    for name in ALIAS_COLUMNS:
        value = values.get(name)
        if isinstance(value, str) and not fpe_aliases and looks_like_card_number(value):
            return RowProblem(
                row,
                f"{name}: holds what looks like a card number; import takes vault aliases "
                "only (a format-preserving alias that looks like a card number needs "
                "fpe_aliases: true, or --fpe-aliases)",
            )
    try:
        body = ImportRowBody.model_validate({**values, "row": row})
    except ValidationError as exc:
        return RowProblem(row, _reason(exc))
    given_fields = [name for name in FIELD_ALIASES if getattr(body, name) is not None]
    if body.alias is not None and given_fields:
        return RowProblem(
            row,
            f"alias: give either alias (a card JSON alias) or the per-field aliases, not both "
            f"(also given: {', '.join(given_fields)})",
        )
    aliases: dict[str, str]
    if body.alias is not None:
        aliases = {SINGLE_ALIAS: body.alias}
    else:
        missing = [name for name in FIELD_ALIASES[:3] if getattr(body, name) is None]
        if len(missing) == 3:
            return RowProblem(
                row,
                "alias: missing; give alias (a card JSON alias) or the per-field aliases "
                "card_number, card_exp_month and card_exp_year",
            )
        if missing:
            return RowProblem(row, f"{missing[0]}: missing (per-field aliases need all three)")
        aliases = {name: value for name in FIELD_ALIASES if (value := getattr(body, name))}
    month = None if body.expiry_month is None else f"{int(body.expiry_month):02d}"
    year = body.expiry_year
    if year is not None and len(year) == 2:
        year = str(2000 + int(year))
    given = Metadata(body.last4, body.card_isin, body.card_network, month, year)
    return ImportRow(
        row=row,
        customer_reference=body.customer_reference,
        customer_name=body.customer_name,
        customer_email=body.customer_email,
        aliases=aliases,
        given=given,
    )
