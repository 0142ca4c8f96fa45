"""Multi-token mode keeps the card holder name: its own alias on insert, part of the card
rebuilt on retrieve; ids stored before it had an alias still retrieve and delete."""

from __future__ import annotations

import json
from typing import Any

import pytest

from vaultswitch.connectors.base import CardVaultIds, VaultRequestData
from vaultswitch.connectors.vgs import VgsConnector
from vaultswitch.domain.cards import Card
from vaultswitch.domain.errors import MalformedVaultResponse

from .vgs_fixtures import CREDS, CVC, PAN, SANDBOX, TOKEN, record, response

HOLDER = "Ada Lovelace"
CARD = Card.parse(PAN, "03", "2030", CVC, HOLDER)
IDS = CardVaultIds("t_pan", "t_mm", "t_yy", "t_cvc", "t_name")


def _items(request: Any) -> list[dict[str, Any]]:
    return list(json.loads(request.body)["data"])


def _created(*aliases: str) -> dict[str, Any]:
    return {"data": [record(alias) for alias in aliases]}


def _persistent(**values: str) -> dict[str, Any]:
    return {"data": {alias: record(alias, value) for alias, value in values.items()}}


def test_insert_sends_the_holder_name_as_its_own_persistent_field() -> None:
    call = VgsConnector().insert(
        CREDS, TOKEN, VaultRequestData(CARD, should_generate_multiple_tokens=True)
    )
    holder = [i for i in _items(call.requests[0]) if i["classifiers"] == ["card_holder_name"]]
    assert holder == [
        {
            "value": HOLDER,
            "classifiers": ["card_holder_name"],
            "format": "UUID",
            "storage": "PERSISTENT",
        }
    ]
    result = call.parse([response(201, _created("t_pan", "t_mm", "t_yy", "t_cvc", "t_name"))])
    assert result.vault_id == IDS
    assert result.vault_id.aliases() == ("t_pan", "t_mm", "t_yy", "t_cvc", "t_name")


def test_a_card_without_holder_name_sends_no_holder_field() -> None:
    card = Card.parse(PAN, "03", "2030", CVC)
    call = VgsConnector().insert(
        CREDS, TOKEN, VaultRequestData(card, should_generate_multiple_tokens=True)
    )
    assert len(_items(call.requests[0])) == 4
    result = call.parse([response(201, _created("t_pan", "t_mm", "t_yy", "t_cvc"))])
    assert result.vault_id == CardVaultIds("t_pan", "t_mm", "t_yy", "t_cvc")
    assert result.vault_id.card_holder_name is None  # type: ignore[union-attr]


def test_the_holder_name_policy_is_configurable() -> None:
    connector = VgsConnector(field_policy={"card_holder_name": {"storage": "VOLATILE"}})
    call = connector.insert(
        CREDS, TOKEN, VaultRequestData(CARD, should_generate_multiple_tokens=True)
    )
    assert _items(call.requests[0])[-1]["storage"] == "VOLATILE"
    lookup = connector.retrieve(CREDS, TOKEN, VaultRequestData(connector_vault_id=IDS))
    assert [r.url for r in lookup.requests] == [
        SANDBOX + "aliases?aliases=t_pan,t_mm,t_yy",
        SANDBOX + "aliases?aliases=t_cvc,t_name&storage=VOLATILE",
    ]


def test_retrieve_rebuilds_the_whole_card_in_one_persistent_read() -> None:
    call = VgsConnector().retrieve(CREDS, TOKEN, VaultRequestData(connector_vault_id=IDS))
    assert [r.url for r in call.requests] == [
        SANDBOX + "aliases?aliases=t_pan,t_mm,t_yy,t_name",
        SANDBOX + "aliases?aliases=t_cvc&storage=VOLATILE",
    ]
    persistent = _persistent(t_pan=PAN, t_mm="03", t_yy="2030", t_name=HOLDER)
    volatile = {"data": {"t_cvc": record("t_cvc", CVC, storage="VOLATILE")}}
    card = call.parse([response(200, persistent), response(200, volatile)]).vault_data
    assert card == CARD
    assert isinstance(card, Card)
    assert card.holder_name == HOLDER


def test_ids_stored_without_a_holder_alias_still_retrieve() -> None:
    stored = {
        "card_number": "t_pan",
        "card_exp_month": "t_mm",
        "card_exp_year": "t_yy",
        "card_cvc": "t_cvc",
    }
    ids = CardVaultIds(**stored)  # the shape stored before holder names had an alias
    assert ids.card_holder_name is None
    call = VgsConnector().retrieve(CREDS, TOKEN, VaultRequestData(connector_vault_id=ids))
    assert call.requests[0].url == SANDBOX + "aliases?aliases=t_pan,t_mm,t_yy"
    persistent = _persistent(t_pan=PAN, t_mm="03", t_yy="2030")
    volatile = {"data": {"t_cvc": record("t_cvc", CVC, storage="VOLATILE")}}
    card = call.parse([response(200, persistent), response(200, volatile)]).vault_data
    assert card == Card.parse(PAN, "03", "2030", CVC)
    assert isinstance(card, Card)
    assert card.holder_name is None


def test_delete_keeps_the_shared_holder_alias_unless_configured() -> None:
    kept = VgsConnector().delete(CREDS, TOKEN, VaultRequestData(connector_vault_id=IDS))
    assert [json.loads(r.body or b"")["data"] for r in kept.requests] == [["t_pan"], ["t_cvc"]]
    connector = VgsConnector(delete_holder_name_aliases=True)
    call = connector.delete(CREDS, TOKEN, VaultRequestData(connector_vault_id=IDS))
    assert [json.loads(r.body or b"")["data"] for r in call.requests] == [
        ["t_pan", "t_name"],
        ["t_cvc"],
    ]
    assert call.parse([response(200), response(200)]).deleted == ("t_pan", "t_name", "t_cvc")
    old = CardVaultIds("t_pan", "t_mm", "t_yy")
    legacy = connector.delete(CREDS, TOKEN, VaultRequestData(connector_vault_id=old))
    assert [json.loads(r.body or b"")["data"] for r in legacy.requests] == [["t_pan"]]


def test_an_invalid_stored_holder_name_is_a_malformed_answer() -> None:
    ids = CardVaultIds("t_pan", "t_mm", "t_yy", None, "t_name")
    call = VgsConnector().retrieve(CREDS, TOKEN, VaultRequestData(connector_vault_id=ids))
    body = _persistent(t_pan=PAN, t_mm="03", t_yy="2030", t_name="x" * 65)
    with pytest.raises(MalformedVaultResponse, match="card_holder_name") as info:
        call.parse([response(200, body)])
    assert PAN not in str(info.value)
