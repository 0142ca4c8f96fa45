"""A plain str where the connector interface expects a Secret is wrapped on construction;
anything else is a typed error naming the field (never a bare AttributeError)."""

from __future__ import annotations

from typing import Any

import pytest

from vaultswitch.connectors.base import (
    AccessToken,
    AccessTokenGrant,
    BodyKey,
    HeaderKey,
    SignatureKey,
    SingleVaultId,
    VaultRequestData,
    parse_credentials,
)
from vaultswitch.connectors.vgs import VgsConnector
from vaultswitch.domain.cards import Card
from vaultswitch.domain.errors import InvalidCredentials, InvalidRequest, VaultswitchError
from vaultswitch.domain.secret import Secret

from .vgs_fixtures import ACCESS_TOKEN, CLIENT_ID, CLIENT_SECRET, PAN, VAULT_ID


def test_signature_key_wraps_plain_strings_in_secrets() -> None:
    creds = SignatureKey(CLIENT_ID, CLIENT_SECRET, VAULT_ID)  # type: ignore[arg-type]
    assert all(type(v) is Secret for v in (creds.api_key, creds.key1, creds.api_secret))
    assert creds == SignatureKey(Secret(CLIENT_ID), Secret(CLIENT_SECRET), Secret(VAULT_ID))
    assert CLIENT_SECRET not in repr(creds)
    assert BodyKey("a", "b").key1 == Secret("b")  # type: ignore[arg-type]
    assert HeaderKey("a").api_key == Secret("a")  # type: ignore[arg-type]


def test_every_vgs_flow_accepts_plain_string_credentials() -> None:
    vgs = VgsConnector()
    creds = SignatureKey(CLIENT_ID, CLIENT_SECRET, VAULT_ID)  # type: ignore[arg-type]
    token = AccessToken(ACCESS_TOKEN, "Bearer", 1_700_000_000.0)  # type: ignore[arg-type]
    lookup = VaultRequestData(connector_vault_id=SingleVaultId("tok_1"))
    assert vgs.access_token(creds).requests[0].body is not None
    insert = vgs.insert(creds, token, VaultRequestData(Card.parse(PAN, "12", "2030")))
    assert insert.requests[0].headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert vgs.retrieve(creds, token, lookup).requests
    assert vgs.delete(creds, token, lookup).requests
    assert vgs.create_session(creds, lookup).parse([]).details["external_vault_id"] == VAULT_ID
    assert len(vgs.token_cache_key(creds)) == 64


@pytest.mark.parametrize("bad", [None, 12345, b"client-secret", ["x"]])
@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda v: SignatureKey(v, Secret("s"), Secret(VAULT_ID)), "api_key"),
        (lambda v: SignatureKey(Secret("i"), v, Secret(VAULT_ID)), "key1"),
        (lambda v: SignatureKey(Secret("i"), Secret("s"), v), "api_secret"),
        (lambda v: BodyKey(Secret("i"), v), "key1"),
        (lambda v: HeaderKey(v), "api_key"),
    ],
)
def test_a_credential_that_is_not_a_string_names_its_field(
    bad: Any, build: Any, field: str
) -> None:
    with pytest.raises(InvalidCredentials) as info:
        build(bad)
    assert info.value.field == f"connector_account_details.{field}"
    assert "str or Secret" in info.value.message
    assert "SignatureKey(" in info.value.hint
    assert "client-secret" not in str(info.value)


def test_access_tokens_wrap_plain_strings() -> None:
    grant = AccessTokenGrant(ACCESS_TOKEN, "Bearer", 300)  # type: ignore[arg-type]
    assert type(grant.token) is Secret
    assert ACCESS_TOKEN not in repr(grant)
    with pytest.raises(InvalidRequest) as info:
        AccessToken(None, "Bearer", 1.0)  # type: ignore[arg-type]
    assert info.value.field == "access_token"


