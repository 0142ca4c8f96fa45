"""The clients take plain strings where credentials and card fields expect Secrets, over
real HTTP; arguments of the wrong type fail with a typed error before any request."""

from __future__ import annotations

from typing import Any

import pytest
from client_support import CLIENT_ID, CLIENT_SECRET, PAN, VAULT_ID
from client_vgs_stub import VgsStub

from vaultswitch.client import AsyncVaultClient, VaultClient
from vaultswitch.connectors.base import (
    CardVaultIds,
    SignatureKey,
    SingleVaultId,
    VaultConnector,
    VaultRequestData,
)
from vaultswitch.domain.cards import Card, CardExpiry
from vaultswitch.domain.errors import InvalidCredentials, InvalidRequest, VaultswitchError

PLAIN = SignatureKey(CLIENT_ID, CLIENT_SECRET, VAULT_ID)  # type: ignore[arg-type]


def test_plain_string_credentials_and_card_fields_round_trip(
    client: VaultClient, vgs: VaultConnector, stub: VgsStub
) -> None:
    card = Card(PAN, CardExpiry(12, 2030), "123", "Ada Lovelace")  # type: ignore[arg-type]
    many = VaultRequestData(vaulting_data=card, should_generate_multiple_tokens=True)
    inserted = client.insert(vgs, PLAIN, many)
    assert isinstance(inserted.vault_id, CardVaultIds)
    lookup = VaultRequestData(connector_vault_id=inserted.vault_id)
    back = client.retrieve(vgs, PLAIN, lookup).vault_data
    assert isinstance(back, Card)
    assert back.number.reveal() == PAN
    assert back.cvc is not None
    assert back.cvc.reveal() == "123"
    client.delete(vgs, PLAIN, lookup)
    assert client.access_token(vgs, PLAIN).token.reveal() in stub.issued
    assert stub.routes("token") == 1


async def test_async_client_takes_plain_string_credentials(
    aclient: AsyncVaultClient, vgs: VaultConnector
) -> None:
    card = Card.parse(PAN, "12", "2030")
    inserted = await aclient.insert(vgs, PLAIN, VaultRequestData(vaulting_data=card))
    assert isinstance(inserted.vault_id, SingleVaultId)
    back = await aclient.retrieve(
        vgs, PLAIN, VaultRequestData(connector_vault_id=inserted.vault_id)
    )
    assert back.vault_data == card


def _wrong_calls(client: VaultClient, vgs: VaultConnector) -> list[tuple[Any, str]]:
    card: Any = Card.parse(PAN, "12", "2030")
    data = VaultRequestData(vaulting_data=card)
    details: Any = {"auth_type": "SignatureKey", "api_key": CLIENT_ID}
    return [
        (lambda: client.insert(vgs, details, data), "connector_account_details"),
        (lambda: client.insert(vgs, PLAIN, card), "data"),
        (lambda: client.retrieve(vgs, PLAIN, None), "data"),  # type: ignore[arg-type]
        (lambda: client.delete(vgs, PLAIN, "tok_1"), "data"),  # type: ignore[arg-type]
        (lambda: client.insert_many(vgs, PLAIN, data), "items"),  # type: ignore[arg-type]
        (lambda: client.insert_many(vgs, PLAIN, [data, card]), "items[1]"),
        (lambda: client.create_session(vgs, PLAIN, card), "data"),
        (lambda: client.insert("vgs", PLAIN, data), "connector"),  # type: ignore[arg-type]
        (lambda: client.access_token(vgs, (CLIENT_ID, CLIENT_SECRET)), "connector_account_details"),  # type: ignore[arg-type]
        (lambda: client.run("not a call"), "call"),  # type: ignore[arg-type]
    ]


def test_wrongly_typed_arguments_fail_typed_before_any_request(
    client: VaultClient, vgs: VaultConnector, stub: VgsStub
) -> None:
    for call, field in _wrong_calls(client, vgs):
        with pytest.raises(VaultswitchError) as info:
            call()
        assert isinstance(info.value, InvalidRequest | InvalidCredentials)
        assert info.value.field == field
        assert info.value.hint
        assert PAN not in str(info.value)
        assert CLIENT_SECRET not in str(info.value)
    assert sum(stub.counts.values()) == 0
