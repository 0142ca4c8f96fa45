"""One card field as an alias of its own (the CVC kept next to a single-token card)."""

from __future__ import annotations

import json

import pytest

from vaultswitch.connectors.base import Flow, StorageType
from vaultswitch.connectors.vgs import VgsConnector
from vaultswitch.domain.errors import AliasNotFound, InvalidRequest
from vaultswitch.domain.secret import Secret

from .vgs_fixtures import CREDS, CVC, SANDBOX, TOKEN, record, response, vgs_error

CVC_ALIAS = "tok_sandbox_cvc1234567890"


def test_insert_field_sends_one_volatile_item_with_the_field_classifier() -> None:
    call = VgsConnector().insert_field(CREDS, TOKEN, "card_cvc", Secret(CVC))
    (request,) = call.requests
    assert request.method == "POST"
    assert request.url == SANDBOX + "aliases"
    assert request.flow is Flow.INSERT
    assert request.retry_safe is False
    assert json.loads(request.body or b"") == {
        "data": [
            {"value": CVC, "classifiers": ["card_cvc"], "format": "UUID", "storage": "VOLATILE"}
        ]
    }
    assert CVC not in repr(request)
    created = {"data": [record(CVC_ALIAS, value=CVC, storage="VOLATILE")]}
    assert call.parse([response(200, created)]) == CVC_ALIAS


def test_retrieve_and_delete_field_address_the_alias_in_the_field_storage() -> None:
    connector = VgsConnector()
    assert connector.field_storage("card_cvc") is StorageType.VOLATILE
    assert connector.field_storage("card_number") is StorageType.PERSISTENT
    reveal = connector.retrieve_field(CREDS, TOKEN, "card_cvc", CVC_ALIAS)
    (request,) = reveal.requests
    assert (request.method, request.url) == (
        "GET",
        SANDBOX + f"aliases/{CVC_ALIAS}?storage=VOLATILE",
    )
    body = {"data": [record(CVC_ALIAS, value=CVC, storage="VOLATILE")]}
    assert reveal.parse([response(200, body)]).reveal() == CVC
    delete = connector.delete_field(CREDS, TOKEN, "card_cvc", CVC_ALIAS)
    (request,) = delete.requests
    assert (request.method, request.url) == (
        "DELETE",
        SANDBOX + f"aliases/{CVC_ALIAS}?storage=VOLATILE",
    )
    assert delete.parse([response(204)]).deleted == (CVC_ALIAS,)
    persistent = connector.delete_field(CREDS, TOKEN, "card_number", "tok_x")
    assert persistent.requests[0].url == SANDBOX + "aliases/tok_x"


def test_an_expired_field_alias_is_alias_not_found() -> None:
    call = VgsConnector().retrieve_field(CREDS, TOKEN, "card_cvc", CVC_ALIAS)
    missing = vgs_error(404, "Alias not found", code="ALIAS_NOT_FOUND")
    with pytest.raises(AliasNotFound) as caught:
        call.parse([response(404, missing)])
    assert CVC_ALIAS in caught.value.message


def test_field_alias_calls_refuse_unknown_fields_and_empty_values() -> None:
    connector = VgsConnector()
    with pytest.raises(InvalidRequest) as caught:
        connector.insert_field(CREDS, TOKEN, "pin", Secret("1234"))
    assert caught.value.field == "name"
    with pytest.raises(InvalidRequest):
        connector.insert_field(CREDS, TOKEN, "card_cvc", Secret(""))
    with pytest.raises(InvalidRequest):
        connector.retrieve_field(CREDS, TOKEN, "card_cvc", " ")
