"""Access tokens over real HTTP: single-flight, refresh ahead of expiry, one re-fetch on 401."""

from __future__ import annotations

import asyncio
import threading

import pytest
from client_support import Clock, fast_config
from client_vgs_stub import VgsStub

from vaultswitch.client import AsyncVaultClient, ClientConfig, MemoryTokenStore, VaultClient
from vaultswitch.connectors.base import SignatureKey, VaultConnector, VaultRequestData
from vaultswitch.domain.errors import (
    VaultAuthenticationFailed,
    VaultNotFound,
    VaultUnavailable,
)
from vaultswitch.domain.secret import Secret


async def test_200_concurrent_async_inserts_fetch_exactly_one_token(
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
    clock: Clock,
) -> None:
    config = fast_config(max_connections=50, max_keepalive_connections=50)
    async with AsyncVaultClient(config, clock=clock) as client:
        results = await asyncio.gather(
            *(client.insert(connector, creds, insert_data) for _ in range(200))
        )
    assert len(results) == 200
    assert len({r.fingerprint_id for r in results}) == 200
    assert stub.routes("token") == 1
    assert stub.routes("create") == 200


def test_50_threads_with_an_empty_cache_fetch_exactly_one_token(
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
    clock: Clock,
) -> None:
    barrier = threading.Barrier(50)
    errors: list[BaseException] = []
    aliases: list[str] = []
    with VaultClient(fast_config(max_connections=50), clock=clock) as client:

        def work() -> None:
            try:
                barrier.wait()
                aliases.append(client.insert(connector, creds, insert_data).fingerprint_id)
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert len(set(aliases)) == 50
    assert stub.routes("token") == 1
    assert client.tokens.fetches == 1


async def test_concurrent_callers_share_one_failed_token_fetch(
    connector: VaultConnector, insert_data: VaultRequestData, stub: VgsStub, clock: Clock
) -> None:
    wrong = SignatureKey(Secret("client-id-1"), Secret("wrong"), Secret("tntabc12345"))
    async with AsyncVaultClient(fast_config(), clock=clock) as client:
        outcomes = await asyncio.gather(
            *(client.insert(connector, wrong, insert_data) for _ in range(20)),
            return_exceptions=True,
        )
    assert all(isinstance(o, VaultAuthenticationFailed) for o in outcomes)
    assert stub.routes("token") == 1


def test_token_is_refreshed_ahead_of_expiry(
    connector: VaultConnector, creds: SignatureKey, stub: VgsStub, clock: Clock
) -> None:
    stub.expires_in = 100  # margin = min(30 s, 10% of 100 s) = 10 s
    with VaultClient(fast_config(), clock=clock) as client:
        first = client.access_token(connector, creds)
        assert first.expires_at == clock.now + 100
        clock.advance(89)  # 11 s left: still used
        assert client.access_token(connector, creds).token == first.token
        assert stub.routes("token") == 1
        clock.advance(2)  # 9 s left: less than the margin → refreshed
        second = client.access_token(connector, creds)
        assert second.token != first.token
        assert stub.routes("token") == 2


async def test_async_refresh_uses_the_configured_margin(
    connector: VaultConnector, creds: SignatureKey, stub: VgsStub, clock: Clock
) -> None:
    stub.expires_in = 3600  # 10% would be 360 s; the fixed margin (60 s here) is smaller
    config = fast_config(token_refresh_margin=60.0)
    async with AsyncVaultClient(config, clock=clock) as client:
        first = await client.access_token(connector, creds)
        clock.advance(3600 - 61)
        assert (await client.access_token(connector, creds)).token == first.token
        clock.advance(2)
        assert (await client.access_token(connector, creds)).token != first.token
    assert stub.routes("token") == 2


def test_expired_token_is_never_sent(
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
    clock: Clock,
) -> None:
    with VaultClient(fast_config(), clock=clock) as client:
        client.insert(connector, creds, insert_data)
        clock.advance(10_000)
        client.insert(connector, creds, insert_data)
    assert stub.routes("token") == 2
    bearer = [e.authorization for e in stub.exchanges if e.route == "create"]
    assert bearer[0] != bearer[1]


