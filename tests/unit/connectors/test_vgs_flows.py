"""VGS request builders and response parsers against the documented wire shapes."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import pytest

from vaultswitch.connectors.base import (
    AccessTokenGrant,
    CardVaultIds,
    Flow,
    HttpRequest,
    NetworkTokenVaultIds,
    SessionResult,
    SingleVaultId,
    VaultRequestData,
)
from vaultswitch.connectors.vgs import VgsConnector
from vaultswitch.domain.cards import Card, CardExpiry, CardNumber, NetworkToken
from vaultswitch.domain.errors import (
    AliasNotFound,
    InvalidRequest,
    MalformedVaultResponse,
    VaultswitchError,
)
from vaultswitch.domain.secret import Secret

from .vgs_fixtures import (
    ACCESS_TOKEN,
    AMEX,
    CLIENT_ID,
    CLIENT_SECRET,
    CREDS,
    CVC,
    NT,
    PAN,
    SANDBOX,
    TOKEN,
    VAULT_ID,
    record,
    response,
)

CARD = Card.parse(PAN, "03", "2030", CVC, "Jane Doe")
NETWORK_TOKEN = NetworkToken.parse(NT, "12", "2031", "AgAAAAAABk4DWZ4C28yUQAAAAAA=")


def _json(request: HttpRequest) -> Any:
    assert request.body is not None
    return json.loads(request.body)


def _created(*aliases: str, fmt: str = "UUID") -> dict[str, Any]:
    return {"data": [record(alias, fmt=fmt) for alias in aliases]}


# --- access token --------------------------------------------------------------------------


def test_access_token_request() -> None:
    call = VgsConnector().access_token(CREDS)
    (request,) = call.requests
    assert request.method == "POST"
    assert request.url == (
        "https://auth.verygoodsecurity.com/auth/realms/vgs/protocol/openid-connect/token"
    )
    assert request.flow is Flow.ACCESS_TOKEN
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.retry_safe is True
    assert request.uses_access_token is False
    assert request.body is not None
    assert parse_qs(request.body.decode(), strict_parsing=True) == {
        "grant_type": ["client_credentials"],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
    }
    assert CLIENT_SECRET not in repr(request)


def test_access_token_override_url() -> None:
    call = VgsConnector(auth_base_url="http://127.0.0.1:8200/").access_token(CREDS)
    assert call.requests[0].url == (
        "http://127.0.0.1:8200/auth/realms/vgs/protocol/openid-connect/token"
    )


def test_access_token_form_encodes_special_characters() -> None:
    creds = type(CREDS)(Secret("id with space"), Secret("p&ss=w+rd"), Secret(VAULT_ID))
    body = VgsConnector().access_token(creds).requests[0].body
    assert body is not None
    assert parse_qs(body.decode())["client_secret"] == ["p&ss=w+rd"]


@pytest.mark.parametrize(
    ("body", "token_type", "expires_in", "scope"),
    [
        (
            {
                "access_token": ACCESS_TOKEN,
                "expires_in": 300,
                "refresh_expires_in": 0,
                "token_type": "Bearer",
                "not-before-policy": 0,
                "scope": "aliases:read aliases:write",
            },
            "Bearer",
            300,
            "aliases:read aliases:write",
        ),
        ({"access_token": ACCESS_TOKEN, "expires_in": "60"}, "Bearer", 60, None),
        (
            {"access_token": ACCESS_TOKEN, "expires_in": 3600.0, "token_type": "bearer"},
            "bearer",
            3600,
            None,
        ),
    ],
)
def test_access_token_parse(
    body: dict[str, Any], token_type: str, expires_in: int, scope: str | None
) -> None:
    grant = VgsConnector().access_token(CREDS).parse([response(200, body)])
    assert isinstance(grant, AccessTokenGrant)
    assert grant.token.reveal() == ACCESS_TOKEN
    assert (grant.token_type, grant.expires_in, grant.scope) == (token_type, expires_in, scope)
    assert ACCESS_TOKEN not in repr(grant)


@pytest.mark.parametrize(
    "body",
    [
        {"token_type": "Bearer", "expires_in": 300},
        {"access_token": "", "expires_in": 300},
        {"access_token": ACCESS_TOKEN},
        {"access_token": ACCESS_TOKEN, "expires_in": 0},
        {"access_token": ACCESS_TOKEN, "expires_in": True},
        {"access_token": ACCESS_TOKEN, "expires_in": "soon"},
        [ACCESS_TOKEN],
        b"<html>login</html>",
    ],
)
def test_access_token_malformed(body: Any) -> None:
    with pytest.raises(MalformedVaultResponse) as info:
        VgsConnector().access_token(CREDS).parse([response(200, body)])
    assert ACCESS_TOKEN not in str(info.value)
    assert info.value.upstream_status == 200


def test_parse_checks_response_count() -> None:
    with pytest.raises(VaultswitchError, match="planned 1 request"):
        VgsConnector().access_token(CREDS).parse([])


# --- headers -------------------------------------------------------------------------------


def test_v2_calls_use_bearer_token() -> None:
    call = VgsConnector().insert(CREDS, TOKEN, VaultRequestData(CARD))
    (request,) = call.requests
    assert request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "application/json"
    assert request.uses_access_token is True
    assert ACCESS_TOKEN not in repr(request)


def test_v2_calls_need_a_token() -> None:
    with pytest.raises(InvalidRequest, match="access token"):
        VgsConnector().insert(CREDS, None, VaultRequestData(CARD))


def test_v1_calls_use_basic_auth_on_the_v1_host() -> None:
    connector = VgsConnector(api_version="v1", environment="live")
    call = connector.insert(CREDS, None, VaultRequestData(CARD))
    (request,) = call.requests
    assert request.url == "https://api.live.verygoodvault.com/aliases"
    expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert request.uses_access_token is False
    retrieve = connector.retrieve(
        CREDS, None, VaultRequestData(connector_vault_id=SingleVaultId("tok_1"))
    )
    assert retrieve.requests[0].url == "https://api.live.verygoodvault.com/aliases/tok_1"


@pytest.mark.parametrize(
    ("options", "base"),
    [
        ({}, SANDBOX),
        ({"environment": "live"}, f"https://{VAULT_ID}.live.vault-api.verygoodvault.com/"),
        (
            {"vault_base_url": "http://127.0.0.1:8200/{{vault_id}}/"},
            f"http://127.0.0.1:8200/{VAULT_ID}/",
        ),
        (
            {"vault_base_url": "http://{vault_id}.localhost:8200"},
            f"http://{VAULT_ID}.localhost:8200/",
        ),
        ({"api_version": "v1"}, "https://api.sandbox.verygoodvault.com/"),
        (
            {"api_version": "v1", "v1_base_url": "http://127.0.0.1:1/{vault_id}"},
            f"http://127.0.0.1:1/{VAULT_ID}/",
        ),
    ],
)
def test_vault_urls(options: dict[str, Any], base: str) -> None:
    connector = VgsConnector(**options)
    token = None if options.get("api_version") == "v1" else TOKEN
    assert (
        connector.insert(CREDS, token, VaultRequestData(CARD)).requests[0].url == base + "aliases"
    )


# --- insert, single token ------------------------------------------------------------------


def test_insert_single_card_body() -> None:
    call = VgsConnector().insert(CREDS, TOKEN, VaultRequestData(CARD))
    (request,) = call.requests
    assert request.method == "POST"
    assert request.url == SANDBOX + "aliases"
    assert request.flow is Flow.INSERT
    assert request.retry_safe is False
    body = _json(request)
    assert body == {
        "data": [
            {
                "value": body["data"][0]["value"],
                "classifiers": ["data"],
                "format": "UUID",
                "storage": "PERSISTENT",
            }
        ]
    }
    assert json.loads(body["data"][0]["value"]) == {
        "card_number": PAN,
        "card_exp_month": "03",
        "card_exp_year": "2030",
        "card_holder_name": "Jane Doe",
    }
    assert CVC not in request.body.decode()  # type: ignore[union-attr]
    result = call.parse([response(201, _created("tok_sandbox_card"))])
    assert result.vault_id == SingleVaultId("tok_sandbox_card")
    assert result.fingerprint_id == "tok_sandbox_card"


def test_insert_single_card_without_holder_and_with_config() -> None:
    connector = VgsConnector(token_format="RAW_UUID", token_storage="VOLATILE", classifier="pan")
    card = Card.parse(PAN, "3", "30")
    call = connector.insert(CREDS, TOKEN, VaultRequestData(card))
    item = _json(call.requests[0])["data"][0]
    assert (item["format"], item["storage"], item["classifiers"]) == (
        "RAW_UUID",
        "VOLATILE",
        ["pan"],
    )
    assert json.loads(item["value"]) == {
        "card_number": PAN,
        "card_exp_month": "03",
        "card_exp_year": "2030",
    }


def test_insert_single_card_number_only() -> None:
    call = VgsConnector().insert(CREDS, TOKEN, VaultRequestData(CardNumber(PAN)))  # type: ignore[arg-type]
    value = _json(call.requests[0])["data"][0]["value"]
    assert json.loads(value) == {"card_number": PAN}


def test_insert_single_network_token_drops_cryptogram() -> None:
    call = VgsConnector().insert(CREDS, TOKEN, VaultRequestData(NETWORK_TOKEN))
    raw = call.requests[0].body
    assert raw is not None
    assert b"AgAAAAAABk4DWZ4C28yUQAAAAAA" not in raw
    value = json.loads(_json(call.requests[0])["data"][0]["value"])
    assert value == {
        "network_token": NT,
        "network_token_exp_month": "12",
        "network_token_exp_year": "2031",
    }
    result = call.parse([response(200, _created("tok_nt"))])
    assert result.vault_id == SingleVaultId("tok_nt")


def test_insert_picks_alias_of_requested_format() -> None:
    rec = record("tok_sandbox_uuid")
    rec["aliases"] = [
        {"alias": "4111110824521111", "format": "FPE_SIX_T_FOUR"},
        {"alias": "tok_sandbox_uuid", "format": "UUID"},
    ]
    call = VgsConnector().insert(CREDS, TOKEN, VaultRequestData(CARD))
    assert call.parse([response(201, {"data": [rec]})]).vault_id == SingleVaultId(
        "tok_sandbox_uuid"
    )
    # requested format absent: first alias
    other = VgsConnector(token_format="RAW_UUID").insert(CREDS, TOKEN, VaultRequestData(CARD))
    assert other.parse([response(201, {"data": [rec]})]).vault_id == SingleVaultId(
        "4111110824521111"
    )


def test_insert_accepts_docs_value_key_for_alias() -> None:
    rec = record("ignored")
    rec["aliases"] = [{"value": "tok_from_docs", "format": "UUID"}]
    call = VgsConnector().insert(CREDS, TOKEN, VaultRequestData(CARD))
    assert call.parse([response(201, {"data": [rec]})]).vault_id == SingleVaultId("tok_from_docs")


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ({"data": []}, "0 records for 1 values"),
        (_created("a", "b"), "2 records for 1 values"),
        ({"data": [{"value": "x", "aliases": []}]}, "record 0 carries no alias"),
        ({"data": ["tok"]}, "record 0 carries no alias"),
        ({"data": {"a": 1}}, "no data list"),
        ({"nothing": True}, "no data list"),
        (b"", "no JSON"),
        (b"<html>", "no JSON"),
    ],
)
def test_insert_malformed_answers(body: Any, match: str) -> None:
    call = VgsConnector().insert(CREDS, TOKEN, VaultRequestData(CARD))
    with pytest.raises(MalformedVaultResponse, match=match) as info:
        call.parse([response(201, body, vgs_request_id="req-1")])
    assert info.value.trace_id == "req-1"
    assert PAN not in str(info.value)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (lambda: VaultRequestData(), "vaulting_data"),
        (lambda: VaultRequestData(PAN), "vaulting_data"),  # type: ignore[arg-type]
        (
            lambda: VaultRequestData(CardNumber(PAN), should_generate_multiple_tokens=True),
            "vaulting_data",
        ),
    ],
)
def test_insert_rejects_bad_data(data: Callable[[], VaultRequestData], field: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        VgsConnector().insert(CREDS, TOKEN, data())  # a str PAN is refused on construction
    assert info.value.field == field
    assert PAN not in str(info.value)


# --- insert, per-field tokens --------------------------------------------------------------


def test_insert_multi_card_body_and_result() -> None:
    call = VgsConnector().insert(
        CREDS, TOKEN, VaultRequestData(CARD, should_generate_multiple_tokens=True)
    )
    (request,) = call.requests
    assert _json(request) == {
        "data": [
            {
                "value": PAN,
                "classifiers": ["card_number"],
                "format": "UUID",
                "storage": "PERSISTENT",
            },
            {
                "value": "03",
                "classifiers": ["card_expiry_month"],
                "format": "UUID",
                "storage": "PERSISTENT",
            },
            {
                "value": "2030",
                "classifiers": ["card_expiry_year"],
                "format": "UUID",
                "storage": "PERSISTENT",
            },
            {"value": CVC, "classifiers": ["card_cvc"], "format": "UUID", "storage": "VOLATILE"},
            {
                "value": "Jane Doe",
                "classifiers": ["card_holder_name"],
                "format": "UUID",
                "storage": "PERSISTENT",
            },
        ]
    }
    result = call.parse([response(201, _created("t_pan", "t_mm", "t_yy", "t_cvc", "t_name"))])
    assert result.vault_id == CardVaultIds("t_pan", "t_mm", "t_yy", "t_cvc", "t_name")
    assert result.fingerprint_id == "t_pan"


def test_insert_multi_card_without_cvc_and_with_policy() -> None:
    connector = VgsConnector(
        field_policy={
            "card_number": {"format": "FPE_SIX_T_FOUR"},
            "card_exp_year": {"storage": "VOLATILE"},
        }
    )
    card = Card.parse(PAN, "03", "2030")
    call = connector.insert(
        CREDS, TOKEN, VaultRequestData(card, should_generate_multiple_tokens=True)
    )
    items = _json(call.requests[0])["data"]
    assert [i["classifiers"][0] for i in items] == [
        "card_number",
        "card_expiry_month",
        "card_expiry_year",
    ]
    assert items[0]["format"] == "FPE_SIX_T_FOUR"
    assert items[2]["storage"] == "VOLATILE"
    body = {
        "data": [
            record("4111110824521111", fmt="FPE_SIX_T_FOUR"),
            record("t_mm"),
            record("t_yy", storage="VOLATILE"),
        ]
    }
    result = call.parse([response(201, body)])
    assert result.vault_id == CardVaultIds("4111110824521111", "t_mm", "t_yy", None)


def test_insert_multi_network_token() -> None:
    call = VgsConnector().insert(
        CREDS, TOKEN, VaultRequestData(NETWORK_TOKEN, should_generate_multiple_tokens=True)
    )
    items = _json(call.requests[0])["data"]
    assert [(i["classifiers"], i["storage"]) for i in items] == [
        (["payment_token"], "PERSISTENT"),
        (["token_expiry_month"], "PERSISTENT"),
        (["token_expiry_year"], "PERSISTENT"),
        (["token_cryptogram"], "VOLATILE"),
    ]
    assert [i["value"] for i in items] == [NT, "12", "2031", "AgAAAAAABk4DWZ4C28yUQAAAAAA="]
    result = call.parse([response(201, _created("n1", "n2", "n3", "n4"))])
    assert result.vault_id == NetworkTokenVaultIds("n1", "n2", "n3", "n4")
    assert result.fingerprint_id == "n1"


def test_insert_many_batches_at_twenty_items() -> None:
    cards = [Card.parse(PAN, str(m), "2030", CVC) for m in range(1, 7)]
    items = [VaultRequestData(card, should_generate_multiple_tokens=True) for card in cards]
    call = VgsConnector().insert_many(CREDS, TOKEN, items)
    assert len(call.requests) == 2  # 6 cards x 4 fields = 24 items
    first, second = (_json(r)["data"] for r in call.requests)
    assert (len(first), len(second)) == (20, 4)
    assert all(r.retry_safe is False for r in call.requests)
    aliases = [f"a{i}" for i in range(24)]
    results = call.parse(
        [response(201, _created(*aliases[:20])), response(201, _created(*aliases[20:]))]
    )
    assert [r.vault_id for r in results] == [
        CardVaultIds(*aliases[i * 4 : i * 4 + 4]) for i in range(6)
    ]


def test_insert_many_mixes_modes_and_types() -> None:
    items = [
        VaultRequestData(CARD),
        VaultRequestData(NETWORK_TOKEN, should_generate_multiple_tokens=True),
        VaultRequestData(
            Card.parse(AMEX, "1", "2031", "1234"), should_generate_multiple_tokens=True
        ),
    ]
    call = VgsConnector(batch_size=5).insert_many(CREDS, TOKEN, items)
    assert [len(_json(r)["data"]) for r in call.requests] == [5, 4]
    results = call.parse(
        [
            response(201, _created("s", "n1", "n2", "n3", "n4")),
            response(201, _created("c1", "c2", "c3", "c4")),
        ]
    )
    assert results[0].vault_id == SingleVaultId("s")
    assert results[1].vault_id == NetworkTokenVaultIds("n1", "n2", "n3", "n4")
    assert results[2].vault_id == CardVaultIds("c1", "c2", "c3", "c4")


def test_insert_many_empty_and_error_field_names() -> None:
    call = VgsConnector().insert_many(CREDS, TOKEN, [])
    assert call.requests == ()
    assert call.parse([]) == []
    with pytest.raises(InvalidRequest) as info:
        VgsConnector().insert_many(CREDS, TOKEN, [VaultRequestData(CARD), VaultRequestData()])
    assert info.value.field == "items[1].vaulting_data"


def test_insert_many_fails_on_any_error_response() -> None:
    items = [VaultRequestData(CARD, should_generate_multiple_tokens=True)] * 6
    call = VgsConnector().insert_many(CREDS, TOKEN, items)
    with pytest.raises(VaultswitchError) as info:
        call.parse([response(201, _created(*"x" * 20)), response(503, b"")])
    assert info.value.upstream_status == 503


# --- retrieve ------------------------------------------------------------------------------


def _single_retrieve(value: str, **options: Any) -> Any:
    call = VgsConnector(**options).retrieve(
        CREDS, TOKEN, VaultRequestData(connector_vault_id=SingleVaultId("tok_sandbox_1"))
    )
    return call.parse([response(200, {"data": [record("tok_sandbox_1", value=value)]})]).vault_data


def test_retrieve_single_request() -> None:
    call = VgsConnector().retrieve(
        CREDS, TOKEN, VaultRequestData(connector_vault_id=SingleVaultId("tok_sandbox_1"))
    )
    (request,) = call.requests
    assert (request.method, request.url) == ("GET", SANDBOX + "aliases/tok_sandbox_1")
    assert request.body is None
    assert "Content-Type" not in request.headers
    assert request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert request.retry_safe is True
    assert request.flow is Flow.RETRIEVE


def test_retrieve_single_volatile_and_quoting() -> None:
    call = VgsConnector(token_storage="VOLATILE").retrieve(
        CREDS, TOKEN, VaultRequestData(connector_vault_id=SingleVaultId("a/b c"))
    )
    assert call.requests[0].url == SANDBOX + "aliases/a%2Fb%20c?storage=VOLATILE"


def test_retrieve_single_card_round_trip() -> None:
    insert = VgsConnector().insert(CREDS, TOKEN, VaultRequestData(CARD))
    value = _json(insert.requests[0])["data"][0]["value"]
    card = _single_retrieve(value)
    assert isinstance(card, Card)
    assert card == CARD.without_cvc()
    assert card.holder_name == "Jane Doe"


def test_retrieve_single_hyperswitch_card_detail() -> None:
    value = json.dumps(
        {
            "card_number": "4242 4242 4242 4242",
            "card_exp_month": "1",
            "card_exp_year": "31",
            "card_cvc": "999",
            "card_holder_name": None,
            "nick_name": None,
            "card_issuing_country": None,
            "card_network": "Visa",
        }
    )
    card = _single_retrieve(value)
    assert card == Card(CardNumber("4242424242424242"), CardExpiry(1, 2031))
    assert card.cvc is None  # a persisted CVC is never handed back


def test_retrieve_single_network_token_and_numbers() -> None:
    value = json.dumps(
        {"network_token": NT, "network_token_exp_month": "12", "network_token_exp_year": "2031"}
    )
    assert _single_retrieve(value) == NetworkToken(CardNumber(NT), CardExpiry(12, 2031))
    assert _single_retrieve(json.dumps({"card_number": PAN})) == CardNumber(PAN)
    assert _single_retrieve(PAN) == CardNumber(PAN)


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("not json", "not card or network token JSON"),
        ("[1, 2]", "not card or network token JSON"),
        ('{"iban": "DE89"}', "neither card_number nor network_token"),
        (
            json.dumps(
                {"card_number": "4111111111111112", "card_exp_month": "1", "card_exp_year": "30"}
            ),
            "Luhn",
        ),
        (
            json.dumps({"card_number": PAN, "card_exp_month": "13", "card_exp_year": "30"}),
            "card_exp_month",
        ),
        (json.dumps({"card_number": PAN, "card_exp_month": "12"}), "card_exp_year"),
        (
            json.dumps({"card_number": int(PAN), "card_exp_month": "12", "card_exp_year": "30"}),
            "string",
        ),
        (
            json.dumps({"network_token": NT, "network_token_exp_month": "1"}),
            "network_token_exp_year",
        ),
        ("4111111111111112", "Luhn"),
    ],
)
def test_retrieve_single_bad_vault_values(value: str, match: str) -> None:
    with pytest.raises(MalformedVaultResponse, match=match) as info:
        _single_retrieve(value)
    assert "tok_sandbox_1" in info.value.message
    for secret in (PAN, "4111111111111112", NT):
        assert secret not in str(info.value)
    assert info.value.__cause__ is None


@pytest.mark.parametrize(
    "body",
    [{"data": []}, {"data": [{"value": 5}]}, {"data": [{}]}, {}, [1]],
)
def test_retrieve_single_malformed(body: Any) -> None:
    call = VgsConnector().retrieve(
        CREDS, TOKEN, VaultRequestData(connector_vault_id=SingleVaultId("tok_1"))
    )
    with pytest.raises(MalformedVaultResponse):
        call.parse([response(200, body)])


def test_retrieve_single_tolerates_object_data() -> None:
    call = VgsConnector().retrieve(
        CREDS, TOKEN, VaultRequestData(connector_vault_id=SingleVaultId("tok_1"))
    )
    assert call.parse(
        [response(200, {"data": record("tok_1", value=PAN)})]
    ).vault_data == CardNumber(PAN)


CARD_IDS = CardVaultIds("t_pan", "t_mm", "t_yy", "t_cvc")


def test_retrieve_multi_groups_by_storage() -> None:
    call = VgsConnector().retrieve(CREDS, TOKEN, VaultRequestData(connector_vault_id=CARD_IDS))
    assert [(r.method, r.url) for r in call.requests] == [
        ("GET", SANDBOX + "aliases?aliases=t_pan,t_mm,t_yy"),
        ("GET", SANDBOX + "aliases?aliases=t_cvc&storage=VOLATILE"),
    ]
    persistent = {
        "data": {
            "t_pan": record("t_pan", PAN),
            "t_mm": record("t_mm", "03"),
            "t_yy": record("t_yy", "2030"),
        }
    }
    volatile = {"data": {"t_cvc": record("t_cvc", CVC, storage="VOLATILE")}}
    card = call.parse([response(200, persistent), response(200, volatile)]).vault_data
    assert card == Card.parse(PAN, "03", "2030", CVC)
    assert isinstance(card, Card)
    assert card.cvc == Secret(CVC)


def test_retrieve_multi_without_cvc_is_one_call_and_dedups() -> None:
    ids = CardVaultIds("t_pan", "t_same", "t_same")
    call = VgsConnector().retrieve(CREDS, TOKEN, VaultRequestData(connector_vault_id=ids))
    assert [r.url for r in call.requests] == [SANDBOX + "aliases?aliases=t_pan,t_same"]
    body = {"data": {"t_pan": record("t_pan", PAN), "t_same": record("t_same", "12")}}
    card = call.parse([response(200, body)]).vault_data
    assert card == Card.parse(PAN, "12", "12")


def test_retrieve_multi_list_shaped_answer() -> None:
    ids = CardVaultIds("t_pan", "t_mm", "t_yy")
    call = VgsConnector().retrieve(CREDS, TOKEN, VaultRequestData(connector_vault_id=ids))
    body = {"data": [record("t_pan", PAN), record("t_mm", "03"), record("t_yy", "2030")]}
    assert call.parse([response(200, body)]).vault_data == Card.parse(PAN, "03", "2030")


def test_retrieve_multi_network_token() -> None:
    ids = NetworkTokenVaultIds("n1", "n2", "n3", "n4")
    call = VgsConnector().retrieve(CREDS, TOKEN, VaultRequestData(connector_vault_id=ids))
    assert len(call.requests) == 2
    data = {"data": {"n1": record("n1", NT), "n2": record("n2", "12"), "n3": record("n3", "2031")}}
    crypt = {"data": {"n4": record("n4", "CRYPTO=")}}
    token = call.parse([response(200, data), response(200, crypt)]).vault_data
    assert token == NetworkToken.parse(NT, "12", "2031", "CRYPTO=")


def test_retrieve_multi_missing_alias_is_alias_not_found() -> None:
    call = VgsConnector().retrieve(CREDS, TOKEN, VaultRequestData(connector_vault_id=CARD_IDS))
    persistent = {"data": {"t_pan": record("t_pan", PAN), "t_mm": record("t_mm", "03")}}
    with pytest.raises(AliasNotFound, match="t_yy"):
        call.parse([response(200, persistent), response(200, {"data": {}})])


def test_retrieve_multi_invalid_rebuilt_card() -> None:
    call = VgsConnector().retrieve(CREDS, TOKEN, VaultRequestData(connector_vault_id=CARD_IDS))
    persistent = {
        "data": {
            "t_pan": record("t_pan", AMEX),
            "t_mm": record("t_mm", "03"),
            "t_yy": record("t_yy", "2030"),
        }
    }
    volatile = {"data": {"t_cvc": record("t_cvc", CVC)}}
    with pytest.raises(MalformedVaultResponse, match="card_cvc") as info:
        call.parse([response(200, persistent), response(200, volatile)])
    assert AMEX not in str(info.value)
    assert CVC not in info.value.message


@pytest.mark.parametrize(
    "body", [{"data": "x"}, {"data": {"t_pan": {"value": 1}, "t_mm": {}, "t_yy": {}}}]
)
def test_retrieve_multi_malformed(body: Any) -> None:
    ids = CardVaultIds("t_pan", "t_mm", "t_yy")
    call = VgsConnector().retrieve(CREDS, TOKEN, VaultRequestData(connector_vault_id=ids))
    with pytest.raises(MalformedVaultResponse):
        call.parse([response(200, body)])


@pytest.mark.parametrize(
    "vault_id", [None, "tok_1", SingleVaultId(""), CardVaultIds("a", " ", "c")]
)
def test_retrieve_and_delete_need_a_vault_id(vault_id: Any) -> None:
    for flow in (VgsConnector().retrieve, VgsConnector().delete):
        with pytest.raises(InvalidRequest) as info:
            flow(CREDS, TOKEN, VaultRequestData(connector_vault_id=vault_id))
        assert info.value.field == "connector_vault_id"


# --- delete --------------------------------------------------------------------------------


def test_delete_single() -> None:
    call = VgsConnector().delete(
        CREDS, TOKEN, VaultRequestData(connector_vault_id=SingleVaultId("tok_1"))
    )
    (request,) = call.requests
    assert (request.method, request.url, request.body) == (
        "DELETE",
        SANDBOX + "aliases/tok_1",
        None,
    )
    assert request.retry_safe is True
    assert request.flow is Flow.DELETE
    assert call.parse([response(204)]).deleted == ("tok_1",)
    volatile = VgsConnector(token_storage="VOLATILE").delete(
        CREDS, TOKEN, VaultRequestData(connector_vault_id=SingleVaultId("tok_1"))
    )
    assert volatile.requests[0].url.endswith("aliases/tok_1?storage=VOLATILE")


def test_delete_single_404_is_alias_not_found() -> None:
    call = VgsConnector().delete(
        CREDS, TOKEN, VaultRequestData(connector_vault_id=SingleVaultId("tok_1"))
    )
    body = {"errors": [{"status": 404, "code": "ALIAS_NOT_FOUND", "detail": "Alias not found"}]}
    with pytest.raises(AliasNotFound, match="tok_1") as info:
        call.parse([response(404, body)])
    assert info.value.upstream_code == "ALIAS_NOT_FOUND"


def test_delete_multi_batches_by_storage_keeping_expiry_aliases() -> None:
    call = VgsConnector().delete(CREDS, TOKEN, VaultRequestData(connector_vault_id=CARD_IDS))
    assert [(r.method, r.url) for r in call.requests] == [
        ("POST", SANDBOX + "aliases/delete"),
        ("POST", SANDBOX + "aliases/delete"),
    ]
    assert [_json(r) for r in call.requests] == [
        {"data": ["t_pan"], "storage": "PERSISTENT"},
        {"data": ["t_cvc"], "storage": "VOLATILE"},
    ]
    assert call.requests[0].headers["Content-Type"] == "application/json"
    assert call.parse([response(204), response(200)]).deleted == ("t_pan", "t_cvc")


def test_delete_multi_with_expiry_aliases() -> None:
    connector = VgsConnector(delete_expiry_aliases=True)
    call = connector.delete(CREDS, TOKEN, VaultRequestData(connector_vault_id=CARD_IDS))
    assert [_json(r) for r in call.requests] == [
        {"data": ["t_pan", "t_mm", "t_yy"], "storage": "PERSISTENT"},
        {"data": ["t_cvc"], "storage": "VOLATILE"},
    ]
    with pytest.raises(AliasNotFound, match="t_cvc"):
        call.parse([response(204), response(404, {"errors": [{"status": 404, "detail": "nope"}]})])


def test_delete_multi_chunks_at_batch_size() -> None:
    connector = VgsConnector(batch_size=2, delete_expiry_aliases=True)
    ids = NetworkTokenVaultIds("n1", "n2", "n3")
    call = connector.delete(CREDS, TOKEN, VaultRequestData(connector_vault_id=ids))
    assert [_json(r)["data"] for r in call.requests] == [["n1", "n2"], ["n3"]]


# --- session -------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["sandbox", "live"])
def test_create_session_needs_no_request(env: str) -> None:
    call = VgsConnector(environment=env).create_session(CREDS, VaultRequestData())
    assert call.requests == ()
    result = call.parse([])
    assert isinstance(result, SessionResult)
    assert dict(result.details) == {"external_vault_id": VAULT_ID, "sdk_env": env}
