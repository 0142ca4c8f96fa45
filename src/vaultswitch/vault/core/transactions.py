"""Units of work for the vault service: transactions, group-commit savepoints, retries.

``TransactionalCore`` owns the service's state (settings, engine, master key, VOLATILE
store, caches) and runs every service call as one unit of work: a transaction of its
own, or (in a group-committed batch on SQLite, see ``vault.http.groupcommit``) a
savepoint of the batch's transaction, with the unit's audit rows written with the batch.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection, Engine

from vaultswitch.vault.core import crypto, rawsql
from vaultswitch.vault.core.errors import MasterKeyMismatch, MasterKeyRotated, ServiceUnavailable
from vaultswitch.vault.core.master_key import MasterKeySource
from vaultswitch.vault.core.models import AuditContext
from vaultswitch.vault.core.store import READS_ONLY, audit_log, master_key_check
from vaultswitch.vault.core.vault_row import VaultRow
from vaultswitch.vault.core.volatile import VolatileStore
from vaultswitch.vault.settings import VaultSettings

log = structlog.get_logger(__name__)

T = TypeVar("T")

_TX_RETRIES = 4
_INS_AUDIT = audit_log.insert()


class Retry(Exception):
    """Internal: a concurrent change was seen; run the transaction again."""


class MasterKeyStale(MasterKeyMismatch):
    """A wrapped key did not open with this process's master key.

    ``_run`` then looks whether the database moved to another master key (a rotation by
    another process) and, if this process can load that key, runs the unit again.
    """


_SEL_MASTER_KEY_ID = sa.select(master_key_check.c.key_id).where(master_key_check.c.id == 1)


class TransactionalCore:
    """State shared by every part of the service, and the unit-of-work plumbing."""

    def __init__(
        self,
        settings: VaultSettings,
        engine: Engine,
        master: crypto.MasterKey,
        volatile: VolatileStore,
    ) -> None:
        self.settings = settings
        self._engine = engine
        self._master = master
        self._master_source = MasterKeySource.of(settings)
        self._master_lock = threading.Lock()
        self._volatile = volatile
        self._lock = threading.Lock()
        self._local = threading.local()
        self._data_keys: dict[tuple[str, int], crypto.DataKey] = {}
        self._fp_keys: dict[str, bytes] = {}
        self._secrets: dict[str, bytes] = {}
        # vault rows for group-commit batches on SQLite (see _vault, _check_vault_cache)
        self._vault_cache: dict[str, VaultRow] = {}
        self._vault_cache_key: tuple[int, int] | None = None

    @property
    def environment(self) -> str:
        return self.settings.environment

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for diagnostics and tests)."""
        return self._engine

    @property
    def master_key_id(self) -> str:
        return self._master.key_id

    # ------------------------------------------------------------------ plumbing

    @contextmanager
    def _tx(self, *, read_only: bool = False) -> Iterator[Connection]:
        """One unit of work: a transaction, or a savepoint of the group-commit batch.

        In a batch, audit rows the unit inserts through ``_insert_audit`` are kept
        aside and written with the batch's (before its commit) once the unit has
        succeeded; a ``read_only`` unit (it writes nothing else) needs no savepoint.
        """
        local = self._local
        ambient: Connection | None = getattr(local, "conn", None)
        if ambient is None:
            with self._engine.begin() as conn:
                yield conn
            return
        # Inside a group-commit batch: this unit of work is a savepoint of the batch's
        # transaction, so a failure undoes only its own writes.
        outer: list[tuple[Any, ...]] | None = local.unit_audit
        unit: list[tuple[Any, ...]] = []
        local.unit_audit = unit
        if read_only:
            try:
                yield ambient
            except BaseException:
                self._vault_cache.clear()
                raise
            finally:
                local.unit_audit = outer
            (outer if outer is not None else local.batch_audit).extend(unit)
            return
        raw = self._raw(ambient)
        execute: Callable[[str], object] = (
            raw.execute if raw is not None else ambient.exec_driver_sql
        )
        execute("SAVEPOINT vs_unit")
        try:
            yield ambient
        except BaseException:
            local.unit_audit = outer
            self._vault_cache.clear()  # it may hold what the savepoint undoes
            execute("ROLLBACK TO SAVEPOINT vs_unit")
            execute("RELEASE SAVEPOINT vs_unit")
            raise
        local.unit_audit = outer
        execute("RELEASE SAVEPOINT vs_unit")
        (outer if outer is not None else local.batch_audit).extend(unit)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A unit of work that only reads (no audit row either).

        In a group-commit batch: the batch's connection. Otherwise its own transaction,
        which on SQLite takes no write lock, so it neither waits for nor holds up writers.
        """
        ambient: Connection | None = getattr(self._local, "conn", None)
        if ambient is not None:
            yield ambient
            return
        with self._engine.connect() as conn:
            conn.execution_options(**{READS_ONLY: True})
            with conn.begin():
                yield conn

    def _batch_unit(self, fn: Callable[[Connection], T], read_only: bool) -> T:
        """``with self._tx(read_only=...) as conn: return fn(conn)`` in a SQLite batch, inline."""
        local = self._local
        conn: Connection = local.conn
        raw: sqlite3.Connection = local.raw
        outer: list[tuple[Any, ...]] | None = local.unit_audit
        unit: list[tuple[Any, ...]] = []
        local.unit_audit = unit
        if not read_only:
            raw.execute("SAVEPOINT vs_unit")
        try:
            result = fn(conn)
        except BaseException:
            local.unit_audit = outer
            self._vault_cache.clear()  # it may hold what the savepoint undoes
            if not read_only:
                raw.execute("ROLLBACK TO SAVEPOINT vs_unit")
                raw.execute("RELEASE SAVEPOINT vs_unit")
            raise
        local.unit_audit = outer
        if not read_only:
            raw.execute("RELEASE SAVEPOINT vs_unit")
        (outer if outer is not None else local.batch_audit).extend(unit)
        return result

    @contextmanager
    def bound_to(self, conn: Connection) -> Iterator[None]:
        """Run this thread's service calls inside conn's open transaction (group commit).

        Each call's unit of work becomes a SAVEPOINT of that transaction; the caller
        calls :meth:`write_batch_audit`, commits once for all of them and only then
        reports their results.
        """
        local = self._local
        previous = (
            getattr(local, "conn", None),
            getattr(local, "raw", None),
            getattr(local, "unit_audit", None),
            getattr(local, "batch_audit", None),
        )
        raw = rawsql.sqlite_of(conn)
        local.conn, local.raw, local.unit_audit, local.batch_audit = conn, raw, None, []
        if raw is not None:
            self._check_vault_cache(raw)
        try:
            yield
        finally:
            local.conn, local.raw, local.unit_audit, local.batch_audit = previous

    def write_batch_audit(self) -> None:
        """Insert the audit rows of the batch's successful units (call before committing)."""
        local = self._local
        rows: list[tuple[Any, ...]] = local.batch_audit
        if not rows:
            return
        local.batch_audit = []
        raw = local.raw
        if raw is not None:
            rawsql.insert_audit_params(raw, rows)
        else:
            keys = ("at", *rawsql.AUDIT_COLUMNS)
            local.conn.execute(_INS_AUDIT, [dict(zip(keys, r, strict=True)) for r in rows])

    def forget_cached_vaults(self) -> None:
        """Drop cached vault rows (after a batch that did not commit)."""
        self._vault_cache.clear()
        self._vault_cache_key = None

    def _check_vault_cache(self, raw: sqlite3.Connection) -> None:
        """Forget cached vault rows if another connection committed since the last batch.

        Runs inside the batch's transaction (which holds the write lock, so nothing
        else commits until it ends). Changes made through this service clear the
        cache themselves.
        """
        version = raw.execute("PRAGMA data_version").fetchone()[0]
        if self._vault_cache_key != (id(raw), version):
            self._vault_cache.clear()
            self._vault_cache_key = (id(raw), version)

    def _raw(self, conn: Connection) -> sqlite3.Connection | None:
        """The sqlite3 connection under conn (None on PostgreSQL); cached for the batch."""
        local = self._local
        if getattr(local, "conn", None) is conn:
            raw: sqlite3.Connection | None = local.raw
            return raw
        return rawsql.sqlite_of(conn)

    def _run(self, fn: Callable[[Connection], T], *, read_only: bool = False) -> T:
        """Run fn in one transaction, retrying on races and transient lock errors."""
        in_batch = getattr(self._local, "raw", None) is not None
        for attempt in range(_TX_RETRIES):
            last = attempt == _TX_RETRIES - 1
            try:
                if in_batch:
                    return self._batch_unit(fn, read_only)
                with self._tx(read_only=read_only) as conn:
                    return fn(conn)
            except Retry:
                if last:
                    raise ServiceUnavailable(
                        "too much concurrent change on the same data; retry"
                    ) from None
            except MasterKeyStale:
                if last or not self._reload_rotated_master():
                    raise
            except (sa.exc.IntegrityError, sqlite3.IntegrityError):
                if last:
                    raise
            except (sa.exc.OperationalError, sqlite3.OperationalError) as exc:
                if last:
                    cause = exc.orig if isinstance(exc, sa.exc.OperationalError) else exc
                    log.warning("vault.storage_unavailable", error=type(cause).__name__)
                    raise ServiceUnavailable(
                        "the vault database is busy or unreachable; retry"
                    ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ master key rotation

    def _reload_rotated_master(self) -> bool:
        """After a key failed to open: True if the database is under another master key
        and this process loaded it (else the failure is real and stays an error)."""
        local = self._local
        if getattr(local, "raw", None) is not None:  # in a batch: read in its transaction
            key_id = local.conn.execute(_SEL_MASTER_KEY_ID).scalar_one_or_none()
        else:
            with self._engine.begin() as conn:
                key_id = conn.execute(_SEL_MASTER_KEY_ID).scalar_one_or_none()
        if key_id is None or key_id == self._master.key_id:
            return False
        self._adopt_master(key_id)
        return True

    def _adopt_master(self, key_id: str) -> None:
        """Switch to the master key the database is under now (after ``rotate-master-key``
        in another process): load it from this process's key source, drop every key
        unwrapped with the old one; 503 MASTER_KEY_ROTATED if the source does not hold it."""
        with self._master_lock:
            old = self._master
            if old.key_id == key_id:
                return  # another thread got here first
            found = self._master_source.find(key_id)
            if found is None:
                log.warning(
                    "vault.master_key_rotated_elsewhere",
                    key_id=old.key_id,
                    database_key_id=key_id,
                    source="env" if self._master_source.from_env else "key_file",
                )
                raise MasterKeyRotated(self._rotated_detail(old.key_id, key_id))
            self._data_keys.clear()
            self._fp_keys.clear()
            self._secrets.clear()
            self._vault_cache.clear()
            self._master = found
        log.info("vault.master_key_reloaded", old_key_id=old.key_id, new_key_id=key_id)

    def _rotated_detail(self, own_id: str, database_id: str) -> str:
        serve = f"`vaultswitch vault serve{self.settings.data_dir_flag()}`"
        if self._master_source.from_env:
            how = (
                "set VAULTSWITCH_MASTER_KEY to the new key (the content of the file that "
                f"rotate-master-key --output wrote) and restart it ({serve})"
            )
        else:
            how = (
                f"{self._master_source.key_file} does not hold the new key: put the new key "
                f"there (rotate-master-key does) or restart it with the new key ({serve})"
            )
        return (
            f"the vault database is now under master key id {database_id} (rotated with "
            f"`vaultswitch vault rotate-master-key`); this server has key id {own_id} and "
            f"cannot load the new one from {self._master_source.describe()}: {how}"
        )

    def _insert_audit_params(self, conn: Connection, params: list[tuple[Any, ...]]) -> None:
        """Insert audit rows given as ``rawsql.INS_AUDIT`` parameters (see _audit_params)."""
        local = self._local
        if getattr(local, "conn", None) is conn and local.unit_audit is not None:
            local.unit_audit.extend(params)  # in a batch: written before its commit
            return
        raw = self._raw(conn)
        if raw is not None:
            rawsql.insert_audit_params(raw, params)
        else:
            keys = ("at", *rawsql.AUDIT_COLUMNS)
            rows = [dict(zip(keys, p, strict=True)) for p in params]
            for row in rows:
                row["at"] = rawsql.parse_ts(row["at"])
            conn.execute(_INS_AUDIT, rows)

    @staticmethod
    def _audit_params(
        ctx: AuditContext,
        at: datetime,
        vault_id: str | None,
        action: str,
        alias: str | None,
        outcome: str = "success",
        detail: str | None = None,
    ) -> tuple[Any, ...]:
        """``rawsql.audit_params(_audit_row(...))`` without the dict in between."""
        return (
            rawsql.ts(at),
            ctx.actor[:255],
            vault_id,
            action,
            alias,
            outcome,
            ctx.source[:255] if ctx.source else None,
            ctx.trace_id[:128] if ctx.trace_id else None,
            detail,
        )

    def _insert_audit(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        local = self._local
        if getattr(local, "conn", None) is conn and local.unit_audit is not None:
            # in a batch: written with the batch's rows, before its commit
            local.unit_audit.extend(rawsql.audit_params(r) for r in rows)
            return
        raw = self._raw(conn)
        if raw is not None:
            rawsql.insert_audit(raw, rows)
        else:
            conn.execute(_INS_AUDIT, rows)
