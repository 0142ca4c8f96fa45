"""Fixtures for client tests: a VGS-like loopback server, connectors, credentials, clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from client_echo_vault import EchoConnector
from client_support import CLIENT_ID, CLIENT_SECRET, PAN, VAULT_ID, Clock, fast_config
from client_vgs_stub import VgsStub

from vaultswitch.client import AsyncVaultClient, VaultClient
from vaultswitch.connectors.base import SignatureKey, VaultConnector, VaultRequestData
from vaultswitch.connectors.vgs import VgsConnector
from vaultswitch.domain.cards import Card
from vaultswitch.domain.secret import Secret


@pytest.fixture
def stub() -> Iterator[VgsStub]:
    server = VgsStub(accounts={CLIENT_ID: CLIENT_SECRET, "client-id-2": "client-secret-2"})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def creds() -> SignatureKey:
    return SignatureKey(Secret(CLIENT_ID), Secret(CLIENT_SECRET), Secret(VAULT_ID))


@pytest.fixture
def card() -> Card:
    return Card.parse(PAN, "12", "2030", "123", "Ada Lovelace")


@pytest.fixture
def insert_data(card: Card) -> VaultRequestData:
    return VaultRequestData(vaulting_data=card)


def make_connector(kind: str, stub: VgsStub) -> VaultConnector:
    if kind == "echo":
        return EchoConnector(stub.base_url)
    return VgsConnector(vault_base_url=stub.vault_base_template, auth_base_url=stub.base_url)


@pytest.fixture(params=["echo", "vgs"])
def connector(request: pytest.FixtureRequest, stub: VgsStub) -> VaultConnector:
    return make_connector(request.param, stub)


@pytest.fixture
def vgs(stub: VgsStub) -> VaultConnector:
    return make_connector("vgs", stub)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(clock: Clock, sleeps: list[float]) -> Iterator[VaultClient]:
    with VaultClient(fast_config(), clock=clock, sleep=sleeps.append) as sync_client:
        yield sync_client


@pytest.fixture
async def aclient(clock: Clock, sleeps: list[float]) -> AsyncIterator[AsyncVaultClient]:
    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    async with AsyncVaultClient(fast_config(), clock=clock, sleep=record) as async_client:
        yield async_client
