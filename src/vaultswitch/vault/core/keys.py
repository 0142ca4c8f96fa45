"""Key rotation: data keys (per vault), re-encryption of records, the master key."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection

from vaultswitch.vault.core import crypto
from vaultswitch.vault.core.base import ServiceCore
from vaultswitch.vault.core.store import (
    data_keys,
    master_key_check,
    records,
    server_secrets,
    utcnow,
    vaults,
)

log = structlog.get_logger(__name__)


class KeysMixin(ServiceCore):
    """Rotating data keys and the master key, re-sealing records."""

    def rotate_data_key(self, vault_id: str) -> int:
        """Add a new data key version; new writes use it, old records stay readable."""
        new_key = crypto.generate_key()

        def run(conn: Connection) -> int:
            self._assert_master_current(conn)
            vault = self._vault(conn, vault_id, lock=True)
            version = vault.key_version + 1
            conn.execute(
                data_keys.insert().values(
                    vault_id=vault_id,
                    version=version,
                    wrapped=self._master.wrap(new_key, crypto.data_key_aad(vault_id, version)),
                    created_at=utcnow(),
                )
            )
            conn.execute(vaults.update().where(vaults.c.id == vault_id).values(key_version=version))
            self._vault_cache.clear()
            return version

        version = self._run(run)
        log.info("vault.data_key_rotated", vault_id=vault_id, key_version=version)
        return version

    def reencrypt(
        self,
        vault_id: str,
        progress: Callable[[int, int], None] | None = None,
        batch_size: int = 500,
    ) -> int:
        """Re-seal every persistent record of a vault under its current data key version."""
        with self._tx() as conn:
            vault = self._vault(conn, vault_id)
            total = int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(records)
                    .where(
                        records.c.vault_id == vault_id,
                        records.c.key_version != vault.key_version,
                    )
                ).scalar_one()
            )
        done = 0
        if progress is not None:
            progress(0, total)
        while True:

            def run(conn: Connection) -> int:
                current = self._vault(conn, vault_id)
                target = self._data_key(conn, vault_id, current.key_version)
                rows = conn.execute(
                    sa.select(records.c.id, records.c.key_version, records.c.ciphertext)
                    .where(
                        records.c.vault_id == vault_id,
                        records.c.key_version != current.key_version,
                    )
                    .limit(batch_size)
                ).all()
                updates = []
                for row in rows:
                    aad = crypto.value_aad(vault_id, row.id)
                    old = self._data_key(conn, vault_id, row.key_version)
                    plain = old.open(bytes(row.ciphertext), aad)
                    updates.append(
                        {
                            "rid": row.id,
                            "ver": target.version,
                            "ct": target.seal(plain, aad),
                        }
                    )
                if updates:
                    conn.execute(
                        records.update()
                        .where(records.c.id == sa.bindparam("rid"))
                        .values(key_version=sa.bindparam("ver"), ciphertext=sa.bindparam("ct")),
                        updates,
                    )
                return len(updates)

            n = self._run(run)
            if n == 0:
                break
            done += n
            if progress is not None:
                progress(done, max(total, done))
        log.info("vault.reencrypted", vault_id=vault_id, records=done)
        return done

    def rotate_master_key(self, new_key: bytes) -> int:
        """Re-wrap every data key, fingerprint key and server secret under new_key.

        Returns how many keys were re-wrapped. The caller stores the new key (env or
        key file). Other processes notice the new key id the next time they unwrap or
        wrap a key under it and load the new key from their key source (see
        ``TransactionalCore._adopt_master``); with the key in their environment they
        cannot, and answer 503 MASTER_KEY_ROTATED until restarted with it.
        """
        new_master = crypto.MasterKey(new_key)
        old = self._master

        def run(conn: Connection) -> int:
            self._assert_master_current(conn)
            if conn.dialect.name == "postgresql":
                conn.execute(
                    sa.select(master_key_check.c.id)
                    .where(master_key_check.c.id == 1)
                    .with_for_update()
                )
            count = 0
            for row in conn.execute(sa.select(data_keys)).all():
                aad = crypto.data_key_aad(row.vault_id, row.version)
                plain = old.unwrap(bytes(row.wrapped), aad)
                conn.execute(
                    data_keys.update()
                    .where(
                        data_keys.c.vault_id == row.vault_id,
                        data_keys.c.version == row.version,
                    )
                    .values(wrapped=new_master.wrap(plain, aad))
                )
                count += 1
            for row in conn.execute(sa.select(vaults.c.id, vaults.c.fingerprint_key)).all():
                aad = crypto.fingerprint_key_aad(row.id)
                plain = old.unwrap(bytes(row.fingerprint_key), aad)
                conn.execute(
                    vaults.update()
                    .where(vaults.c.id == row.id)
                    .values(fingerprint_key=new_master.wrap(plain, aad))
                )
                count += 1
            for row in conn.execute(sa.select(server_secrets)).all():
                aad = crypto.server_secret_aad(row.name)
                plain = old.unwrap(bytes(row.sealed), aad)
                conn.execute(
                    server_secrets.update()
                    .where(server_secrets.c.name == row.name)
                    .values(sealed=new_master.wrap(plain, aad))
                )
                count += 1
            conn.execute(
                master_key_check.update()
                .where(master_key_check.c.id == 1)
                .values(
                    key_id=new_master.key_id,
                    check_value=new_master.check_value(),
                    updated_at=utcnow(),
                )
            )
            return count

        with self._lock:
            count = self._run(run)
            self._vault_cache.clear()
            self._master = new_master
        log.info("vault.master_key_rotated", old_key_id=old.key_id, new_key_id=new_master.key_id)
        return count
