"""`vaultswitch migrate` as a user runs it, in a subprocess against the live orchestrator and
two vaults: a whole run with --verify and --delete-source, a run killed with SIGKILL in the
middle and run again (nothing inserted twice, the same final report), a dry run, and the
errors a user can make."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from orch_migrate_support import MigrationWorld, luhn_number, migration_world

from live_uvicorn import LiveServer

pytestmark = pytest.mark.slow


@pytest.fixture
def world(tmp_path: Path) -> Iterator[MigrationWorld]:
    with migration_world(tmp_path) as built:
        yield built


def _command(world: MigrationWorld, *args: str, url: str | None = None) -> list[str]:
    return [
        sys.executable,
        "-m",
        "vaultswitch.cli",
        "migrate",
        "--from",
        world.account_a,
        "--to",
        world.account_b,
        "--orchestrator-url",
        url or world.orch.url,
        "--api-key",
        world.merchant.api_key,
        *args,
    ]


def _run(world: MigrationWorld, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _command(world, *args),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "120"},
        check=False,
    )


def _no_card_number(world: MigrationWorld, *texts: str) -> None:
    for number in world.numbers.values():
        for text in texts:
            assert number not in text
            assert number[-12:] not in text


def _report(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as rows:
        return {row["payment_method_id"]: row for row in csv.DictReader(rows)}


def test_a_whole_run_moves_verifies_and_deletes_the_source(
    world: MigrationWorld, tmp_path: Path
) -> None:
    pm_ids = [world.save(luhn_number(), cvc="123"), world.save(luhn_number())]
    world.use_vault(world.account_a, multi_token=True)
    pm_ids.append(world.save(luhn_number(), cvc="987"))
    done = _run(world, "--verify", "--delete-source", "--json", "--concurrency", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["status"] == "source_deleted"
    assert summary["counts"]["moved"] == 3
    assert summary["verify"]["ok"] == 3
    assert summary["source"]["deleted"] == 3
    assert summary["resumed"] is False
    report = tmp_path / f"migrate-{world.account_a}-{world.account_b}.report.csv"
    assert summary["report"] == report.name
    rows = _report(report)
    assert sorted(rows) == sorted(pm_ids)
    assert {(r["status"], r["verify"], r["source"]) for r in rows.values()} == {
        ("moved", "ok", "deleted")
    }
    for pm_id in pm_ids:
        assert world.pm(pm_id)["external_vault_source"] == world.account_b
        assert world.pay(pm_id).json()["status"] == "succeeded"
    _no_card_number(world, done.stdout, done.stderr, report.read_text())

    # the table for people, and nothing left to do on a second run
    again = _run(world, "--verify", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "migration" in again.stdout
    assert "report:" in again.stdout


class Gate:
    """A reverse proxy in front of the orchestrator that answers the first ``allowed`` move
    steps and then holds every later step's answer (the orchestrator has done the step):
    a run behind it is stuck in the middle until it is killed."""

    def __init__(self, upstream: str, allowed: int) -> None:
        self.upstream = upstream
        self.allowed = allowed
        self.steps = 0
        self.migration_id: str | None = None
        self.held = threading.Event()
        self.open = threading.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()  # startup
            await send({"type": "lifespan.startup.complete"})
            await receive()  # shutdown
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {
            k.decode(): v.decode()
            for k, v in scope["headers"]
            if k.lower() not in (b"host", b"content-length")
        }
        query = scope.get("query_string", b"").decode()
        path = scope["path"] + (f"?{query}" if query else "")
        async with httpx.AsyncClient(base_url=self.upstream, timeout=120) as client:
            answer = await client.request(scope["method"], path, headers=headers, content=body)
        if scope["path"].endswith("/step"):
            self.migration_id = scope["path"].split("/")[3]
            self.steps += 1
            if self.steps > self.allowed:
                self.held.set()
                await asyncio.to_thread(self.open.wait)
        await send(
            {
                "type": "http.response.start",
                "status": answer.status_code,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": answer.content})


def test_a_killed_run_continues_and_inserts_nothing_twice(
    world: MigrationWorld, tmp_path: Path
) -> None:
    pm_ids = [world.save(luhn_number()) for _ in range(12)]
    gate = Gate(world.orch.url, allowed=2)
    proxy = LiveServer(gate).start()
    try:
        killed = subprocess.Popen(
            _command(world, "--batch-size", "2", "--concurrency", "2", url=proxy.url),
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert gate.held.wait(timeout=120), "the run never reached the held step"
        finally:
            killed.send_signal(signal.SIGKILL)
            killed.wait(timeout=30)
    finally:
        gate.open.set()
        proxy.stop()
    assert killed.returncode == -signal.SIGKILL
    assert gate.migration_id is not None
    migration = world.migration(gate.migration_id)
    done_before = migration["counts"]["moved"]
    assert 0 < done_before < len(pm_ids)  # killed in the middle
    report = tmp_path / f"migrate-{world.account_a}-{world.account_b}.report.csv"
    assert not report.exists()

    again = _run(world, "--json", "--verify", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["resumed"] is True
    assert summary["migration_id"] == migration["id"]
    assert summary["counts"]["moved"] == len(pm_ids)
    assert summary["verify"]["ok"] == len(pm_ids)
    rows = _report(report)
    assert sorted(rows) == sorted(pm_ids)
    assert {r["status"] for r in rows.values()} == {"moved"}
    # each card was stored in vault B exactly once
    created = world.created(world.vault_b, world.box_b)
    assert len(created) == len(pm_ids)
    assert len(set(created)) == len(pm_ids)
    for pm_id in pm_ids:
        assert world.pm(pm_id)["external_vault_source"] == world.account_b


def test_a_dry_run_reports_what_would_move(world: MigrationWorld, tmp_path: Path) -> None:
    pm_ids = [world.save(luhn_number()), world.save(luhn_number(), cvc="123")]
    report = tmp_path / "out" / "plan.csv"
    done = _run(world, "--dry-run", "--json", "--report", str(report), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["dry_run"] is True
    assert summary["counts"]["would_move"] == 2
    assert {r["status"] for r in _report(report).values()} == {"would_move"}
    for pm_id in pm_ids:
        assert world.pm(pm_id)["external_vault_source"] == world.account_a
    assert world.created(world.vault_b, world.box_b) == []


def _last_error(stderr: str) -> dict[str, Any]:
    error: dict[str, Any] = json.loads(stderr.strip().splitlines()[-1])
    assert set(error) == {"error", "detail", "hint"}
    return error


def test_what_a_user_gets_wrong(world: MigrationWorld, tmp_path: Path) -> None:
    # no orchestrator given and no up.json
    lost = subprocess.run(
        [sys.executable, "-m", "vaultswitch.cli", "migrate", "--from", "a", "--to", "b",
         "--data-dir", str(tmp_path / "nothing")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("VAULTSWITCH_")},
        check=False,
    )  # fmt: skip
    assert lost.returncode == 2
    assert _last_error(lost.stderr)["error"] == "NO_ORCHESTRATOR"

    # an account id that is no vault account of the merchant
    unknown = subprocess.run(
        [*_command(world)[:5], "mca_nope", *_command(world)[6:]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert unknown.returncode == 1
    error = _last_error(unknown.stderr)
    assert error["error"] == "MIGRATE_STOPPED"
    assert "HE_02" in error["detail"]
    assert "from_connector_id" in error["detail"]

    # a dry run cannot verify
    usage = _run(world, "--dry-run", "--verify", cwd=tmp_path)
    assert usage.returncode == 2
    assert "--dry-run" in usage.stderr
