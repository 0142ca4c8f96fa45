"""Retries, timeouts and every transport failure path, over real loopback HTTP."""

from __future__ import annotations

import asyncio
import socket

import pytest
from client_support import Clock, fast_config
from client_vgs_stub import VgsStub

from vaultswitch.client import AsyncVaultClient, RetryPolicy, VaultClient
from vaultswitch.connectors.base import (
    Call,
    Flow,
    HttpRequest,
    SignatureKey,
    SingleVaultId,
    VaultConnector,
    VaultRequestData,
)
from vaultswitch.connectors.vgs import VgsConnector
from vaultswitch.domain.errors import (
    MalformedVaultResponse,
    RateLimited,
    VaultswitchError,
    VaultUnavailable,
)


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stored(
    client: VaultClient, connector: VaultConnector, creds: SignatureKey, data: VaultRequestData
) -> VaultRequestData:
    inserted = client.insert(connector, creds, data)
    return VaultRequestData(connector_vault_id=inserted.vault_id)


# --- 5xx ---------------------------------------------------------------------------------------


def test_reads_are_retried_on_503_then_succeed(
    client: VaultClient,
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
    sleeps: list[float],
) -> None:
    lookup = _stored(client, connector, creds, insert_data)
    stub.fault("reveal", status=503)
    stub.fault("reveal", status=500)
    client.retrieve(connector, creds, lookup)
    assert [e.status for e in stub.exchanges if e.route == "reveal"] == [503, 500, 200]
    assert len(sleeps) == 2
    assert all(0 <= s <= 0.002 for s in sleeps)  # full jitter under the configured cap


async def test_async_deletes_are_retried_on_502(
    aclient: AsyncVaultClient,
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
    sleeps: list[float],
) -> None:
    inserted = await aclient.insert(connector, creds, insert_data)
    stub.fault("delete", status=502)
    await aclient.delete(connector, creds, VaultRequestData(connector_vault_id=inserted.vault_id))
    assert [e.status for e in stub.exchanges if e.route == "delete"] == [502, 204]
    assert len(sleeps) == 1


def test_creates_are_not_retried_on_503(
    client: VaultClient,
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
    sleeps: list[float],
) -> None:
    stub.fault("create", status=503)
    with pytest.raises(VaultUnavailable) as info:
        client.insert(connector, creds, insert_data)
    assert stub.routes("create") == 1
    assert sleeps == []
    assert info.value.upstream_status == 503


async def test_async_creates_are_not_retried_on_500(
    aclient: AsyncVaultClient,
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
) -> None:
    stub.fault("create", status=500)
    with pytest.raises(VaultUnavailable):
        await aclient.insert(connector, creds, insert_data)
    assert stub.routes("create") == 1


def test_reads_give_up_after_the_last_attempt_with_the_connectors_typed_error(
    client: VaultClient,
    vgs: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
    sleeps: list[float],
) -> None:
    lookup = _stored(client, vgs, creds, insert_data)
    for _ in range(3):
        stub.fault("reveal", status=503)
    with pytest.raises(VaultUnavailable) as info:
        client.retrieve(vgs, creds, lookup)
    assert stub.routes("reveal") == 3
    assert len(sleeps) == 2
    assert info.value.upstream_status == 503
    assert info.value.trace_id  # the parsed VGS error's trace id


def test_501_is_not_retried(
    client: VaultClient,
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
) -> None:
    lookup = _stored(client, connector, creds, insert_data)
    stub.fault("reveal", status=501)
    with pytest.raises(VaultswitchError):  # the connector decides the subtype
        client.retrieve(connector, creds, lookup)
    assert stub.routes("reveal") == 1


# --- 429 ---------------------------------------------------------------------------------------


def test_429_on_a_create_is_retried_honouring_retry_after(
    client: VaultClient,
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
    sleeps: list[float],
) -> None:
    stub.fault("create", status=429, headers={"Retry-After": "2"})
    result = client.insert(connector, creds, insert_data)
    assert result.fingerprint_id.startswith("tok_sandbox_")
    assert sleeps == [2.0]
    assert [e.status for e in stub.exchanges if e.route == "create"] == [429, 201]


async def test_async_429_without_retry_after_backs_off(
    aclient: AsyncVaultClient,
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
    sleeps: list[float],
) -> None:
    stub.fault("create", status=429)
    await aclient.insert(connector, creds, insert_data)
    assert len(sleeps) == 1
    assert 0 <= sleeps[0] <= 0.002
    assert stub.routes("create") == 2


