"""Every flow through both clients, with the echo test connector and the real VGS connector,
against a loopback server answering like VGS."""

from __future__ import annotations

import json

import pytest
from client_support import PAN, VAULT_ID
from client_vgs_stub import VgsStub

from vaultswitch.client import AsyncVaultClient, VaultClient
from vaultswitch.connectors.base import (
    Call,
    CardVaultIds,
    Flow,
    HeaderKey,
    HttpRequest,
    HttpResponse,
    SignatureKey,
    SingleVaultId,
    VaultConnector,
    VaultRequestData,
)
from vaultswitch.connectors.vgs import VgsConnector
from vaultswitch.domain.cards import Card
from vaultswitch.domain.errors import (
    AliasNotFound,
    FlowNotSupported,
    InvalidCredentials,
    VaultAuthenticationFailed,
    WrongCredentialType,
)
from vaultswitch.domain.secret import Secret


def test_sync_insert_retrieve_delete_round_trip(
    client: VaultClient,
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
) -> None:
    inserted = client.insert(connector, creds, insert_data)
    assert isinstance(inserted.vault_id, SingleVaultId)
    assert inserted.vault_id.alias.startswith("tok_sandbox_")
    assert inserted.vault_id.alias in stub.records

    lookup = VaultRequestData(connector_vault_id=inserted.vault_id)
    revealed = client.retrieve(connector, creds, lookup)
    assert isinstance(revealed.vault_data, Card)
    assert revealed.vault_data.number.reveal() == PAN
    assert revealed.vault_data.expiry.year == 2030

    deleted = client.delete(connector, creds, lookup)
    assert deleted.deleted == (inserted.vault_id.alias,)
    assert inserted.vault_id.alias not in stub.records
    with pytest.raises(AliasNotFound):
        client.retrieve(connector, creds, lookup)
    # one token for the whole sequence
    assert stub.routes("token") == 1


async def test_async_insert_retrieve_delete_round_trip(
    aclient: AsyncVaultClient,
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
) -> None:
    inserted = await aclient.insert(connector, creds, insert_data)
    lookup = VaultRequestData(connector_vault_id=inserted.vault_id)
    revealed = await aclient.retrieve(connector, creds, lookup)
    assert isinstance(revealed.vault_data, Card)
    assert revealed.vault_data.number.reveal() == PAN
    assert (await aclient.delete(connector, creds, lookup)).deleted == (inserted.vault_id.alias,)
    with pytest.raises(AliasNotFound):
        await aclient.retrieve(connector, creds, lookup)
    assert stub.routes("token") == 1


def test_the_card_value_reaches_the_vault_without_cvc(
    client: VaultClient,
    vgs: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
) -> None:
    inserted = client.insert(vgs, creds, insert_data)
    assert isinstance(inserted.vault_id, SingleVaultId)
    stored = json.loads(stub.records[inserted.vault_id.alias]["value"])
    assert stored["card_number"] == PAN
    assert "card_cvc" not in stored


def test_vgs_insert_many_batches_through_the_client(
    client: VaultClient, vgs: VaultConnector, creds: SignatureKey, card: Card, stub: VgsStub
) -> None:
    items = [VaultRequestData(vaulting_data=card) for _ in range(25)]  # > 20: two requests
    results = client.insert_many(vgs, creds, items)
    assert len(results) == 25
    assert len({r.fingerprint_id for r in results}) == 25
    assert stub.routes("create") == 2
    assert stub.routes("token") == 1


async def test_vgs_per_field_tokens_through_the_async_client(
    aclient: AsyncVaultClient,
    vgs: VaultConnector,
    creds: SignatureKey,
    card: Card,
    stub: VgsStub,
) -> None:
    data = VaultRequestData(vaulting_data=card, should_generate_multiple_tokens=True)
    inserted = await aclient.insert(vgs, creds, data)
    assert isinstance(inserted.vault_id, CardVaultIds)
    assert inserted.vault_id.card_cvc is not None
    revealed = await aclient.retrieve(
        vgs, creds, VaultRequestData(connector_vault_id=inserted.vault_id)
    )
    assert isinstance(revealed.vault_data, Card)
    assert revealed.vault_data.number.reveal() == PAN
    assert revealed.vault_data.cvc is not None
    assert revealed.vault_data.cvc.reveal() == "123"
    # PERSISTENT fields and VOLATILE cvc are revealed in two requests
    assert stub.routes("reveal_many") == 2
    deleted = await aclient.delete(
        vgs, creds, VaultRequestData(connector_vault_id=inserted.vault_id)
    )
    assert inserted.vault_id.card_number in deleted.deleted


