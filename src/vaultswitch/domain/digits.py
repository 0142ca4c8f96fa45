"""Digit-string helpers shared by card validation and log scrubbing (imports nothing)."""

from __future__ import annotations


def luhn_valid(digits: str) -> bool:
    """True when an ASCII digit string passes the Luhn (mod 10) check."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def luhn_check_digit(partial: str) -> str:
    """The digit that makes ``partial + digit`` Luhn-valid."""
    for digit in "0123456789":
        if luhn_valid(partial + digit):
            return digit
    raise AssertionError("unreachable")


def mask_digits(digits: str) -> str:
    """First 6 (fewer on short numbers, so at least 6 stay hidden) + last 4 visible."""
    if len(digits) <= 4:
        return "*" * len(digits)
    head = max(0, min(6, len(digits) - 10))
    return digits[:head] + "*" * (len(digits) - head - 4) + digits[-4:]


def looks_like_card_number(text: str) -> bool:
    """12-19 digits (spaces and dashes between them ignored) that pass the Luhn check: a
    card number, or a format-preserving alias made to look like one."""
    digits = text.replace(" ", "").replace("-", "")
    return 12 <= len(digits) <= 19 and digits.isascii() and digits.isdigit() and luhn_valid(digits)
