"""``ServiceCore``: the typed base every part of the vault service derives from.

On top of the units of work (``transactions.py``) it reads vault rows (cached within a
SQLite batch), keeps the unwrapped fingerprint and data keys, checks that the database
is still under this process's master key (and switches to the new one after a rotation
by another process, see ``TransactionalCore._adopt_master``), and gets or creates sealed
server secrets.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from vaultswitch.vault.core import crypto, rawsql
from vaultswitch.vault.core.errors import BadRequest, MasterKeyMismatch, VaultNotFoundError
from vaultswitch.vault.core.store import (
    data_keys,
    insert_ignore,
    master_key_check,
    server_secrets,
    utcnow,
    vaults,
)
from vaultswitch.vault.core.transactions import MasterKeyStale, TransactionalCore
from vaultswitch.vault.core.vault_row import VaultRow, vault_from_row

_VAULT_CACHE_MAX = 10_000
_SEL_VAULT = sa.select(vaults).where(vaults.c.id == sa.bindparam("vid"))
_SEL_VAULT_LOCK = _SEL_VAULT.with_for_update()


class ServiceCore(TransactionalCore):
    """Vault rows, key caches and server secrets over the units of work."""

    def _vault(self, conn: Connection, vault_id: str, *, lock: bool = False) -> VaultRow:
        local = self._local
        if getattr(local, "conn", None) is conn and local.raw is not None:
            # in a SQLite batch: vault rows are cached (see _check_vault_cache)
            cached = self._vault_cache.get(vault_id)
            if cached is None:
                cached = self._read_vault(local.raw, vault_id)
                if len(self._vault_cache) >= _VAULT_CACHE_MAX:
                    self._vault_cache.clear()
                self._vault_cache[vault_id] = cached
            return cached
        raw = self._raw(conn)
        if raw is not None:
            return self._read_vault(raw, vault_id)
        stmt = _SEL_VAULT_LOCK if lock and conn.dialect.name == "postgresql" else _SEL_VAULT
        row = conn.execute(stmt, {"vid": vault_id}).first()
        if row is None:
            raise VaultNotFoundError(f"vault {vault_id[:64]} not found")
        return vault_from_row(row)

    @staticmethod
    def _read_vault(raw: sqlite3.Connection, vault_id: str) -> VaultRow:
        found = raw.execute(rawsql.SEL_VAULT, (vault_id,)).fetchone()
        if found is None:
            raise VaultNotFoundError(f"vault {vault_id[:64]} not found")
        vid, name, reveal, fingerprinting, env, version, fp_key, created = found
        return VaultRow(
            id=vid,
            name=name,
            reveal_enabled=bool(reveal),
            fingerprinting=bool(fingerprinting),
            environment=env,
            key_version=int(version),
            fingerprint_key=bytes(fp_key),
            created_at=created,
        )

    def _fp_key(self, vault: VaultRow) -> bytes:
        key = self._fp_keys.get(vault.id)
        if key is None:
            key = self._unwrap(vault.fingerprint_key, crypto.fingerprint_key_aad(vault.id))
            self._fp_keys[vault.id] = key
        return key

    def _data_key(self, conn: Connection, vault_id: str, version: int) -> crypto.DataKey:
        key = self._data_keys.get((vault_id, version))
        if key is None:
            wrapped = conn.execute(
                sa.select(data_keys.c.wrapped).where(
                    data_keys.c.vault_id == vault_id, data_keys.c.version == version
                )
            ).scalar_one_or_none()
            if wrapped is None:
                raise MasterKeyMismatch(f"data key version {version} of {vault_id} is missing")
            key = crypto.DataKey(
                self._unwrap(bytes(wrapped), crypto.data_key_aad(vault_id, version)), version
            )
            self._data_keys[(vault_id, version)] = key
        return key

    def _unwrap(self, blob: bytes, aad: bytes) -> bytes:
        """Open a blob wrapped by the master key; MasterKeyStale if ours does not open it."""
        try:
            return self._master.unwrap(blob, aad)
        except MasterKeyMismatch as exc:
            raise MasterKeyStale(exc.detail) from None

    def _assert_master_current(self, conn: Connection) -> None:
        """Before wrapping new keys: wrap under the master key the DB is under now.

        After a rotation by another process this process loads the new key from its key
        source (or answers 503 MASTER_KEY_ROTATED when it cannot).
        """
        stmt = sa.select(master_key_check.c.key_id).where(master_key_check.c.id == 1)
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(read=True)
        key_id = conn.execute(stmt).scalar_one_or_none()
        if key_id is None:
            raise MasterKeyMismatch("the vault database has no master key check row")
        if key_id != self._master.key_id:
            self._adopt_master(key_id)

    def _check_count(self, n: int, what: str = "data") -> None:
        if n == 0:
            raise BadRequest(f"{what}: at least one item is required", code="INVALID_REQUEST")
        if n > self.settings.max_items:
            raise BadRequest(
                f"Too many values (limit: {self.settings.max_items})", code="TOO_MANY_VALUES"
            )

    def server_secret(self, name: str, factory: Callable[[], bytes]) -> bytes:
        """Get or create a named server secret, stored sealed by the master key."""
        cached = self._secrets.get(name)
        if cached is not None:
            return cached

        def run(conn: Connection) -> bytes:
            sealed = conn.execute(
                sa.select(server_secrets.c.sealed).where(server_secrets.c.name == name)
            ).scalar_one_or_none()
            if sealed is None:
                self._assert_master_current(conn)
                insert_ignore(
                    conn,
                    server_secrets,
                    {
                        "name": name,
                        "sealed": self._master.wrap(factory(), crypto.server_secret_aad(name)),
                        "created_at": utcnow(),
                    },
                )
                sealed = conn.execute(
                    sa.select(server_secrets.c.sealed).where(server_secrets.c.name == name)
                ).scalar_one()
            return self._unwrap(bytes(sealed), crypto.server_secret_aad(name))

        value = self._run(run)
        self._secrets[name] = value
        return value
