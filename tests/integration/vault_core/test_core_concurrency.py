"""Dedup stays exact under concurrency: 16 threads, and several processes on one PostgreSQL."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa
from vc_helpers import CTX, new_key_text, nv, open_service

from vaultswitch.domain.secret import Secret
from vaultswitch.vault.core import store
from vaultswitch.vault.core.service import VaultService
from vaultswitch.vault.settings import VaultSettings

VALUES = [f"41111111{i:08d}" for i in range(8)]
FORMATS = ["UUID", "FPE_SIX_T_FOUR"]
PAIRS = [(v, f) for v in VALUES for f in FORMATS]


def _all_aliases(svc: VaultService) -> list[tuple[str, str, str]]:
    with svc.engine.connect() as conn:
        rows = conn.execute(
            sa.select(store.aliases.c.alias, store.aliases.c.format, store.aliases.c.record_id)
        ).all()
    return [(r.alias, r.format, r.record_id) for r in rows]


def _assert_one_alias_per_value_and_format(svc: VaultService, vault_id: str) -> None:
    rows = _all_aliases(svc)
    assert len(rows) == len(VALUES) * len(FORMATS)
    with svc.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(store.records)).scalar() == len(
            VALUES
        )
    revealed = svc.reveal(vault_id, [r[0] for r in rows[:20]], "PERSISTENT", CTX)
    assert {r.value.reveal() for r in revealed.values()} <= set(VALUES)


def test_threads_dedup(database_url: str, tmp_path: Path) -> None:
    svc = open_service(database_url, tmp_path)
    try:
        vid = svc.create_vault().vault_id

        def work(n: int) -> list[tuple[str, str]]:
            out = []
            for i in range(len(PAIRS)):
                value, fmt = PAIRS[(i + n) % len(PAIRS)]
                rec = svc.create_aliases(vid, [nv(value, fmt)], CTX)[0]
                out.append((value + fmt, next(a.alias for a in rec.aliases if a.format == fmt)))
            both = svc.create_aliases(vid, [nv(v, f) for v in VALUES[:3] for f in FORMATS], CTX)
            out += [
                (v + f, next(a.alias for a in r.aliases if a.format == f))
                for (v, f), r in zip(
                    [(v, f) for v in VALUES[:3] for f in FORMATS], both, strict=True
                )
            ]
            return out

        with ThreadPoolExecutor(16) as pool:
            results = [x for chunk in pool.map(work, range(16)) for x in chunk]
        mapping: dict[str, set[str]] = {}
        for key, alias in results:
            mapping.setdefault(key, set()).add(alias)
        assert all(len(s) == 1 for s in mapping.values()), mapping
        _assert_one_alias_per_value_and_format(svc, vid)
    finally:
        svc.close()


def _process_worker(url: str, key: str, data_dir: str, vault_id: str, seed: int, q: object) -> None:
    settings = VaultSettings(database_url=url, master_key=Secret(key), data_dir=Path(data_dir))
    svc = VaultService.open(settings)
    try:
        out = []
        for round_ in range(3):
            for i in range(len(PAIRS)):
                value, fmt = PAIRS[(i * (seed + 1) + round_) % len(PAIRS)]
                rec = svc.create_aliases(vault_id, [nv(value, fmt)], CTX)[0]
                out.append((value + fmt, next(a.alias for a in rec.aliases if a.format == fmt)))
        q.put(out)  # type: ignore[attr-defined]
    finally:
        svc.close()


def test_processes_dedup_on_one_postgres(postgres_url: str, tmp_path: Path) -> None:
    key = new_key_text()
    svc = open_service(postgres_url, tmp_path, master_key=Secret(key))
    try:
        vid = svc.create_vault().vault_id
        ctx = multiprocessing.get_context("spawn")
        q = ctx.Queue()
        procs = [
            ctx.Process(target=_process_worker, args=(postgres_url, key, str(tmp_path), vid, n, q))
            for n in range(3)
        ]
        for p in procs:
            p.start()
        results = [x for _ in procs for x in q.get(timeout=90)]
        for p in procs:
            p.join(timeout=30)
            assert p.exitcode == 0
        mapping: dict[str, set[str]] = {}
        for k, alias in results:
            mapping.setdefault(k, set()).add(alias)
        assert all(len(s) == 1 for s in mapping.values()), mapping
        _assert_one_alias_per_value_and_format(svc, vid)
    finally:
        svc.close()


def test_server_secret_is_shared(database_url: str, tmp_path: Path) -> None:
    key = new_key_text()
    a = open_service(database_url, tmp_path, master_key=Secret(key))
    b = open_service(database_url, tmp_path, master_key=Secret(key))
    try:
        with ThreadPoolExecutor(2) as pool:
            got = list(
                pool.map(
                    lambda s: s.server_secret("jwt", lambda: __import__("os").urandom(32)), [a, b]
                )
            )
        assert got[0] == got[1]
        assert len(got[0]) == 32
        assert b.server_secret("jwt", lambda: b"other") == got[0]
    finally:
        a.close()
        b.close()
