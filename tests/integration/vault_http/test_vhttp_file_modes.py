"""The vault's data directory is 0700 and every file in it 0600 - SQLite's own files too
(issue 6 item 3). A real server process on a fresh data directory, with a write."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import httpx
from vhttp_process import cli_json, served_vault

from vaultswitch.vault.core.service import VaultService
from vaultswitch.vault.settings import VaultSettings


def _modes(root: Path) -> dict[str, str]:
    """Permission bits of root and of everything below it, by path relative to root."""
    found = {".": oct(stat.S_IMODE(root.stat().st_mode))}
    for path in sorted(root.rglob("*")):
        found[str(path.relative_to(root))] = oct(stat.S_IMODE(path.stat().st_mode))
    return found


def test_a_fresh_data_dir_is_private(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)  # the usual umask: files 0644 and directories 0755 by default
    try:
        data_dir = tmp_path / "fresh" / "data"
        with served_vault(data_dir, tmp_path / "vault.log") as server:
            d = ["--data-dir", str(data_dir)]
            vault_id = cli_json("create", "--name", "shop", *d)["vault_id"]
            creds = cli_json("access-credentials", "--vault", vault_id, *d)
            r = httpx.post(
                server.url + "/aliases",
                json={"data": [{"value": "4111111111111111", "format": "UUID"}]},
                auth=(creds["username"], creds["password"]),
            )
            assert r.status_code == 201, r.text
            running = _modes(data_dir)
        stopped = _modes(data_dir)
    finally:
        os.umask(old_umask)
    assert {"vault.db", "vault.db-wal", "vault.db-shm", "master.key"} <= set(running), running
    for modes in (running, stopped):
        assert modes.pop(".") == "0o700"
        assert modes, "no files?"
        assert all(mode == "0o600" for mode in modes.values()), modes


def test_loose_files_of_an_existing_store_are_tightened(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with VaultService.open(VaultSettings(data_dir=data_dir)) as service:
        service.create_vault("old")
    db = data_dir / "vault.db"
    keep = sqlite3.connect(db)  # holds the WAL and shared-memory files open
    try:
        keep.execute("PRAGMA journal_mode=WAL")
        keep.execute("SELECT count(*) FROM vaults").fetchone()
        for name in ("vault.db", "vault.db-wal", "vault.db-shm"):
            os.chmod(data_dir / name, 0o644)  # as an older version left them
        with VaultService.open(VaultSettings(data_dir=data_dir)) as service:
            assert [v.name for v in service.list_vaults()] == ["old"]
        for name in ("vault.db", "vault.db-wal", "vault.db-shm"):
            assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600, name
    finally:
        keep.close()
