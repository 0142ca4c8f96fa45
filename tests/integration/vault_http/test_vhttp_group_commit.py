"""Group commit (SQLite) and the threaded path (PostgreSQL) under concurrent requests.

Each request's unit of work is a SAVEPOINT of a shared transaction on SQLite: a
request that fails half-way must leave nothing behind and get its own 4xx, while
the requests batched with it are stored and answered normally.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from vhttp_support import Vault, make_settings, start_vault

from vaultswitch.domain.secret import Secret
from vaultswitch.vault.core import store
from vaultswitch.vault.core.errors import AliasNotFoundError
from vaultswitch.vault.core.models import AliasReference, AuditContext, NewValue
from vaultswitch.vault.core.service import VaultService
from vaultswitch.vault.http.groupcommit import GroupCommitter

NOT_A_CARD = "not-a-card-number"


@pytest.fixture
def db_vault(tmp_path: Path, database_url: str) -> Iterator[Vault]:
    settings = make_settings(tmp_path, database_url=database_url)
    service = VaultService.open(settings)
    server, vault = start_vault(settings, service)
    try:
        yield vault
    finally:
        server.stop()
        service.close()


def _table_count(service: VaultService, table: sa.Table, **where: str) -> int:
    stmt = sa.select(sa.func.count()).select_from(table)
    for column, value in where.items():
        stmt = stmt.where(table.c[column] == value)
    with service.engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


async def _post_all(
    vault: Vault, token: str, bodies: list[dict[str, object]]
) -> list[httpx.Response]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=f"{vault.url}/{vault.vault_id}",
        headers=headers,
        limits=httpx.Limits(max_connections=64),
        timeout=30,
    ) as client:
        return list(await asyncio.gather(*(client.post("/aliases", json=b) for b in bodies)))


def test_concurrent_creates_fail_alone_and_leave_nothing_behind(db_vault: Vault) -> None:
    token = db_vault.token()
    with db_vault.v2(token) as client:
        r = client.post("/aliases", json={"data": [{"value": NOT_A_CARD, "format": "UUID"}]})
        assert r.status_code == 201, r.text
        base_alias = r.json()["data"][0]["aliases"][0]["alias"]
    records_before = _table_count(db_vault.service, store.records)

    bodies: list[dict[str, object]] = []
    expected: list[tuple[int, str | None]] = []
    for i in range(50):
        valid = {"value": f"41111111{i:08d}", "format": "UUID", "classifiers": ["pan"]}
        if i % 5 == 1:  # written first, then the missing reference fails the request: 404
            missing = "tok_sandbox_" + "1" * 22
            bodies.append({"data": [valid, {"alias": missing, "format": "RAW_UUID"}]})
            expected.append((404, "ALIAS_NOT_FOUND"))
        elif i % 5 == 3:  # written first, then the referenced value does not fit: 400
            bodies.append({"data": [valid, {"alias": base_alias, "format": "FPE_SIX_T_FOUR"}]})
            expected.append((400, "INVALID_VALUE"))
        else:
            bodies.append({"data": [valid]})
            expected.append((201, None))

    responses = asyncio.run(_post_all(db_vault, token, bodies))

    stored: dict[str, str] = {}
    for i, (r, (status, code)) in enumerate(zip(responses, expected, strict=True)):
        assert r.status_code == status, (i, r.text)
        if code is not None:
            assert r.json()["errors"][0]["code"] == code
            assert "41111111" not in r.text
        else:
            item = r.json()["data"][0]
            stored[item["aliases"][0]["alias"]] = item["value"]
    assert len(stored) == 30

    service = db_vault.service
    assert _table_count(service, store.records) == records_before + 30
    ctx = AuditContext("test")
    names = list(stored)
    for chunk in (names[:15], names[15:]):
        revealed = service.reveal(db_vault.vault_id, chunk, "PERSISTENT", ctx)
        assert {a: rec.value.reveal() for a, rec in revealed.items()} == {
            a: stored[a] for a in chunk
        }
    # the failed requests' first items were rolled back with them: creating those
    # values now makes new records (fingerprint dedup would find stored ones)
    failed_values = [f"41111111{i:08d}" for i, (s, _) in enumerate(expected) if s != 201]
    service.create_aliases(
        db_vault.vault_id, [NewValue(Secret(v), "UUID") for v in failed_values[:3]], ctx
    )
    assert _table_count(service, store.records) == records_before + 30 + 3
    # one audit row per stored item (+ the base alias + the 3 just created)
    assert _table_count(service, store.audit_log, action="alias.create") == 30 + 1 + 3


def test_concurrent_reveals_each_write_their_audit_row(db_vault: Vault) -> None:
    token = db_vault.token()
    with db_vault.v2(token) as client:
        body = {"data": [{"value": f"5{i:015d}", "format": "UUID"} for i in range(10)]}
        created = client.post("/aliases", json=body).json()["data"]
    aliases = [d["aliases"][0]["alias"] for d in created]

    async def reveal_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(
            base_url=f"{db_vault.url}/{db_vault.vault_id}",
            headers={"Authorization": f"Bearer {token}"},
            limits=httpx.Limits(max_connections=64),
            timeout=30,
        ) as client:
            return list(
                await asyncio.gather(
                    *(client.get(f"/aliases/{aliases[i % 10]}") for i in range(40))
                )
            )

    responses = asyncio.run(reveal_all())
    assert [r.status_code for r in responses] == [200] * 40
    trace_ids = {r.headers["vgs-request-id"] for r in responses}
    events = db_vault.service.list_audit(db_vault.vault_id, action="alias.reveal", limit=1000)
    assert len(events) == 40
    assert {e.trace_id for e in events} == trace_ids
    assert {e.alias for e in events} == set(aliases)


# --- the batcher itself (SQLite) ---------------------------------------------------------


@pytest.fixture
def sqlite_service(tmp_path: Path) -> Iterator[VaultService]:
    service = VaultService.open(make_settings(tmp_path))
    try:
        yield service
    finally:
        service.close()


def test_one_batch_one_commit_and_a_failing_call_undoes_only_itself(
    sqlite_service: VaultService,
) -> None:
    vault = sqlite_service.create_vault("batch")
    ctx = AuditContext("test")
    batcher = GroupCommitter(sqlite_service)
    bad = "tok_sandbox_" + "2" * 22

    async def run() -> list[object]:
        calls = [
            batcher.call(
                sqlite_service.create_aliases,
                vault.vault_id,
                [NewValue(Secret(f"value-{i}"), "UUID")],
                ctx,
            )
            for i in range(10)
        ]
        half_written = [NewValue(Secret("half-written"), "UUID"), AliasReference(bad, "RAW_UUID")]
        calls.insert(
            5, batcher.call(sqlite_service.create_aliases, vault.vault_id, half_written, ctx)
        )
        return list(await asyncio.gather(*calls, return_exceptions=True))

    try:
        results = asyncio.run(run())
    finally:
        batcher.close()
    assert batcher.batches == 1
    assert batcher.calls == 11
    assert isinstance(results.pop(5), AliasNotFoundError)
    assert all(isinstance(r, list) for r in results)
    assert _table_count(sqlite_service, store.records) == 10
    assert _table_count(sqlite_service, store.audit_log, action="alias.create") == 10
    assert _table_count(sqlite_service, store.aliases) == 10


def test_a_locked_database_is_waited_for_off_the_event_loop(
    sqlite_service: VaultService, tmp_path: Path
) -> None:
    vault = sqlite_service.create_vault("locked")
    ctx = AuditContext("test")
    batcher = GroupCommitter(sqlite_service)
    holder = sqlite3.connect(tmp_path / "vault.db", isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock (e.g. the admin CLI)
    release = threading.Timer(0.3, holder.execute, args=("COMMIT",))

    async def run() -> tuple[list[object], int]:
        ticks = 0
        task = asyncio.ensure_future(
            batcher.call(
                sqlite_service.create_aliases,
                vault.vault_id,
                [NewValue(Secret("while-locked"), "UUID")],
                ctx,
            )
        )
        release.start()
        while not task.done():  # the loop keeps running while the batch waits
            ticks += 1
            await asyncio.sleep(0.01)
        return await task, ticks

    try:
        records, ticks = asyncio.run(run())
    finally:
        release.join()
        batcher.close()
        holder.close()
    assert len(records) == 1
    assert ticks > 1
    assert _table_count(sqlite_service, store.records) == 1
