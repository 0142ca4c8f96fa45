"""Multi-token mode against our vault over real HTTP(S): the holder name gets its own alias
and comes back with the card; ids stored without a holder alias still work."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from e2e_support import VaultAccount

from vaultswitch.client import ClientConfig, RetryPolicy, VaultClient
from vaultswitch.connectors.base import CardVaultIds, VaultRequestData
from vaultswitch.connectors.vgs import VgsConnector
from vaultswitch.domain.cards import Card
from vaultswitch.domain.errors import AliasNotFound

HOLDER = "Grace Hopper"


def _client(account: VaultAccount) -> VaultClient:
    verify: bool | str = str(account.ca_file) if account.ca_file else True
    return VaultClient(ClientConfig(verify=verify, retry=RetryPolicy(attempts=1)))


def _multi(card: Card) -> VaultRequestData:
    return VaultRequestData(vaulting_data=card, should_generate_multiple_tokens=True)


def _lookup(ids: CardVaultIds) -> VaultRequestData:
    return VaultRequestData(connector_vault_id=ids)


@pytest.mark.parametrize("api_version", ["v2", "v1"])
def test_multi_token_round_trip_keeps_the_holder_name(
    account: VaultAccount, api_version: str
) -> None:
    vgs = VgsConnector(api_version=api_version, **account.connector_urls())
    creds = account.oauth if api_version == "v2" else account.basic
    card = Card.parse("378282246310005", "7", "2029", "1234", HOLDER)
    with _client(account) as client:
        ids = client.insert(vgs, creds, _multi(card)).vault_id
        assert isinstance(ids, CardVaultIds)
        assert ids.card_holder_name is not None
        assert len(set(ids.aliases())) == 5
        back = client.retrieve(vgs, creds, _lookup(ids)).vault_data
        assert back == card  # number, expiry, CVC and holder name
        assert isinstance(back, Card)
        assert back.holder_name == HOLDER


def test_the_holder_alias_is_a_persistent_record_of_its_own(http_account: VaultAccount) -> None:
    vgs = VgsConnector(**http_account.connector_urls())
    card = Card.parse("4111111111111111", "12", "2030", None, HOLDER)
    with _client(http_account) as client:
        ids = client.insert(vgs, http_account.oauth, _multi(card)).vault_id
        token = client.access_token(vgs, http_account.oauth).token.reveal()
    assert isinstance(ids, CardVaultIds)
    assert ids.card_holder_name is not None
    answer = httpx.get(
        f"{http_account.url}/{http_account.vault_id}/aliases/{ids.card_holder_name}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200
    (stored,) = answer.json()["data"]
    assert stored["value"] == HOLDER
    assert stored["classifiers"] == ["card_holder_name"]
    assert stored["storage"] == "PERSISTENT"


def test_ids_without_a_holder_alias_retrieve_and_delete(http_account: VaultAccount) -> None:
    """Ids stored before holder names had an alias: the card comes back without a name."""
    vgs, creds = VgsConnector(**http_account.connector_urls()), http_account.oauth
    card = Card.parse("5555555555554444", "01", "2031", "456", HOLDER)
    with _client(http_account) as client:
        ids = client.insert(vgs, creds, _multi(card)).vault_id
        assert isinstance(ids, CardVaultIds)
        older = dataclasses.replace(ids, card_holder_name=None)
        back = client.retrieve(vgs, creds, _lookup(older)).vault_data
        assert back == Card.parse("5555555555554444", "01", "2031", "456")
        deleted = client.delete(vgs, creds, _lookup(older))
        assert deleted.deleted == (ids.card_number, ids.card_cvc)
        with pytest.raises(AliasNotFound):
            client.retrieve(vgs, creds, _lookup(older))


def test_deleting_one_card_keeps_the_holder_alias_another_card_shares(
    http_account: VaultAccount,
) -> None:
    """With fingerprinting the same name gets the same alias: a delete must not take it from
    the holder's other cards (unless delete_holder_name_aliases is set)."""
    vgs, creds = VgsConnector(**http_account.connector_urls()), http_account.oauth
    first = Card.parse("4111111111111111", "12", "2030", None, HOLDER)
    second = Card.parse("6011111111111117", "03", "2032", None, HOLDER)
    with _client(http_account) as client:
        one = client.insert(vgs, creds, _multi(first)).vault_id
        two = client.insert(vgs, creds, _multi(second)).vault_id
        assert isinstance(one, CardVaultIds)
        assert isinstance(two, CardVaultIds)
        assert one.card_holder_name == two.card_holder_name
        client.delete(vgs, creds, _lookup(one))
        assert client.retrieve(vgs, creds, _lookup(two)).vault_data == second

        purge = VgsConnector(delete_holder_name_aliases=True, **http_account.connector_urls())
        deleted = client.delete(purge, creds, _lookup(two))
        assert two.card_holder_name in deleted.deleted
        token = client.access_token(vgs, creds).token.reveal()
    gone = httpx.get(
        f"{http_account.url}/{http_account.vault_id}/aliases/{two.card_holder_name}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert gone.status_code == 404
