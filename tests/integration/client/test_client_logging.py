"""Structured logs per exchange and per flow carry the useful fields and never a secret."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from client_support import CLIENT_SECRET, PAN, Clock, fast_config
from client_vgs_stub import VgsStub

from vaultswitch.client import AsyncVaultClient, VaultClient, redact_client_event
from vaultswitch.connectors.base import SignatureKey, VaultConnector, VaultRequestData
from vaultswitch.domain.errors import VaultswitchError
from vaultswitch.domain.secret import MASK, Secret


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """Every client log line as JSON, at DEBUG, with NO redaction processor: what the client
    passes to the logger must already be clean."""
    saved = structlog.get_config()
    stream = io.StringIO()
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(10),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    yield stream
    structlog.configure(**saved)


def _events(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def _assert_clean(text: str, stub: VgsStub) -> None:
    assert PAN not in text
    assert PAN[-10:] not in text
    assert CLIENT_SECRET not in text
    assert "client-secret" not in text
    assert "Bearer" not in text
    assert "Basic" not in text
    for token in stub.issued:
        assert token not in text
    assert "card_number" not in text


def test_logs_cover_every_exchange_and_flow_without_secrets(
    log_output: io.StringIO,
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
    clock: Clock,
) -> None:
    with VaultClient(fast_config(), clock=clock, sleep=lambda _s: None) as client:
        inserted = client.insert(connector, creds, insert_data)
        lookup = VaultRequestData(connector_vault_id=inserted.vault_id)
        stub.revoke_tokens()  # 401 → re-fetch
        stub.fault("reveal", status=503)  # retried
        client.retrieve(connector, creds, lookup)
        client.delete(connector, creds, lookup)
        with pytest.raises(VaultswitchError):
            client.retrieve(connector, creds, lookup)  # 404
        wrong = SignatureKey(
            Secret("client-id-1"), Secret("wrong-" + CLIENT_SECRET), creds.api_secret
        )
        with pytest.raises(VaultswitchError):
            client.insert(connector, wrong, insert_data)

    text = log_output.getvalue()
    _assert_clean(text, stub)
    events = _events(log_output)
    names = [e["event"] for e in events]
    for expected in (
        "vault.http",
        "vault.flow",
        "vault.retry",
        "vault.token.fetched",
        "vault.token.rejected",
        "vault.flow.failed",
    ):
        assert expected in names, expected

    exchange = next(e for e in events if e["event"] == "vault.http" and e["flow"] == "insert")
    assert exchange["connector"] == connector.name
    assert exchange["method"] == "POST"
    assert exchange["url"] == f"http://127.0.0.1:{stub.port}/tntabc12345/aliases"
    assert exchange["status"] == 201
    assert exchange["attempt"] == 1
    assert isinstance(exchange["duration_ms"], float)
    assert len(exchange["trace_id"]) == 32

    retried = [e for e in events if e["event"] == "vault.http" and e["flow"] == "retrieve"]
    # the scripted 503 comes first, the retry meets the revoked token (401), the re-sent
    # request with a fresh token starts a new exchange
    assert [e["status"] for e in retried][:3] == [503, 401, 200]
    assert [e["attempt"] for e in retried][:3] == [1, 2, 1]

    failed = [e for e in events if e["event"] == "vault.flow.failed"]
    assert {e["code"] for e in failed} >= {"alias_not_found", "vault_authentication_failed"}
    assert all(e.get("trace_id") for e in failed if e["code"] == "alias_not_found")


async def test_async_logs_contain_no_secrets_on_transport_failures(
    log_output: io.StringIO,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
    clock: Clock,
) -> None:
    from vaultswitch.connectors.vgs import VgsConnector

    # user info in the URL must not reach the logs either
    connector = VgsConnector(
        vault_base_url=f"http://user:pa55word@127.0.0.1:{stub.port}/{{vault_id}}/",
        auth_base_url=stub.base_url,
    )
    stub.fault("create", close=True)

    async def no_sleep(_seconds: float) -> None:
        return None

    async with AsyncVaultClient(fast_config(), clock=clock, sleep=no_sleep) as client:
        with pytest.raises(VaultswitchError) as info:
            await client.insert(connector, creds, insert_data)
    text = log_output.getvalue()
    _assert_clean(text, stub)
    assert "pa55word" not in text
    assert "pa55word" not in str(info.value)
    failed = [e for e in _events(log_output) if e["event"] == "vault.http.failed"]
    assert failed
    assert failed[0]["error"] in ("connection_lost", "protocol_error")


def test_info_level_logs_only_what_matters(
    connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    stub: VgsStub,
    clock: Clock,
) -> None:
    saved = structlog.get_config()
    stream = io.StringIO()
    structlog.configure(
        processors=[structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(20),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    try:
        with VaultClient(fast_config(), clock=clock) as client:
            client.insert(connector, creds, insert_data)
            client.insert(connector, creds, insert_data)
    finally:
        structlog.configure(**saved)
    names = [e["event"] for e in _events(stream)]
    assert names == ["vault.token.fetched"]  # successes are debug lines


def test_redact_client_event_masks_sensitive_keys() -> None:
    event = {
        "event": f"card {PAN}",
        "headers": {"Authorization": "Bearer abc.def.ghi"},
        "body": b'{"value": "x"}',
        "client_secret": "s3cr3t",
        "token": Secret("tok"),
        "url": "http://127.0.0.1/aliases",
        "status": 200,
    }
    out = redact_client_event(None, "info", dict(event))
    assert out["headers"] == MASK
    assert out["body"] == MASK
    assert out["client_secret"] == MASK
    assert out["token"] == MASK
    assert PAN not in out["event"]
    assert out["url"] == "http://127.0.0.1/aliases"
    assert out["status"] == 200


def test_client_repr_shows_no_proxy_credentials() -> None:
    client = VaultClient(fast_config(proxy="http://user:secret-pw@127.0.0.1:3128"))
    try:
        assert "secret-pw" not in repr(client)
        assert "proxy=set" in repr(client)
    finally:
        client.close()