def test_retry_after_longer_than_the_cap_surfaces_rate_limited(
    client: VaultClient,
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
    sleeps: list[float],
) -> None:
    stub.fault("create", status=429, headers={"Retry-After": "60"})
    with pytest.raises(RateLimited) as info:
        client.insert(connector, creds, insert_data)
    assert info.value.retry_after == 60.0
    assert sleeps == []
    assert stub.routes("create") == 1


def test_429_every_time_ends_in_rate_limited(
    client: VaultClient,
    vgs: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
    sleeps: list[float],
) -> None:
    for _ in range(3):
        stub.fault("create", status=429, headers={"Retry-After": "1"})
    with pytest.raises(RateLimited) as info:
        client.insert(vgs, creds, insert_data)
    assert sleeps == [1.0, 1.0]
    assert info.value.retry_after == 1.0
    assert stub.routes("create") == 3


# --- connection failures -------------------------------------------------------------------


def test_connection_refused_is_vault_unavailable_after_every_attempt(
    stub: VgsStub,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    clock: Clock,
    sleeps: list[float],
) -> None:
    port = _dead_port()
    connector = VgsConnector(
        vault_base_url=f"http://127.0.0.1:{port}/{{vault_id}}/", auth_base_url=stub.base_url
    )
    config = fast_config(retry=RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.001))
    with (
        VaultClient(config, clock=clock, sleep=sleeps.append) as client,
        pytest.raises(VaultUnavailable) as info,
    ):
        client.insert(connector, creds, insert_data)  # a create: safe, it never arrived
    assert len(sleeps) == 3  # 4 attempts
    error = info.value
    assert f"127.0.0.1:{port}" in error.message
    assert f"127.0.0.1:{port}" in error.hint
    assert "4 attempts" in error.message
    assert "client-secret-1" not in str(error)
    assert "client-id-1" not in str(error)
    assert error.__cause__ is None  # no raw httpx exception chained


async def test_async_token_endpoint_refused_is_vault_unavailable(
    creds: SignatureKey, insert_data: VaultRequestData, clock: Clock, sleeps: list[float]
) -> None:
    port = _dead_port()
    connector = VgsConnector(
        vault_base_url=f"http://127.0.0.1:{port}/{{vault_id}}/",
        auth_base_url=f"http://127.0.0.1:{port}/",
    )

    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    async with AsyncVaultClient(fast_config(), clock=clock, sleep=record) as client:
        with pytest.raises(VaultUnavailable) as info:
            await client.insert(connector, creds, insert_data)
    assert "access_token request" in info.value.message
    assert len(sleeps) == 2


def test_tls_to_a_plain_http_port_is_not_retried(
    stub: VgsStub, creds: SignatureKey, client: VaultClient, sleeps: list[float]
) -> None:
    connector = VgsConnector(
        vault_base_url=stub.vault_base_template, auth_base_url=f"https://127.0.0.1:{stub.port}/"
    )
    with pytest.raises(VaultUnavailable) as info:
        client.access_token(connector, creds)
    assert "TLS" in info.value.message
    assert "ClientConfig.verify" in info.value.hint
    assert sleeps == []


def test_an_unsendable_url_is_vault_unavailable_without_retries(
    client: VaultClient, sleeps: list[float]
) -> None:
    call = Call((HttpRequest("GET", "ftp://127.0.0.1/x", Flow.RETRIEVE),), lambda r: r)
    with pytest.raises(VaultUnavailable) as info:
        client.run(call)
    assert "base URL" in info.value.hint
    assert sleeps == []


# --- timeouts ------------------------------------------------------------------------------


def test_read_timeout_on_a_read_is_retried(
    stub: VgsStub,
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    clock: Clock,
    sleeps: list[float],
) -> None:
    with VaultClient(fast_config(read_timeout=0.2), clock=clock, sleep=sleeps.append) as client:
        lookup = _stored(client, connector, creds, insert_data)
        stub.fault("reveal", delay=0.6, then_normal=True)
        client.retrieve(connector, creds, lookup)
    assert stub.routes("reveal") == 2
    assert len(sleeps) == 1


