"""The app's frame over real HTTP: health, OpenAPI, docs, request ids, error bodies."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import structlog
from orch_support import Orchestrator, assert_error

from vaultswitch.logs import configure_logging


def test_health_openapi_and_docs(any_orchestrator: Orchestrator) -> None:
    http = any_orchestrator.http
    health = http.get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    spec = http.get("/openapi.json")
    assert spec.status_code == 200
    assert spec.json()["info"]["title"] == "vaultswitch orchestrator"
    docs = http.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


def test_every_response_carries_a_request_id_and_keeps_a_valid_incoming_one(
    orchestrator: Orchestrator,
) -> None:
    fresh = orchestrator.http.get("/health")
    assert len(fresh.headers["x-request-id"]) == 32
    kept = orchestrator.http.get("/health", headers={"X-Request-Id": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    replaced = orchestrator.http.get("/health", headers={"X-Request-Id": "bad id with spaces"})
    assert replaced.headers["x-request-id"] != "bad id with spaces"


def test_unknown_route_and_wrong_method_answer_hyperswitch_error_bodies(
    orchestrator: Orchestrator,
) -> None:
    missing = orchestrator.http.get("/v2/nothing-here")
    assert_error(missing, 404, "IR_02")
    wrong = orchestrator.http.delete("/health")
    error = assert_error(wrong, 405, "IR_03")
    assert error["request_id"] == wrong.headers["x-request-id"]


def test_request_log_lines_carry_the_request_id(orchestrator: Orchestrator) -> None:
    stream = io.StringIO()
    configure_logging("info", stream=stream)
    try:
        response = orchestrator.http.get("/health")
    finally:
        structlog.reset_defaults()
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("event") == "request"]
    assert any(
        line["request_id"] == response.headers["x-request-id"] and line["status"] == 200
        for line in requests
    )


def test_the_orchestrator_never_imports_the_vault() -> None:
    code = (
        "import sys, vaultswitch.orchestrator.app, vaultswitch.orchestrator.cli;"
        "bad = sorted(m for m in sys.modules if m == 'vaultswitch.vault' or "
        "m.startswith('vaultswitch.vault.'));"
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""