def test_a_401_drops_the_token_and_retries_once(
    client: VaultClient,
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
) -> None:
    client.access_token(connector, creds)
    stub.revoke_tokens()  # the cached token is now rejected by the vault
    result = client.insert(connector, creds, insert_data)
    assert result.fingerprint_id.startswith("tok_sandbox_")
    assert stub.routes("token") == 2
    assert [e.status for e in stub.exchanges if e.route == "create"] == [401, 201]


async def test_async_401_drops_the_token_and_retries_once(
    aclient: AsyncVaultClient,
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
) -> None:
    inserted = await aclient.insert(connector, creds, insert_data)
    stub.revoke_tokens()
    lookup = VaultRequestData(connector_vault_id=inserted.vault_id)
    await aclient.retrieve(connector, creds, lookup)
    assert stub.routes("token") == 2
    assert [e.status for e in stub.exchanges if e.route == "reveal"] == [401, 200]


def test_a_second_401_surfaces_as_the_connectors_typed_error(
    client: VaultClient,
    vgs: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
) -> None:
    stub.fault("create", status=401)
    stub.fault("create", status=401)
    with pytest.raises(VaultNotFound) as info:  # VGS: fresh token still 401 → not assigned
        client.insert(vgs, creds, insert_data)
    assert info.value.upstream_status == 401
    assert info.value.trace_id
    assert stub.routes("create") == 2
    assert stub.routes("token") == 2


async def test_async_second_401_surfaces_as_the_echo_connectors_typed_error(
    aclient: AsyncVaultClient,
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
) -> None:
    stub.fault("create", status=401)
    stub.fault("create", status=401)
    with pytest.raises((VaultNotFound, VaultAuthenticationFailed)):
        await aclient.insert(connector, creds, insert_data)
    assert stub.routes("create") == 2
    assert stub.routes("token") == 2


async def test_concurrent_401s_refetch_one_token(
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
    clock: Clock,
) -> None:
    async with AsyncVaultClient(fast_config(), clock=clock) as client:
        await client.access_token(connector, creds)
        stub.revoke_tokens()
        await asyncio.gather(*(client.insert(connector, creds, insert_data) for _ in range(30)))
    assert stub.routes("token") == 2


def test_a_wrong_secret_never_gets_a_cached_token(
    client: VaultClient,
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
) -> None:
    client.insert(connector, creds, insert_data)  # the right account's token is cached
    wrong = SignatureKey(creds.api_key, Secret("guessed-secret"), creds.api_secret)
    with pytest.raises(VaultAuthenticationFailed):
        client.insert(connector, wrong, insert_data)
    assert stub.routes("token") == 2
    assert stub.routes("create") == 1


def test_a_shared_store_serves_both_clients(
    connector: VaultConnector, creds: SignatureKey, stub: VgsStub, clock: Clock
) -> None:
    store = MemoryTokenStore(clock)
    with VaultClient(fast_config(), token_store=store, clock=clock) as sync_client:
        token = sync_client.access_token(connector, creds)

    async def read() -> str:
        async with AsyncVaultClient(fast_config(), token_store=store, clock=clock) as client:
            return (await client.access_token(connector, creds)).token.reveal()

    assert asyncio.run(read()) == token.token.reveal()
    assert stub.routes("token") == 1
    assert "eyJ" not in repr(store)


def test_token_endpoint_5xx_is_retried(
    client: VaultClient,
    connector: VaultConnector,
    creds: SignatureKey,
    stub: VgsStub,
    sleeps: list[float],
) -> None:
    stub.fault("token", status=503)
    stub.fault("token", status=502)
    token = client.access_token(connector, creds)
    assert token.token.reveal().startswith("eyJ")
    assert stub.routes("token") == 3
    assert len(sleeps) == 2


def test_token_endpoint_down_is_vault_unavailable_after_all_attempts(
    connector: VaultConnector, creds: SignatureKey, stub: VgsStub, clock: Clock
) -> None:
    for _ in range(3):
        stub.fault("token", status=503)
    config: ClientConfig = fast_config()
    with (
        VaultClient(config, clock=clock, sleep=lambda _s: None) as client,
        pytest.raises(VaultUnavailable),
    ):
        client.access_token(connector, creds)
    assert stub.routes("token") == 3