@pytest.mark.parametrize(
    ("kwargs", "field", "hint"),
    [
        ({"vaulting_data": PAN}, "vaulting_data", "Card.parse("),
        ({"vaulting_data": {"card_number": PAN}}, "vaulting_data", "Card.parse("),
        ({"connector_vault_id": "tok_1"}, "connector_vault_id", "SingleVaultId(alias)"),
        ({"connector_customer_id": 7}, "connector_customer_id", None),
        ({"should_generate_multiple_tokens": "yes"}, "should_generate_multiple_tokens", None),
    ],
)
def test_vault_request_data_names_a_wrongly_typed_field(
    kwargs: dict[str, Any], field: str, hint: str | None
) -> None:
    with pytest.raises(InvalidRequest) as info:
        VaultRequestData(**kwargs)
    assert info.value.field == field
    assert PAN not in str(info.value)
    assert PAN not in info.value.hint
    if hint is not None:
        assert hint in info.value.hint


@pytest.mark.parametrize("bad", [{"auth_type": "SignatureKey"}, "client-id", None])
def test_a_flow_given_something_else_than_credentials_says_how_to_build_them(bad: Any) -> None:
    with pytest.raises(InvalidCredentials) as info:
        VgsConnector().access_token(bad)
    assert info.value.field == "connector_account_details"
    assert "parse_credentials" in info.value.hint


def test_parse_credentials_refuses_a_non_mapping() -> None:
    with pytest.raises(InvalidCredentials) as info:
        parse_credentials("SignatureKey")  # type: ignore[arg-type]
    assert info.value.field == "connector_account_details"


def test_no_constructor_raises_a_bare_attribute_error() -> None:
    for build in (
        lambda: SignatureKey(1, 2, 3),  # type: ignore[arg-type]
        lambda: VaultRequestData(vaulting_data=object()),  # type: ignore[arg-type]
        lambda: VgsConnector().insert(
            SignatureKey(CLIENT_ID, CLIENT_SECRET, VAULT_ID),  # type: ignore[arg-type]
            AccessToken(ACCESS_TOKEN, "Bearer", 1.0),  # type: ignore[arg-type]
            Card.parse(PAN, "12", "2030"),  # type: ignore[arg-type]
        ),
    ):
        with pytest.raises(VaultswitchError):
            build()


def test_connector_flows_name_the_argument_that_is_not_request_data() -> None:
    vgs = VgsConnector()
    creds = SignatureKey(CLIENT_ID, CLIENT_SECRET, VAULT_ID)  # type: ignore[arg-type]
    token = AccessToken(ACCESS_TOKEN, "Bearer", 1.0)  # type: ignore[arg-type]
    card: Any = Card.parse(PAN, "12", "2030")
    for flow in (vgs.insert, vgs.retrieve, vgs.delete):
        with pytest.raises(InvalidRequest) as info:
            flow(creds, token, card)
        assert info.value.field == "data"
        assert "VaultRequestData(" in info.value.hint
    with pytest.raises(InvalidRequest) as info:
        vgs.insert_many(creds, token, [VaultRequestData(card), card])
    assert info.value.field == "items[1]"
    with pytest.raises(InvalidRequest) as info:
        vgs.insert_many(creds, token, VaultRequestData(card))  # type: ignore[arg-type]
    assert info.value.field == "items"


def test_a_bare_bearer_token_is_accepted_where_an_access_token_goes() -> None:
    vgs = VgsConnector()
    creds = SignatureKey(CLIENT_ID, CLIENT_SECRET, VAULT_ID)  # type: ignore[arg-type]
    lookup = VaultRequestData(connector_vault_id=SingleVaultId("tok_1"))
    bare: Any = ACCESS_TOKEN
    for flow in (vgs.retrieve, vgs.delete):
        (request,) = flow(creds, bare, lookup).requests
        assert request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    insert = vgs.insert(creds, Secret(ACCESS_TOKEN), VaultRequestData(Card.parse(PAN, "1", "31")))  # type: ignore[arg-type]
    assert insert.requests[0].headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    with pytest.raises(InvalidRequest) as info:
        vgs.retrieve(creds, 42, lookup)  # type: ignore[arg-type]
    assert info.value.field == "access_token"
