"""`vault serve --workers 2` on one PostgreSQL + Redis: dedup stays exact, limits are shared."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from vaultswitch.vault.core.service import VaultService
from vaultswitch.vault.settings import VaultSettings

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

RATE_LIMIT = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


@pytest.fixture
def cluster(
    tmp_path: Path, postgres_url: str, redis_url: str, redis_prefix: str
) -> Iterator[tuple[str, VaultService, subprocess.Popen[bytes]]]:
    settings = VaultSettings(data_dir=tmp_path, database_url=postgres_url, redis_url=redis_url)
    service = VaultService.open(settings)
    port = _free_port()
    env = {**os.environ, "VAULTSWITCH_REDIS_PREFIX": redis_prefix}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vaultswitch.vault.cli",
            "serve",
            "--workers",
            "2",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path),
            "--database-url",
            postgres_url,
            "--redis-url",
            redis_url,
            "--rate-limit",
            str(RATE_LIMIT),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "/ready").status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"server did not start: {proc.stderr.read()!r}")  # type: ignore[union-attr]
        time.sleep(0.1)
    try:
        yield url, service, proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        service.close()
        import redis

        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=redis_prefix + "*"))
        if keys:
            client.delete(*keys)


def test_two_workers_keep_dedup_exact_and_share_rate_limits(
    cluster: tuple[str, VaultService, subprocess.Popen[bytes]],
) -> None:
    url, service, proc = cluster
    assert len(_children(proc.pid)) >= 2  # uvicorn supervisor + 2 worker processes

    vault = service.create_vault("dedup")
    account, secret = service.create_service_account([vault.vault_id])
    token = httpx.post(
        url + "/auth/realms/vgs/protocol/openid-connect/token",
        data={"grant_type": "client_credentials"},
        auth=(account.client_id, secret.reveal()),
    ).json()["access_token"]
    values = [f"41111111111111{i:02d}" for i in range(5)]

    async def create_all() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=16)
        async with httpx.AsyncClient(
            base_url=f"{url}/{vault.vault_id}",
            headers={"Authorization": f"Bearer {token}"},
            limits=limits,
        ) as c:
            calls = [
                c.post("/aliases", json={"data": [{"value": v, "format": "FPE_SIX_T_FOUR"}]})
                for v in values
                for _ in range(8)
            ]
            return await asyncio.gather(*calls)

    responses = asyncio.run(create_all())
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses][:3]
    by_value: dict[str, set[str]] = {}
    for r in responses:
        rec = r.json()["data"][0]
        by_value.setdefault(rec["value"], set()).update(a["alias"] for a in rec["aliases"])
    assert set(by_value) == set(values)
    assert all(len(aliases) == 1 for aliases in by_value.values()), by_value

    # rate limit counted in Redis across both workers: exactly RATE_LIMIT pass in one window
    other = service.create_vault("limited")
    user, password = service.create_access_credentials(other.vault_id)
    if time.time() % 60 > 50:  # do not straddle a window boundary
        time.sleep(61 - time.time() % 60)

    async def hammer() -> list[int]:
        async with httpx.AsyncClient(base_url=url, auth=(user, password.reveal())) as c:
            rs = await asyncio.gather(
                *[c.get("/aliases/tok_sandbox_x") for _ in range(RATE_LIMIT + 10)]
            )
            return [r.status_code for r in rs]

    statuses = asyncio.run(hammer())
    assert statuses.count(404) == RATE_LIMIT
    assert statuses.count(429) == 10
