"""Fixtures for client tests: a VGS-like loopback server, connectors, credentials, clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from client_echo_vault import EchoConnector
from client_vgs_stub import VgsStub

from vaultswitch.client import AsyncVaultClient, ClientConfig, RetryPolicy, VaultClient
from vaultswitch.connectors.base import SignatureKey, VaultConnector, VaultRequestData
from vaultswitch.connectors.vgs import VgsConnector
from vaultswitch.domain.cards import Card
from vaultswitch.domain.secret import Secret

PAN = "4111111111111111"
CLIENT_ID = "client-id-1"
CLIENT_SECRET = "client-secret-1"
VAULT_ID = "tntabc12345"


class Clock:
    """A settable clock for token expiry."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


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


def fast_config(**overrides: object) -> ClientConfig:
    options: dict[str, object] = {
        "retry": RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.002, max_retry_after=5.0),
        "read_timeout": 2.0,
        "trust_env": False,
    }
    options.update(overrides)
    return ClientConfig(**options)  # type: ignore[arg-type]


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
