"""The control center's pure parts: the session codec (expiry, tampering), where sign-in may
send a browser, how amounts and cards are shown, and the VGS form's request bodies."""

from __future__ import annotations

from dataclasses import replace

import pytest
from starlette.datastructures import FormData

from vaultswitch.connectors.vgs import DEFAULT_AUTH_BASE_URL
from vaultswitch.dashboard.connector_form import (
    LIVE_VAULT_BASE_URL,
    VgsForm,
    environment_of,
    form_field,
)
from vaultswitch.dashboard.formatting import amount, card_digits, expiry
from vaultswitch.dashboard.sessions import Session, SessionCodec
from vaultswitch.dashboard.web import safe_next

KEY = b"s" * 32
NOW = 1_900_000_000


def _session(**changes: object) -> Session:
    base = Session(
        csrf="token", kind="merchant", merchant_id="m1", key_id="k1", signed_in_at=NOW, seen_at=NOW
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_session_round_trips_sealed() -> None:
    codec = SessionCodec(KEY)
    value = codec.encode(_session())
    assert "m1" not in value  # encrypted, not just signed
    assert "token" not in value
    assert codec.decode(value, NOW + 10) == _session()
    assert codec.encode(_session()) != value  # a fresh nonce each time
    assert "token" not in repr(_session())


def test_sessions_expire_when_idle_and_after_their_lifetime() -> None:
    codec = SessionCodec(KEY, idle_seconds=60, lifetime_seconds=3600)
    assert codec.decode(codec.encode(_session()), NOW + 60) is not None
    assert codec.decode(codec.encode(_session()), NOW + 61) is None
    active = _session(seen_at=NOW + 3590)
    assert codec.decode(codec.encode(active), NOW + 3600) is not None
    assert codec.decode(codec.encode(active), NOW + 3601) is None
    assert codec.decode(codec.encode(_session(seen_at=NOW + 120)), NOW) is None  # future


@pytest.mark.parametrize(
    "value",
    ["", "x", "!!!!", "A" * 5000, SessionCodec(b"o" * 32).encode(_session())],
)
def test_forged_or_damaged_cookies_open_to_nothing(value: str) -> None:
    assert SessionCodec(KEY).decode(value, NOW) is None


def test_a_flipped_byte_opens_to_nothing() -> None:
    codec = SessionCodec(KEY)
    value = codec.encode(_session())
    middle = len(value) // 2
    flipped = value[:middle] + ("A" if value[middle] != "A" else "B") + value[middle + 1 :]
    assert codec.decode(flipped, NOW) is None


def test_admin_fingerprints_name_the_key_without_holding_it() -> None:
    codec = SessionCodec(KEY)
    check = codec.admin_check("adm_secret_key")
    assert "adm_secret_key" not in check
    assert check == codec.admin_check("adm_secret_key")
    assert check != codec.admin_check("adm_other_key")
    assert check != SessionCodec(b"o" * 32).admin_check("adm_secret_key")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/dashboard/payments?status=failed", "/dashboard/payments?status=failed"),
        (None, "/dashboard/connectors"),
        ("", "/dashboard/connectors"),
        ("https://evil.example/dashboard/", "/dashboard/connectors"),
        ("//evil.example/dashboard/", "/dashboard/connectors"),
        ("/dashboard\\@evil.example", "/dashboard/connectors"),
        ("/dashboard/\\evil", "/dashboard/connectors"),
        ("/dashboard/sign-in?next=/x", "/dashboard/connectors"),
        ("/v2/payments", "/dashboard/connectors"),
        ("/dashboard/" + "a" * 600, "/dashboard/connectors"),
    ],
)
def test_sign_in_sends_browsers_only_to_dashboard_pages(given: str | None, expected: str) -> None:
    assert safe_next(given) == expected


def test_amounts_cards_and_expiries_as_shown() -> None:
    assert amount(1050, "USD") == "10.50 USD"
    assert amount(5, "usd") == "0.05 USD"
    assert amount(123456789, "EUR") == "1,234,567.89 EUR"
    assert amount(500, "JPY") == "500 JPY"
    assert amount(1234, "KWD") == "1.234 KWD"
    assert amount(None, "USD") == ""
    assert card_digits("424242", "4242") == "424242 •••• 4242"
    assert card_digits("4242424242", "42424242") == "424242 •••• 4242"  # never more digits
    assert card_digits(None, "4242") == "•••••• •••• 4242"
    assert expiry("12", "2099") == "12/2099"
    assert expiry(None, None) == ""


def _form(**fields: str) -> VgsForm:
    return VgsForm.parse(FormData(list(fields.items())))


def test_the_vgs_form_becomes_the_api_body() -> None:
    custom = _form(
        api_key="ACabc",
        key1="s3cr3t-value",
        api_secret="tntabc12345",
        environment="custom",
        vault_base_url="http://127.0.0.1:8220/{vault_id}/",
        auth_base_url="http://127.0.0.1:8220/",
        proxy_url="https://u:p@proxy.example:8443",
    )
    assert custom.check() is None
    assert custom.details() == {
        "auth_type": "SignatureKey",
        "api_key": "ACabc",
        "key1": "s3cr3t-value",
        "api_secret": "tntabc12345",
    }
    assert custom.new_metadata() == {
        "vault_base_url": "http://127.0.0.1:8220/{vault_id}/",
        "auth_base_url": "http://127.0.0.1:8220/",
        "proxy_url": "https://u:p@proxy.example:8443",
    }
    shown = repr(custom) + repr(custom.shown())
    for secret in ("s3cr3t-value", "ACabc", "u:p@"):
        assert secret not in shown

    live = _form(key1="new", environment="live")
    assert live.details() == {"auth_type": "SignatureKey", "key1": "new"}  # others kept
    assert live.metadata_changes() == {
        "vault_base_url": LIVE_VAULT_BASE_URL,
        "auth_base_url": DEFAULT_AUTH_BASE_URL,
        "certificate": None,
    }
    sandbox = _form(environment="sandbox", remove_proxy_url="yes", vault_base_url="ignored")
    assert sandbox.new_metadata() is None
    assert sandbox.metadata_changes() == {
        "vault_base_url": None,
        "auth_base_url": None,
        "proxy_url": None,
        "certificate": None,
    }
    missing = _form(environment="custom", vault_base_url="http://127.0.0.1:8220/{vault_id}/")
    problem = missing.check()
    assert problem is not None
    assert problem.field == "auth_base_url"
    assert _form(environment="nonsense").environment == "sandbox"


def test_stored_urls_tell_the_environment_and_errors_find_their_field() -> None:
    assert environment_of(None) == "sandbox"
    assert environment_of({"vault_base_url": LIVE_VAULT_BASE_URL}) == "live"
    assert (
        environment_of({"vault_base_url": "https://{{vault_id}}.live.vault-api.verygoodvault.com/"})
        == "live"
    )
    assert environment_of({"vault_base_url": "http://127.0.0.1:8220/{vault_id}/"}) == "custom"
    assert form_field("connector_account_details.key1") == "key1"
    assert form_field("metadata.vault_base_url") == "vault_base_url"
    assert form_field("metadata.proxy_url") == "proxy_url"
    assert form_field("nothing.known") is None
