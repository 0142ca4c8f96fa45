"""Where the client's lines go: the application's structlog set-up when there is one (also
when it comes after the client was created), with no stray line for a connection error."""

from __future__ import annotations

import io
import json
import re
import socket
from collections.abc import Iterator

import pytest
import structlog
from client_support import PAN, fast_config

from vaultswitch.client import VaultClient
from vaultswitch.connectors.base import SignatureKey, VaultConnector, VaultRequestData
from vaultswitch.connectors.vgs import VgsConnector
from vaultswitch.domain.errors import VaultUnavailable
from vaultswitch.logs import configure_logging

CONSOLE_LINE = re.compile(r"\d{4}-\d\d-\d\dT\S+ \[(debug|info|warning|error)\s*\] \S")


@pytest.fixture
def closed_connector() -> Iterator[VaultConnector]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
    base = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    try:
        yield VgsConnector(vault_base_url=base + "{vault_id}/", auth_base_url=base)
    finally:
        sock.close()


@pytest.fixture
def fresh_structlog() -> Iterator[None]:
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


@pytest.mark.usefixtures("fresh_structlog")
def test_a_connection_error_prints_no_stray_line(
    closed_connector: VaultConnector, creds: SignatureKey, insert_data: VaultRequestData
) -> None:
    stream = io.StringIO()
    configure_logging("debug", json=False, stream=stream)
    with (
        VaultClient(fast_config(), sleep=lambda _s: None) as client,
        pytest.raises(VaultUnavailable),
    ):
        client.insert(closed_connector, creds, insert_data)
    lines = stream.getvalue().splitlines()
    assert [line for line in lines if not CONSOLE_LINE.match(line)] == []  # no bare line
    failed = [line for line in lines if "vault.http.failed" in line]
    assert len(failed) == 3  # every attempt
    assert all("exception_type=ConnectError" in line for line in failed)


@pytest.mark.usefixtures("fresh_structlog")
def test_logging_configured_after_the_client_was_created_applies(
    connector: VaultConnector, creds: SignatureKey, insert_data: VaultRequestData
) -> None:
    with VaultClient(fast_config()) as client:
        client.insert(connector, creds, insert_data)  # unconfigured: nothing, anywhere
        stream = io.StringIO()
        configure_logging("debug", stream=stream)
        client.insert(connector, creds, insert_data)
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    client_lines = [e for e in events if e["event"].startswith("vault.")]
    assert {e["event"] for e in client_lines} >= {"vault.http", "vault.flow"}
    assert all("timestamp" in e and "level" in e for e in client_lines)
    assert PAN not in stream.getvalue()


@pytest.mark.usefixtures("fresh_structlog")
def test_unconfigured_in_process_nothing_reaches_stdout_or_stderr(
    connector: VaultConnector,
    closed_connector: VaultConnector,
    creds: SignatureKey,
    insert_data: VaultRequestData,
    capfd: pytest.CaptureFixture[str],
) -> None:
    with VaultClient(fast_config(), sleep=lambda _s: None) as client:
        inserted = client.insert(connector, creds, insert_data)
        client.retrieve(connector, creds, VaultRequestData(connector_vault_id=inserted.vault_id))
        with pytest.raises(VaultUnavailable):
            client.insert(closed_connector, creds, insert_data)
    out, err = capfd.readouterr()
    assert out == ""
    assert err == ""
