"""`vaultswitch orchestrator serve|migrate` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from server_logs import tee_lines
from vaultswitch.cli import app

ADMIN_KEY = "adm_cli_test"


def test_serve_refuses_several_workers_on_sqlite_with_a_hint(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["orchestrator", "serve", "--workers", "2", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    body = json.loads(result.output.strip().splitlines()[-1])
    assert body["error"] == "CANNOT_START"
    assert "PostgreSQL" in body["detail"]
    assert "--workers 1" in body["hint"]


def test_migrate_creates_the_database(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["orchestrator", "migrate", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["migrated"] is True
    assert (tmp_path / "orchestrator.db").is_file()


@contextmanager
def _serving(*args: str) -> Iterator[str]:
    """`vaultswitch orchestrator serve --port 0 ARGS` in a subprocess; yields its URL."""
    env = {**os.environ, "VAULTSWITCH_ORCHESTRATOR_ADMIN_API_KEY": ADMIN_KEY}
    command = [sys.executable, "-m", "vaultswitch.cli", "orchestrator", "serve", "--port", "0"]
    proc = subprocess.Popen(
        [*command, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True
    )
    try:
        assert proc.stdout is not None
        url = None
        startup = []
        for line in proc.stdout:
            startup.append(line)
            if line.startswith("{") and json.loads(line).get("event") == "orchestrator.listening":
                url = json.loads(line)["url"]
                break
        assert url is not None
        # keep reading its log lines so that a full pipe never blocks the server, into a
        # server log file that the run-wide card-number scan reads (tests/card_leaks.py)
        tee_lines(proc.stdout, "orchestrator-cli", already=startup)
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(url + "/health")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert response.status_code == 200
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_on_port_zero_answers_health(tmp_path: Path) -> None:
    with _serving("--data-dir", str(tmp_path)) as url:
        assert httpx.get(url + "/health").headers["x-request-id"]


@pytest.mark.postgres
@pytest.mark.redis
def test_two_workers_on_postgres_and_redis_share_merchants_and_keys(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    args = ("--data-dir", str(tmp_path), "--workers", "2")
    with _serving(*args, "--database-url", postgres_url, "--redis-url", redis_url) as url:
        admin = {"Authorization": f"admin-api-key={ADMIN_KEY}"}
        merchant = httpx.post(
            url + "/v2/merchant-accounts", json={"merchant_name": "two workers"}, headers=admin
        ).json()
        key = httpx.post(
            url + "/v2/api-keys",
            json={"name": "k", "expiration": "never"},
            headers={**admin, "X-Merchant-Id": merchant["id"]},
        ).json()["api_key"]
        with httpx.Client(base_url=url) as http:  # new connections land on either worker
            for _ in range(8):
                response = http.get(
                    f"/v2/profiles/{merchant['default_profile']}",
                    headers={"Authorization": f"api-key={key}", "Connection": "close"},
                )
                assert response.status_code == 200, response.text
