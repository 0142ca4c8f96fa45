"""Child process of test_e2e_library_logging: an application that uses the client and
configures logging only if told to (``E2E_LOGGING=debug``), after creating its clients.

It talks to the vault at ``E2E_VAULT_URL`` (``E2E_VAULT_ID``, ``E2E_CLIENT_ID``,
``E2E_CLIENT_SECRET``) and to ``E2E_CLOSED_URL``, where nothing listens. It prints nothing
itself and exits 0 when every call ended as expected.
"""

from __future__ import annotations

import asyncio
import logging
import os

from vaultswitch.client import AsyncVaultClient, ClientConfig, RetryPolicy, VaultClient
from vaultswitch.connectors.base import SignatureKey, VaultRequestData
from vaultswitch.connectors.vgs import VgsConnector
from vaultswitch.domain.cards import Card
from vaultswitch.domain.errors import AliasNotFound, VaultAuthenticationFailed, VaultUnavailable

PAN = "4111111111111111"
CVC = "737"


def _connector(url: str) -> VgsConnector:
    return VgsConnector(vault_base_url=url + "/{vault_id}/", auth_base_url=url + "/")


def _sync_calls(client: VaultClient, creds: SignatureKey, closed: str) -> None:
    vgs = _connector(os.environ["E2E_VAULT_URL"])
    card = Card.parse(PAN, "12", "2030", CVC, "Ada Lovelace")
    single = client.insert(vgs, creds, VaultRequestData(vaulting_data=card))
    multi = client.insert(
        vgs, creds, VaultRequestData(vaulting_data=card, should_generate_multiple_tokens=True)
    )
    for stored in (single, multi):
        lookup = VaultRequestData(connector_vault_id=stored.vault_id)
        assert client.retrieve(vgs, creds, lookup).vault_data is not None
        client.delete(vgs, creds, lookup)
        try:
            client.retrieve(vgs, creds, lookup)
        except AliasNotFound:
            pass
        else:
            raise AssertionError("a deleted alias was revealed")
    wrong = SignatureKey(creds.api_key, "wrong-" + creds.key1.reveal(), creds.api_secret)  # type: ignore[arg-type]
    try:
        client.insert(vgs, wrong, VaultRequestData(vaulting_data=card))
    except VaultAuthenticationFailed:
        pass
    else:
        raise AssertionError("a wrong client secret was accepted")
    try:
        client.insert(_connector(closed), creds, VaultRequestData(vaulting_data=card))
    except VaultUnavailable:
        pass
    else:
        raise AssertionError("a closed port answered")


async def _async_calls(client: AsyncVaultClient, creds: SignatureKey, closed: str) -> None:
    vgs = _connector(os.environ["E2E_VAULT_URL"])
    card = Card.parse(PAN, "12", "2030")
    stored = await client.insert(vgs, creds, VaultRequestData(vaulting_data=card))
    await client.retrieve(vgs, creds, VaultRequestData(connector_vault_id=stored.vault_id))
    try:
        await client.insert(_connector(closed), creds, VaultRequestData(vaulting_data=card))
    except VaultUnavailable:
        pass
    else:
        raise AssertionError("a closed port answered")


async def _run_async(config: ClientConfig, creds: SignatureKey, closed: str) -> None:
    async with AsyncVaultClient(config) as client:
        await _async_calls(client, creds, closed)


def main() -> None:
    creds = SignatureKey(
        os.environ["E2E_CLIENT_ID"], os.environ["E2E_CLIENT_SECRET"], os.environ["E2E_VAULT_ID"]
    )  # type: ignore[arg-type]
    closed = os.environ["E2E_CLOSED_URL"]
    config = ClientConfig(retry=RetryPolicy(attempts=2, base_delay=0.001), trust_env=False)
    with VaultClient(config) as client:  # created before any logging set-up
        if os.environ.get("E2E_LOGGING") == "debug":
            logging.basicConfig(level=logging.DEBUG)
        _sync_calls(client, creds, closed)
    asyncio.run(_run_async(config, creds, closed))


if __name__ == "__main__":
    main()
