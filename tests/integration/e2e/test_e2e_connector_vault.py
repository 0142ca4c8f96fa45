"""The VGS connector and the clients against our vault server over real HTTP(S) on loopback:
every flow, v2 (OAuth2) and v1 (Basic), single- and multi-token, and the failure modes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from e2e_support import VaultAccount, serve_vault

from vaultswitch.client import AsyncVaultClient, ClientConfig, RetryPolicy, VaultClient
from vaultswitch.connectors.base import (
    CardVaultIds,
    NetworkTokenVaultIds,
    SignatureKey,
    SingleVaultId,
    VaultRequestData,
)
from vaultswitch.connectors.vgs import VgsConnector
from vaultswitch.domain.cards import Card, NetworkToken
from vaultswitch.domain.errors import (
    AliasNotFound,
    PermissionDenied,
    VaultAuthenticationFailed,
    VaultNotFound,
)
from vaultswitch.domain.secret import Secret
from vaultswitch.vault.core.models import AuditContext
from vaultswitch.vault.settings import VaultSettings

CARDS = [
    ("4111111111111111", "12", "2030", "123", "Ada Lovelace"),
    ("5555555555554444", "01", "31", "456", None),
    ("378282246310005", "7", "2029", "1234", "Grace Hopper"),
    ("6011111111111117", "03", "2032", "789", None),
    ("3566002020360505", "11", "2033", "321", None),
    ("6200000000000005", "03", "2034", "654", None),
]


def _client(account: VaultAccount) -> VaultClient:
    verify: bool | str = str(account.ca_file) if account.ca_file else True
    return VaultClient(ClientConfig(verify=verify, retry=RetryPolicy(attempts=1)))


def _connector(account: VaultAccount, api_version: str = "v2") -> VgsConnector:
    return VgsConnector(api_version=api_version, **account.connector_urls())


def _creds(account: VaultAccount, api_version: str) -> SignatureKey:
    return account.oauth if api_version == "v2" else account.basic


def _card(index: int = 0, *, cvc: bool = True) -> Card:
    number, month, year, code, name = CARDS[index]
    return Card.parse(number, month, year, code if cvc else None, name)


@pytest.mark.parametrize("api_version", ["v2", "v1"])
def test_single_token_insert_retrieve_delete(account: VaultAccount, api_version: str) -> None:
    vgs, creds = _connector(account, api_version), _creds(account, api_version)
    card = _card(0)
    with _client(account) as client:
        stored = client.insert(vgs, creds, VaultRequestData(vaulting_data=card))
        assert isinstance(stored.vault_id, SingleVaultId)
        assert stored.vault_id.alias.startswith("tok_sandbox_")
        assert stored.fingerprint_id == stored.vault_id.alias

        back = client.retrieve(vgs, creds, VaultRequestData(connector_vault_id=stored.vault_id))
        got = back.vault_data
        assert isinstance(got, Card)
        assert got.number == card.number
        assert got.expiry == card.expiry
        assert got.holder_name == "Ada Lovelace"
        assert got.cvc is None  # single-token mode never vaults the CVC

        deleted = client.delete(vgs, creds, VaultRequestData(connector_vault_id=stored.vault_id))
        assert deleted.deleted == (stored.vault_id.alias,)
        with pytest.raises(AliasNotFound) as missing:
            client.retrieve(vgs, creds, VaultRequestData(connector_vault_id=stored.vault_id))
    assert stored.vault_id.alias in missing.value.message
    assert missing.value.trace_id


@pytest.mark.parametrize("api_version", ["v2", "v1"])
def test_multi_token_insert_retrieve_delete(account: VaultAccount, api_version: str) -> None:
    vgs, creds = _connector(account, api_version), _creds(account, api_version)
    card = _card(2)  # Amex: 4-digit CVC
    data = VaultRequestData(vaulting_data=card, should_generate_multiple_tokens=True)
    with _client(account) as client:
        stored = client.insert(vgs, creds, data)
        ids = stored.vault_id
        assert isinstance(ids, CardVaultIds)
        assert ids.card_cvc is not None
        assert ids.card_holder_name is not None
        assert len(set(ids.aliases())) == 5

        # the CVC lives only in VOLATILE storage: not readable as PERSISTENT
        assert (
            account.service.reveal(account.vault_id, [ids.card_cvc], "VOLATILE", _ctx())[
                ids.card_cvc
            ].storage
            == "VOLATILE"
        )

        back = client.retrieve(vgs, creds, VaultRequestData(connector_vault_id=ids))
        got = back.vault_data
        assert isinstance(got, Card)
        assert got.number == card.number
        assert got.expiry == card.expiry
        assert got.cvc is not None
        assert got.cvc.reveal() == "1234"
        assert got.holder_name == "Grace Hopper"

        deleted = client.delete(vgs, creds, VaultRequestData(connector_vault_id=ids))
        assert ids.card_number in deleted.deleted
        assert ids.card_cvc in deleted.deleted
        with pytest.raises(AliasNotFound):
            client.retrieve(vgs, creds, VaultRequestData(connector_vault_id=ids))


def test_insert_many_batches_and_rebuilds_every_card(http_account: VaultAccount) -> None:
    vgs, creds = _connector(http_account), http_account.oauth
    cards = [_card(i) for i in range(len(CARDS))]
    items = [VaultRequestData(vaulting_data=c, should_generate_multiple_tokens=True) for c in cards]
    with _client(http_account) as client:
        results = client.insert_many(vgs, creds, items)  # 24 items: two requests of <= 20
        assert len(results) == len(cards)
        for card, result in zip(cards, results, strict=True):
            back = client.retrieve(vgs, creds, VaultRequestData(connector_vault_id=result.vault_id))
            assert isinstance(back.vault_data, Card)
            assert back.vault_data.number == card.number
            assert back.vault_data.expiry == card.expiry
    # fingerprinting: the same PAN inserted again gets the same alias
    with _client(http_account) as client:
        again = client.insert(vgs, creds, items[0])
    first = results[0].vault_id
    assert isinstance(first, CardVaultIds)
    assert isinstance(again.vault_id, CardVaultIds)
    assert again.vault_id.card_number == first.card_number


def test_network_token_single_and_multi(http_account: VaultAccount) -> None:
    vgs, creds = _connector(http_account), http_account.oauth
    token = NetworkToken.parse("4895370012003478", "09", "2031", "AgAAAAAABk4DWZ4C28yUQAAAAAA=")
    with _client(http_account) as client:
        single = client.insert(vgs, creds, VaultRequestData(vaulting_data=token))
        back = client.retrieve(vgs, creds, VaultRequestData(connector_vault_id=single.vault_id))
        assert isinstance(back.vault_data, NetworkToken)
        assert back.vault_data.token == token.token
        assert back.vault_data.cryptogram is None  # never persisted in single-token mode

        multi = client.insert(
            vgs, creds, VaultRequestData(vaulting_data=token, should_generate_multiple_tokens=True)
        )
        assert isinstance(multi.vault_id, NetworkTokenVaultIds)
        back = client.retrieve(vgs, creds, VaultRequestData(connector_vault_id=multi.vault_id))
        assert isinstance(back.vault_data, NetworkToken)
        assert back.vault_data.expiry == token.expiry
        assert back.vault_data.cryptogram is not None
        assert back.vault_data.cryptogram.reveal() == "AgAAAAAABk4DWZ4C28yUQAAAAAA="


def test_session_needs_no_request(http_account: VaultAccount) -> None:
    vgs = _connector(http_account)
    with _client(http_account) as client:
        session = client.create_session(vgs, http_account.oauth, VaultRequestData())
    assert session.details == {"external_vault_id": http_account.vault_id, "sdk_env": "sandbox"}


def test_async_client_runs_the_same_flows(account: VaultAccount) -> None:
    vgs, creds = _connector(account), account.oauth
    verify: bool | str = str(account.ca_file) if account.ca_file else True

    async def scenario() -> None:
        async with AsyncVaultClient(ClientConfig(verify=verify)) as client:
            cards = [_card(i) for i in range(4)]
            stored = await asyncio.gather(
                *(
                    client.insert(
                        vgs,
                        creds,
                        VaultRequestData(vaulting_data=c, should_generate_multiple_tokens=True),
                    )
                    for c in cards
                )
            )
            for card, result in zip(cards, stored, strict=True):
                back = await client.retrieve(
                    vgs, creds, VaultRequestData(connector_vault_id=result.vault_id)
                )
                assert isinstance(back.vault_data, Card)
                assert back.vault_data.number == card.number
            await client.delete(vgs, creds, VaultRequestData(connector_vault_id=stored[0].vault_id))

    asyncio.run(scenario())


# --- the known failure modes ---------------------------------------------------------------


def test_wrong_client_secret_is_an_oauth_authentication_failure(http_account: VaultAccount) -> None:
    vgs = _connector(http_account)
    bad = SignatureKey(
        http_account.oauth.api_key, Secret("not-the-secret"), Secret(http_account.vault_id)
    )
    with _client(http_account) as client, pytest.raises(VaultAuthenticationFailed) as err:
        client.insert(vgs, bad, VaultRequestData(vaulting_data=_card()))
    assert err.value.upstream_status == 401
    assert "client secret" in err.value.hint
    assert "not-the-secret" not in str(err.value)


def test_wrong_vault_id_is_vault_not_found(http_account: VaultAccount) -> None:
    vgs = _connector(http_account)
    other = SignatureKey(http_account.oauth.api_key, http_account.oauth.key1, Secret("tntzzzzzzzz"))
    with _client(http_account) as client, pytest.raises(VaultNotFound) as err:
        client.insert(vgs, other, VaultRequestData(vaulting_data=_card()))
    assert "vault" in err.value.hint.lower()
    assert err.value.trace_id


def test_unknown_alias_is_alias_not_found(http_account: VaultAccount) -> None:
    vgs = _connector(http_account)
    missing = SingleVaultId("tok_sandbox_5XUyPDnEkExwt6wA8qhZnK")
    with _client(http_account) as client, pytest.raises(AliasNotFound) as err:
        client.retrieve(vgs, http_account.oauth, VaultRequestData(connector_vault_id=missing))
    assert err.value.status == 404
    assert "VOLATILE" in err.value.hint


def test_expired_volatile_alias_is_alias_not_found(tmp_path: Path) -> None:
    settings = VaultSettings(data_dir=tmp_path / "short", volatile_ttl=1)
    with serve_vault(settings) as account:
        vgs = _connector(account)
        data = VaultRequestData(vaulting_data=_card(), should_generate_multiple_tokens=True)
        with _client(account) as client:
            stored = client.insert(vgs, account.oauth, data)
            time.sleep(2.1)
            with pytest.raises(AliasNotFound) as err:
                client.retrieve(
                    vgs, account.oauth, VaultRequestData(connector_vault_id=stored.vault_id)
                )
        assert "expire" in err.value.hint


def test_reveal_disabled_and_missing_scope_are_permission_denied(
    http_account: VaultAccount,
) -> None:
    vgs = _connector(http_account)
    service = http_account.service
    writer, secret = service.create_service_account([http_account.vault_id], ["aliases:write"])
    write_only = SignatureKey(Secret(writer.client_id), secret, Secret(http_account.vault_id))
    with _client(http_account) as client:
        stored = client.insert(vgs, write_only, VaultRequestData(vaulting_data=_card()))
        read = VaultRequestData(connector_vault_id=stored.vault_id)
        with pytest.raises(PermissionDenied):
            client.retrieve(vgs, write_only, read)
        service.set_reveal(http_account.vault_id, False)
        with pytest.raises(PermissionDenied) as err:
            client.retrieve(vgs, http_account.oauth, read)
        assert "reveal" in err.value.hint.lower()
        service.set_reveal(http_account.vault_id, True)
        assert isinstance(client.retrieve(vgs, http_account.oauth, read).vault_data, Card)


def test_database_holds_no_test_pan_after_a_run(http_account: VaultAccount) -> None:
    vgs = _connector(http_account)
    with _client(http_account) as client:
        for i in range(len(CARDS)):
            for multi in (False, True):
                client.insert(
                    vgs,
                    http_account.oauth,
                    VaultRequestData(vaulting_data=_card(i), should_generate_multiple_tokens=multi),
                )
    data_dir = http_account.service.settings.data_dir
    blobs = b"".join(p.read_bytes() for p in data_dir.iterdir() if p.name.startswith("vault.db"))
    assert blobs
    for number, *_ in CARDS:
        assert number.encode() not in blobs


def _ctx() -> AuditContext:
    return AuditContext(actor="test", source=None, trace_id=None)


def test_a_pan_passed_as_an_alias_is_never_echoed(http_account: VaultAccount) -> None:
    vgs = _connector(http_account)
    pan_as_alias = SingleVaultId("4111111111111111")
    with _client(http_account) as client, pytest.raises(AliasNotFound) as err:
        client.retrieve(vgs, http_account.oauth, VaultRequestData(connector_vault_id=pan_as_alias))
    shown = f"{err.value} {err.value!r} {err.value.to_dict()} {err.value.hint}"
    assert "4111111111111111" not in shown
