"""`vaultswitch orchestrator serve|migrate` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from vaultswitch.cli import app


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


def test_serve_on_port_zero_answers_health(tmp_path: Path) -> None:
    env = {**os.environ, "VAULTSWITCH_ORCHESTRATOR_ADMIN_API_KEY": "adm_cli_test"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vaultswitch.cli",
            "orchestrator",
            "serve",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = None
        for line in proc.stdout:
            if line.startswith("{") and json.loads(line).get("event") == "orchestrator.listening":
                url = json.loads(line)["url"]
                break
        assert url is not None
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(url + "/health")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert response.status_code == 200
        assert response.headers["x-request-id"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