def test_create_session_makes_no_request(
    client: VaultClient, connector: VaultConnector, creds: SignatureKey, stub: VgsStub
) -> None:
    session = client.create_session(connector, creds, VaultRequestData())
    assert session.details["external_vault_id"] == VAULT_ID
    assert stub.exchanges == []


async def test_access_token_is_cached_and_can_be_forced(
    aclient: AsyncVaultClient, connector: VaultConnector, creds: SignatureKey, stub: VgsStub
) -> None:
    first = await aclient.access_token(connector, creds)
    again = await aclient.access_token(connector, creds)
    assert first.token == again.token
    assert stub.routes("token") == 1
    forced = await aclient.access_token(connector, creds, force_refresh=True)
    assert forced.token != first.token
    assert stub.routes("token") == 2
    assert repr(first.token) == "Secret('**********')"


def test_tokens_are_per_account_not_per_connector(
    client: VaultClient, connector: VaultConnector, creds: SignatureKey, stub: VgsStub
) -> None:
    other = SignatureKey(Secret("client-id-2"), Secret("client-secret-2"), Secret(VAULT_ID))
    one = client.access_token(connector, creds)
    two = client.access_token(connector, other)
    assert one.token != two.token
    assert stub.routes("token") == 2
    assert client.access_token(connector, creds).token == one.token
    assert stub.routes("token") == 2


def test_credentials_are_checked_before_any_request(
    client: VaultClient, connector: VaultConnector, insert_data: VaultRequestData, stub: VgsStub
) -> None:
    with pytest.raises(WrongCredentialType):
        client.insert(connector, HeaderKey(Secret("k")), insert_data)
    assert stub.exchanges == []


def test_vgs_bad_vault_id_is_named_before_any_request(
    client: VaultClient, vgs: VaultConnector, insert_data: VaultRequestData, stub: VgsStub
) -> None:
    bad = SignatureKey(Secret("client-id-1"), Secret("client-secret-1"), Secret("vault-1"))
    with pytest.raises(InvalidCredentials) as info:
        client.insert(vgs, bad, insert_data)
    assert info.value.field == "connector_account_details.api_secret"
    assert stub.exchanges == []


def test_wrong_client_secret_is_vault_authentication_failed(
    client: VaultClient, connector: VaultConnector, insert_data: VaultRequestData, stub: VgsStub
) -> None:
    wrong = SignatureKey(Secret("client-id-1"), Secret("not-the-secret"), Secret(VAULT_ID))
    with pytest.raises(VaultAuthenticationFailed) as info:
        client.insert(connector, wrong, insert_data)
    assert "not-the-secret" not in str(info.value)
    assert stub.routes("token") == 1  # a 401 from the token endpoint is not retried
    assert stub.routes("create") == 0


def test_access_token_on_a_connector_without_tokens_is_flow_not_supported(
    client: VaultClient, creds: SignatureKey, stub: VgsStub
) -> None:
    v1 = VgsConnector(api_version="v1", v1_base_url=stub.base_url)
    with pytest.raises(FlowNotSupported):
        client.access_token(v1, creds)


def test_run_sends_a_ready_made_call(client: VaultClient, stub: VgsStub) -> None:
    request = HttpRequest("GET", stub.base_url + "nothing-here", Flow.RETRIEVE)

    def parse(responses: list[HttpResponse] | tuple[HttpResponse, ...]) -> int:
        return responses[0].status

    assert client.run(Call((request,), parse)) == 404


async def test_async_run_sends_a_ready_made_call(aclient: AsyncVaultClient, stub: VgsStub) -> None:
    request = HttpRequest("GET", stub.base_url + "nothing-here", Flow.RETRIEVE)
    call = Call((request,), lambda responses: responses[0].headers.get("vgs-request-id"))
    trace = await aclient.run(call)
    assert isinstance(trace, str)
    assert len(trace) == 32


def test_a_vgs_v1_connector_uses_basic_auth_and_no_token(
    client: VaultClient, creds: SignatureKey, insert_data: VaultRequestData, stub: VgsStub
) -> None:
    v1 = VgsConnector(api_version="v1", v1_base_url=stub.base_url + VAULT_ID + "/")
    # the stub only knows bearer tokens: v1 Basic auth gets a 401 → typed error, no token fetch
    with pytest.raises(VaultAuthenticationFailed):
        client.insert(v1, creds, insert_data)
    assert stub.routes("token") == 0
    assert stub.exchanges[0].authorization is not None
    assert stub.exchanges[0].authorization.startswith("Basic ")
