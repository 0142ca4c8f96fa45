"""Log scrubbing: sensitive keys, Secrets, card numbers and credentials in free text."""

from __future__ import annotations

import io
import json

import structlog

from vaultswitch.domain.redaction import redact_event, scrub_text, scrub_value
from vaultswitch.domain.secret import MASK, Secret
from vaultswitch.logs import configure_logging

PAN = "4111111111111111"


def test_scrub_text_masks_luhn_valid_digit_runs_only() -> None:
    assert scrub_text(f"card {PAN} declined") == "card 411111******1111 declined"
    assert scrub_text("order 1234567890123 shipped") == "order 1234567890123 shipped"
    assert scrub_text("id 12345") == "id 12345"


def test_scrub_text_masks_authorization_values() -> None:
    text = scrub_text("header Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.abc.def")
    assert "eyJhbGci" not in text
    assert "Bearer " + MASK in text


def test_sensitive_keys_and_secrets_are_masked_recursively() -> None:
    event = {
        "event": f"saw {PAN}",
        "client_secret": "s3cr3t-value",
        "nested": {"card_cvc": "123", "alias": "tok_sandbox_abc"},
        "items": [Secret("hidden")],
        "count": 3,
    }
    out = redact_event(None, "info", dict(event))
    assert out["client_secret"] == MASK
    assert out["nested"] == {"card_cvc": MASK, "alias": "tok_sandbox_abc"}
    assert out["items"] == [MASK]
    assert out["count"] == 3
    assert PAN not in out["event"]
    assert scrub_value("value", None) is None


def test_configured_logger_writes_scrubbed_json_lines() -> None:
    stream = io.StringIO()
    configure_logging("debug", stream=stream)
    try:
        log = structlog.get_logger("t")
        log.info("insert", card_number=PAN, detail=f"pan {PAN}", secret=Secret("xyz-secret"))
    finally:
        structlog.reset_defaults()
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    text = stream.getvalue()
    assert PAN not in text
    assert "xyz-secret" not in text
    assert line["event"] == "insert"
    assert line["level"] == "info"
    assert line["card_number"] == MASK


def test_numbers_under_sensitive_keys_are_masked_too() -> None:
    out = redact_event(None, "info", {"cvc": 123, "card_number": 4111111111111111, "n": 5})
    assert out == {"cvc": MASK, "card_number": MASK, "n": 5}


def test_a_pan_passed_as_a_number_is_masked() -> None:
    out = redact_event(None, "info", {"amount": 4111111111111111, "order": 123456789012})
    assert out["amount"] == "411111******1111"
    assert out["order"] == 123456789012  # not Luhn-valid: left alone
