"""How pages show values: amounts in major units, times in UTC, cards masked."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

#: ISO 4217 minor-unit exponents that are not 2.
_EXPONENTS = {
    **dict.fromkeys(
        [
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
}


def amount(minor: int | None, currency: str | None) -> str:
    """``1050, "USD"`` → ``10.50 USD``; ``500, "JPY"`` → ``500 JPY``."""
    if minor is None:
        return ""
    code = (currency or "").upper()
    exponent = _EXPONENTS.get(code, 2)
    sign = "-" if minor < 0 else ""
    units, cents = divmod(abs(minor), 10**exponent)
    text = f"{units:,}" if exponent == 0 else f"{units:,}.{cents:0{exponent}d}"
    return f"{sign}{text} {code}".strip()


def when(moment: datetime | str | None) -> str:
    """``2025-01-31 12:00 UTC``."""
    if moment is None:
        return ""
    if isinstance(moment, str):
        try:
            parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            return moment
        moment = parsed
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def card_digits(first6: str | None, last4: str | None) -> str:
    """``424242 •••• 4242``: the first 6 and last 4 digits at most, never more."""
    head = (first6 or "")[:6] or "••••••"
    tail = (last4 or "")[-4:] or "••••"
    return f"{head} •••• {tail}"


def expiry(month: str | None, year: str | None) -> str:
    if not month and not year:
        return ""
    return f"{month or '??'}/{year or '????'}"


FILTERS: dict[str, Callable[..., Any]] = {
    "amount": amount,
    "when": when,
    "card_digits": card_digits,
    "expiry": expiry,
}
