"""Scrubbing for log events: sensitive keys, Secret values and card-number-looking digit runs."""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from typing import Any

from .digits import luhn_valid, mask_digits
from .secret import MASK, Secret

SENSITIVE_KEYS = frozenset(
    {
        "value",
        "card_number",
        "card_cvc",
        "cvc",
        "cvv",
        "pan",
        "network_token",
        "cryptogram",
        "client_secret",
        "password",
        "secret",
        "access_token",
        "refresh_token",
        "token",
        "authorization",
        "proxy-authorization",
        "api_key",
        "key1",
        "master_key",
        # whole requests/responses and connection secrets: never logged on purpose
        "headers",
        "request_headers",
        "response_headers",
        "body",
        "content",
        "request_body",
        "response_body",
        "data",
        "credentials",
        "bearer",
        "cookie",
        "set-cookie",
        "proxy",
        "proxy_url",
    }
)
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]{12,19}(?![0-9])")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_PROCESSOR_KEYS = frozenset({"timestamp", "level", "logger"})  # written by processors
_SUSPECT = re.compile(r"[0-9]{12}|(?i:bearer|basic)\s")  # cheap test before substituting


# 13-19 digits, optionally grouped by single spaces or dashes ("4111 1111 1111 1111"), standing
# alone: not inside a word such as a hex id ("pro_01a233b51971795383...")
_GROUPED_DIGITS = re.compile(r"(?<![0-9A-Za-z])[0-9](?:[ -]?[0-9]){12,18}(?![0-9A-Za-z])")


def contains_card_number(text: str) -> bool:
    """True when ``text`` holds a Luhn-valid 13-19 digit number, plain or grouped, that is not
    part of a longer word (generated ids are hex: their digit runs touch letters)."""
    if len(text) < 13:
        return False
    for match in _GROUPED_DIGITS.finditer(text):
        digits = match.group(0).replace(" ", "").replace("-", "")
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return True
    return False


def scrub_text(text: str) -> str:
    """Mask Luhn-valid 12-19 digit runs and bearer/basic credentials inside free text."""
    if len(text) < 12 or _SUSPECT.search(text) is None:
        return text

    def _mask(match: re.Match[str]) -> str:
        digits = match.group(0)
        return mask_digits(digits) if luhn_valid(digits) else digits

    text = _DIGIT_RUN.sub(_mask, text)
    return _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)


def scrub_value(key: str, value: Any) -> Any:
    """Scrub one log field: masked when its key is sensitive or it holds a Secret."""
    if value is None:
        return None
    if key.lower() in SENSITIVE_KEYS or isinstance(value, Secret):
        return MASK
    if isinstance(value, int) and 10**11 <= abs(value) < 10**19:  # may be a PAN
        masked = scrub_text(str(value))
        return value if masked == str(value) else masked
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {str(k): scrub_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(key, item) for item in value]
    return value


def redact_event(_logger: object, _method: str, event: MutableMapping[str, Any]) -> Any:
    """structlog processor: apply :func:`scrub_value` to every field of the event."""
    for key in list(event):
        if key in _PROCESSOR_KEYS:
            continue
        if key == "event" and isinstance(event[key], str):
            event[key] = scrub_text(event[key])
        else:
            event[key] = scrub_value(key, event[key])
    return event
