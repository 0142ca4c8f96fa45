"""vaultswitch used as a library prints nothing until the application configures logging;
then its lines arrive through the standard logging module, scrubbed. Each run is a fresh
process against our vault on loopback and a closed port."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import VaultAccount

CHILD = Path(__file__).with_name("e2e_logging_child.py")
PAN = "4111111111111111"
CVC = "737"
#: logging.basicConfig's format: every line a record, no stray bare line
RECORD_LINE = re.compile(r"(DEBUG|INFO|WARNING|ERROR|CRITICAL):[A-Za-z0-9_.]+:\S")


@pytest.fixture
def closed_url() -> Iterator[str]:
    """A loopback port that is bound but not listening: connecting is refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def _run(
    account: VaultAccount, closed_url: str, logging_mode: str
) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("VAULTSWITCH_", "E2E_"))
    }
    env.update(
        {
            "E2E_VAULT_URL": account.url,
            "E2E_VAULT_ID": account.vault_id,
            "E2E_CLIENT_ID": account.oauth.api_key.reveal(),
            "E2E_CLIENT_SECRET": account.oauth.key1.reveal(),
            "E2E_CLOSED_URL": closed_url,
            "E2E_LOGGING": logging_mode,
            "PYTHONWARNINGS": "ignore",
        }
    )
    result = subprocess.run(
        [sys.executable, str(CHILD)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_unconfigured_the_client_prints_nothing(
    http_account: VaultAccount, closed_url: str
) -> None:
    result = _run(http_account, closed_url, "none")
    assert result.stdout == ""
    assert result.stderr == ""


def test_with_basic_config_the_lines_arrive_through_logging_scrubbed(
    http_account: VaultAccount, closed_url: str
) -> None:
    result = _run(http_account, closed_url, "debug")
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines
    stray = [line for line in lines if not RECORD_LINE.match(line)]
    assert stray == []
    ours = [line.split(":", 2) for line in lines if ":vaultswitch." in line]
    events = {(level, name, message.split(" ", 1)[0]) for level, name, message in ours}
    for expected in (
        ("DEBUG", "vaultswitch.client", "vault.http"),
        ("DEBUG", "vaultswitch.client", "vault.flow"),
        ("INFO", "vaultswitch.client", "vault.token.fetched"),
        ("INFO", "vaultswitch.client", "vault.retry"),
        ("WARNING", "vaultswitch.client", "vault.http.failed"),
        ("WARNING", "vaultswitch.client", "vault.flow.failed"),
    ):
        assert expected in events, expected
    text = result.stderr
    assert f"url={http_account.url}/{http_account.vault_id}/aliases" in text
    assert "exception_type=ConnectError" in text
    assert "code=alias_not_found" in text
    assert "code=vault_authentication_failed" in text
    assert PAN not in text
    assert PAN[-10:] not in text
    assert f"={CVC}" not in text
    assert http_account.oauth.key1.reveal() not in text
    assert "Ada Lovelace" not in text