async def test_read_timeout_on_a_create_is_not_retried(
    stub: VgsStub,
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    clock: Clock,
) -> None:
    async with AsyncVaultClient(fast_config(read_timeout=0.2), clock=clock) as client:
        await client.access_token(connector, creds)
        stub.fault("create", delay=0.6, then_normal=True)
        with pytest.raises(VaultUnavailable) as info:
            await client.insert(connector, creds, insert_data)
    assert "read timeout" in info.value.message
    assert "may have been stored" in info.value.hint
    await asyncio.sleep(0.5)  # let the slow request finish on the server side
    assert stub.routes("create") == 1


async def test_pool_timeout_is_retried_then_vault_unavailable(
    stub: VgsStub,
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    clock: Clock,
    sleeps: list[float],
) -> None:
    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    config = fast_config(max_connections=1, max_keepalive_connections=1, pool_timeout=0.05)
    async with AsyncVaultClient(config, clock=clock, sleep=record) as client:
        await client.access_token(connector, creds)
        stub.fault("create", delay=0.5, then_normal=True)
        slow = asyncio.create_task(client.insert(connector, creds, insert_data))
        await asyncio.sleep(0.05)
        with pytest.raises(VaultUnavailable) as info:
            await client.insert(connector, creds, insert_data)
        assert "max_connections" in info.value.hint
        assert len(sleeps) == 2  # pool timeouts never reached the server: retried
        await slow
    assert stub.routes("create") == 1


# --- broken answers ------------------------------------------------------------------------


def test_connection_closed_without_answer_is_retried_for_reads(
    client: VaultClient,
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
    sleeps: list[float],
) -> None:
    lookup = _stored(client, connector, creds, insert_data)
    stub.fault("reveal", close=True)
    client.retrieve(connector, creds, lookup)
    assert stub.routes("reveal") == 2
    assert len(sleeps) == 1


def test_connection_closed_without_answer_is_not_retried_for_creates(
    client: VaultClient,
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
    sleeps: list[float],
) -> None:
    client.access_token(connector, creds)
    stub.fault("create", close=True)
    with pytest.raises(VaultUnavailable) as info:
        client.insert(connector, creds, insert_data)
    assert "1 attempt" in info.value.message
    assert stub.routes("create") == 1
    assert sleeps == []


def test_non_json_answer_is_malformed_vault_response(
    client: VaultClient,
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
) -> None:
    lookup = _stored(client, connector, creds, insert_data)
    stub.fault("reveal", status=200, body=b"<html>proxy login</html>")
    with pytest.raises(MalformedVaultResponse) as info:
        client.retrieve(connector, creds, lookup)
    assert info.value.upstream_status == 200


def test_json_of_the_wrong_shape_is_malformed_vault_response(
    client: VaultClient,
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
) -> None:
    client.access_token(connector, creds)
    stub.fault("create", status=201, body=b'{"data": []}')
    with pytest.raises(MalformedVaultResponse) as info:
        client.insert(connector, creds, insert_data)
    assert info.value.trace_id  # from the vgs-request-id header


async def test_malformed_token_answer_is_malformed_vault_response(
    aclient: AsyncVaultClient, connector: VaultConnector, creds: SignatureKey, stub: VgsStub
) -> None:
    stub.fault("token", status=200, body=b'{"token_type": "Bearer"}')
    with pytest.raises(MalformedVaultResponse):
        await aclient.access_token(connector, creds)
    assert stub.routes("token") == 1


def test_undecodable_body_is_malformed_vault_response(
    client: VaultClient,
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
    sleeps: list[float],
) -> None:
    lookup = _stored(client, connector, creds, insert_data)
    stub.fault("reveal", status=200, body=b"not gzip", headers={"Content-Encoding": "gzip"})
    with pytest.raises(MalformedVaultResponse) as info:
        client.retrieve(connector, creds, lookup)
    assert "decoded" in info.value.message
    assert sleeps == []


def test_unknown_alias_is_not_retried(
    client: VaultClient,
    connector: VaultConnector,
    creds: SignatureKey,
    stub: VgsStub,
    sleeps: list[float],
) -> None:
    lookup = VaultRequestData(connector_vault_id=SingleVaultId("tok_sandbox_missing"))
    with pytest.raises(VaultswitchError, match="alias"):
        client.retrieve(connector, creds, lookup)
    assert stub.routes("reveal") == 1
    assert sleeps == []
