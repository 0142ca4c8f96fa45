"""VGS error bodies → typed errors, with trace ids and without leaking secrets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from vaultswitch.connectors.base import (
    CardVaultIds,
    HttpResponse,
    SingleVaultId,
    VaultRequestData,
)
from vaultswitch.connectors.vgs import VgsConnector
from vaultswitch.connectors.vgs_wire import clean_text, retry_after_seconds
from vaultswitch.domain.cards import Card
from vaultswitch.domain.errors import (
    AliasNotFound,
    InvalidRequest,
    MalformedVaultResponse,
    PermissionDenied,
    RateLimited,
    VaultAuthenticationFailed,
    VaultNotFound,
    VaultswitchError,
    VaultUnavailable,
)
from vaultswitch.domain.secret import Secret

from .vgs_fixtures import (
    ACCESS_TOKEN,
    CLIENT_SECRET,
    CREDS,
    CVC,
    PAN,
    TOKEN,
    VAULT_ID,
    response,
    vgs_error,
)

CARD = Card.parse(PAN, "03", "2030", CVC)


def _insert_error(resp: HttpResponse, **options: Any) -> VaultswitchError:
    call = VgsConnector(**options).insert(
        CREDS, None if options.get("api_version") == "v1" else TOKEN, VaultRequestData(CARD)
    )
    with pytest.raises(VaultswitchError) as info:
        call.parse([resp])
    return info.value


def _retrieve_error(resp: HttpResponse) -> VaultswitchError:
    call = VgsConnector().retrieve(
        CREDS, TOKEN, VaultRequestData(connector_vault_id=SingleVaultId("tok_sandbox_gone"))
    )
    with pytest.raises(VaultswitchError) as info:
        call.parse([resp])
    return info.value


def _token_error(resp: HttpResponse) -> VaultswitchError:
    with pytest.raises(VaultswitchError) as info:
        VgsConnector().access_token(CREDS).parse([resp])
    return info.value


def _assert_no_secrets(error: VaultswitchError) -> None:
    for shown in (str(error), repr(error), error.message, error.hint, json.dumps(error.to_dict())):
        for secret in (PAN, CVC + '"', CLIENT_SECRET, ACCESS_TOKEN):
            assert secret not in shown


# --- token endpoint ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (
            401,
            {
                "error": "invalid_client",
                "error_description": "Invalid client or Invalid client credentials",
            },
            "invalid_client",
        ),
        (
            400,
            {"error": "unauthorized_client", "error_description": "Invalid client secret"},
            "unauthorized_client",
        ),
        (400, {"error": "invalid_grant", "error_description": "Account disabled"}, "invalid_grant"),
        (401, b"", None),
    ],
)
def test_token_credentials_rejected(status: int, body: Any, code: str | None) -> None:
    error = _token_error(response(status, body))
    assert isinstance(error, VaultAuthenticationFailed)
    assert error.upstream_status == status
    assert error.upstream_code == code
    assert error.status == 424
    if code:
        assert code in error.message
    _assert_no_secrets(error)


def test_token_error_never_echoes_the_client_secret() -> None:
    body = {
        "error": "invalid_client",
        "error_description": f"bad secret {CLIENT_SECRET} for client",
    }
    error = _token_error(response(401, body))
    assert "bad secret [redacted] for client" in error.message
    _assert_no_secrets(error)


@pytest.mark.parametrize(
    ("status", "body", "error_type"),
    [
        (400, {"error": "unsupported_grant_type", "error_description": "nope"}, InvalidRequest),
        (403, {"error": "access_denied"}, PermissionDenied),
        (404, b"<html>Not Found</html>", MalformedVaultResponse),
        (429, b"", RateLimited),
        (500, b"oops", VaultUnavailable),
        (502, b"", VaultUnavailable),
        (302, b"", MalformedVaultResponse),
    ],
)
def test_token_other_errors(status: int, body: Any, error_type: type[VaultswitchError]) -> None:
    error = _token_error(response(status, body))
    assert type(error) is error_type
    assert error.upstream_status == status


def test_token_404_hint_names_auth_base_url() -> None:
    assert "auth_base_url" in _token_error(response(404, b"")).hint


# --- vault API -----------------------------------------------------------------------------


def test_401_from_vault_api_v2_is_vault_not_found() -> None:
    body = vgs_error(401, "Unauthorized", code="UNAUTHORIZED", trace_id="trace-abc")
    error = _insert_error(response(401, body))
    assert isinstance(error, VaultNotFound)
    assert VAULT_ID in error.message
    assert "sandbox" in error.message
    assert "assigned" in error.message
    assert "environment-specific" in error.hint
    assert error.trace_id == "trace-abc"
    assert (error.upstream_status, error.upstream_code) == (401, "UNAUTHORIZED")


def test_401_from_vault_api_v1_is_authentication_failed() -> None:
    error = _insert_error(response(401, vgs_error(401, "Unauthorized")), api_version="v1")
    assert isinstance(error, VaultAuthenticationFailed)
    assert "access credentials" in error.hint


def test_403_is_permission_denied_naming_the_scope() -> None:
    body = vgs_error(403, "Reveal is not enabled for this vault", code="REVEAL_DISABLED")
    error = _retrieve_error(response(403, body, vgs_request_id="hdr-1"))
    assert isinstance(error, PermissionDenied)
    assert "aliases:read" in error.message
    assert "Reveal is not enabled" in error.message
    assert error.trace_id == "hdr-1"
    insert = _insert_error(response(403, b""))
    assert isinstance(insert, PermissionDenied)
    assert "aliases:write" in insert.message
    v1 = _insert_error(response(403, b""), api_version="v1")
    assert isinstance(v1, PermissionDenied)
    assert "scope" not in v1.message


def test_404_on_alias_is_alias_not_found() -> None:
    body = vgs_error(404, "Alias not found", code="ALIAS_NOT_FOUND", trace_id="t-1")
    error = _retrieve_error(response(404, body))
    assert isinstance(error, AliasNotFound)
    assert "tok_sandbox_gone" in error.message
    assert error.field == "connector_vault_id"
    assert error.trace_id == "t-1"
    assert error.status == 404


@pytest.mark.parametrize(
    "resp",
    [
        response(404, vgs_error(404, "Vault not found", code="VAULT_NOT_FOUND")),
        response(404, b"<html><body>404 Not Found</body></html>"),
        response(404, b""),
    ],
)
def test_404_for_unknown_vault(resp: HttpResponse) -> None:
    assert isinstance(_retrieve_error(resp), VaultNotFound)


def test_404_on_create_is_vault_not_found() -> None:
    assert isinstance(_insert_error(response(404, vgs_error(404, "Not found"))), VaultNotFound)


def test_404_on_reveal_multiple_names_all_aliases() -> None:
    call = VgsConnector().retrieve(
        CREDS, TOKEN, VaultRequestData(connector_vault_id=CardVaultIds("p", "m", "y", "c"))
    )
    with pytest.raises(AliasNotFound) as info:
        call.parse([response(200, {"data": {}}), response(404, vgs_error(404, "gone"))])
    assert "alias c" in info.value.message
    with pytest.raises(AliasNotFound, match="p, m, y"):
        call.parse([response(404, vgs_error(404, "gone")), response(200, {"data": {}})])


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry_after": "30"}, 30.0),
        ({"retry_after": "1.5"}, 1.5),
        ({"retry_after": "-1"}, None),
        ({"retry_after": "nan"}, None),
        ({}, None),
        (
            {
                "retry_after": "Wed, 21 Oct 2015 07:28:30 GMT",
                "date": "Wed, 21 Oct 2015 07:28:00 GMT",
            },
            30.0,
        ),
        (
            {
                "retry_after": "Wed, 21 Oct 2015 07:28:00 GMT",
                "date": "Wed, 21 Oct 2015 07:29:00 GMT",
            },
            0.0,
        ),
        ({"retry_after": "Wed, 21 Oct 2015 07:28:30 GMT"}, None),
        ({"retry_after": "garbage", "date": "also garbage"}, None),
    ],
)
def test_429_is_rate_limited_with_retry_after(
    headers: dict[str, str], expected: float | None
) -> None:
    body = vgs_error(429, "Too many requests", code="RATE_LIMITED")
    error = _insert_error(response(429, body, **headers))
    assert isinstance(error, RateLimited)
    assert error.retry_after == expected
    assert error.status == 429


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_unavailable(status: int) -> None:
    error = _retrieve_error(response(status, b"<html>Bad gateway</html>"))
    assert isinstance(error, VaultUnavailable)
    assert error.upstream_status == status


def test_400_keeps_upstream_detail_truncated() -> None:
    body = vgs_error(400, "Too many values (limit: 20)")
    error = _insert_error(response(400, body))
    assert isinstance(error, InvalidRequest)
    assert "Too many values (limit: 20)" in error.message
    assert error.upstream_code == "Bad request"
    long = vgs_error(400, "x" * 500, code="INVALID_FORMAT")
    error = _insert_error(response(400, long))
    assert len(error.message) < 320
    assert error.message.endswith("…")
    assert error.upstream_code == "INVALID_FORMAT"


def test_upstream_text_is_scrubbed_of_card_numbers_and_tokens() -> None:
    detail = f"value {PAN} / 4111 1111 1111 1111 rejected; token {ACCESS_TOKEN}\x00\nend"
    error = _insert_error(response(400, vgs_error(400, detail, code="INVALID_VALUE")))
    assert "value [redacted] / [redacted] rejected; token [redacted] end" in error.message
    _assert_no_secrets(error)


@pytest.mark.parametrize(
    ("status", "body"), [(409, vgs_error(409, "Conflict")), (301, b""), (200, b"{}")]
)
def test_other_statuses_are_malformed(status: int, body: Any) -> None:
    resp = response(status, body)
    call = VgsConnector().delete(
        CREDS, TOKEN, VaultRequestData(connector_vault_id=SingleVaultId("tok_1"))
    )
    if status == 200:
        assert call.parse([resp]).deleted == ("tok_1",)
        return
    with pytest.raises(MalformedVaultResponse) as info:
        call.parse([resp])
    assert info.value.upstream_status == status


def test_error_body_shapes() -> None:
    hyperswitch_shape = {
        "errors": [{"status": 400, "code": "INVALID_REQUEST", "detail": None}],
        "trace_id": "tr-9",
    }
    error = _insert_error(response(400, hyperswitch_shape, vgs_request_id="hdr"))
    assert error.upstream_code == "INVALID_REQUEST"
    assert error.trace_id == "tr-9"  # body wins over header
    generic = _insert_error(response(400, {"message": "Bad things"}))
    assert "Bad things" in generic.message
    weird = _insert_error(response(400, {"errors": []}))
    assert isinstance(weird, InvalidRequest)
    assert weird.upstream_code is None


def test_every_error_keeps_status_and_trace() -> None:
    for status in (400, 401, 403, 404, 409, 429, 500):
        error = _retrieve_error(response(status, b"", vgs_request_id=f"id-{status}"))
        assert error.upstream_status == status
        assert error.trace_id == f"id-{status}"
        _assert_no_secrets(error)


def test_clean_text_helpers() -> None:
    assert clean_text("a\x00b\tc", limit=200) == "a b c"
    assert clean_text("abc", secrets=[Secret("ab")]) == "abc"  # too short to scrub safely
    assert clean_text("x" * 10, limit=5) == "xxxx…"
    assert retry_after_seconds(HttpResponse(429, {"retry-after": " 5 "})) == 5.0
