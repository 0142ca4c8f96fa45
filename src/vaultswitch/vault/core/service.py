"""The vault service: one synchronous method per API call, each one transaction.

Used by the HTTP layer (in group-committed batches on SQLite, see groupcommit.py; in
worker threads on PostgreSQL) and by the admin CLI.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection, Engine, Row

from vaultswitch.domain.secret import Secret, reveal_optional
from vaultswitch.vault import crypto, formats, rawsql, store
from vaultswitch.vault.errors import (
    AliasNotFoundError,
    BadRequest,
    Conflict,
    Forbidden,
    MasterKeyMismatch,
    PayloadTooLarge,
    ServiceUnavailable,
    VaultNotFoundError,
)
from vaultswitch.vault.models import (
    SCOPES,
    STORAGES,
    AliasInfo,
    AliasReference,
    AuditContext,
    AuditEvent,
    CreateItem,
    NewValue,
    Record,
    ServiceAccount,
    VaultInfo,
)
from vaultswitch.vault.settings import VaultSettings
from vaultswitch.vault.store import (
    access_credentials,
    as_utc,
    audit_log,
    data_keys,
    insert_ignore,
    master_key_check,
    records,
    server_secrets,
    service_accounts,
    utcnow,
    vaults,
)
from vaultswitch.vault.store import aliases as alias_table
from vaultswitch.vault.volatile import VolatileEntry, VolatileStore, open_volatile_store

log = structlog.get_logger(__name__)

T = TypeVar("T")

PERSISTENT = "PERSISTENT"
VOLATILE = "VOLATILE"
MAX_CLASSIFIERS = 50
MAX_CLASSIFIER_LEN = 255
MIN_TOKEN_LIFESPAN = 60
PEPPER_SECRET_NAME = "credential-pepper"  # noqa: S105 - a name, not a secret
_VAULT_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{2,31}")
_LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
_ALIAS_RETRIES = 32
_TX_RETRIES = 4
_VAULT_CACHE_MAX = 10_000


_REQ = alias_table.alias("req")
_SEL_VAULT = sa.select(vaults).where(vaults.c.id == sa.bindparam("vid"))
_SEL_VAULT_LOCK = _SEL_VAULT.with_for_update()
_SEL_RECORD_BY_FP = sa.select(records.c.id, records.c.classifiers, records.c.created_at).where(
    records.c.vault_id == sa.bindparam("vid"), records.c.fingerprint == sa.bindparam("fp")
)
_SEL_ALIAS_OF_FORMAT = sa.select(alias_table.c.alias).where(
    alias_table.c.record_id == sa.bindparam("rid"), alias_table.c.format == sa.bindparam("fmt")
)
_SEL_RECORD_ALIASES = (
    sa.select(alias_table.c.alias, alias_table.c.format)
    .where(alias_table.c.record_id == sa.bindparam("rid"))
    .order_by(alias_table.c.created_at, alias_table.c.alias)
)
_SEL_REVEAL = (
    sa.select(
        _REQ.c.alias.label("requested"),
        records.c.id,
        records.c.key_version,
        records.c.ciphertext,
        records.c.classifiers,
        records.c.created_at,
        alias_table.c.alias,
        alias_table.c.format,
    )
    .select_from(
        _REQ.join(records, records.c.id == _REQ.c.record_id).join(
            alias_table, alias_table.c.record_id == records.c.id
        )
    )
    .where(
        _REQ.c.vault_id == sa.bindparam("vid"),
        _REQ.c.alias.in_(sa.bindparam("aliases", expanding=True)),
    )
    .order_by(alias_table.c.created_at, alias_table.c.alias)
)
_INS_RECORD = records.insert()
_INS_AUDIT = audit_log.insert()


class _Retry(Exception):
    """Internal: a concurrent change was seen; run the transaction again."""


@dataclass(frozen=True, slots=True)
class _Vault:
    id: str
    name: str
    reveal_enabled: bool
    fingerprinting: bool
    environment: str
    key_version: int
    fingerprint_key: bytes
    created_at: datetime | str  # SQLite rows keep the stored text until info() needs it

    def info(self) -> VaultInfo:
        created = rawsql.parse_ts(self.created_at)
        assert created is not None
        return VaultInfo(
            vault_id=self.id,
            name=self.name,
            reveal_enabled=self.reveal_enabled,
            fingerprinting=self.fingerprinting,
            environment=self.environment,
            created_at=created,
            key_version=self.key_version,
        )


def _vault_from_row(row: Row[Any]) -> _Vault:
    return _Vault(
        id=row.id,
        name=row.name,
        reveal_enabled=bool(row.reveal_enabled),
        fingerprinting=bool(row.fingerprinting),
        environment=row.environment,
        key_version=int(row.key_version),
        fingerprint_key=bytes(row.fingerprint_key),
        created_at=row.created_at,
    )


def _account_from_row(row: Row[Any]) -> ServiceAccount:
    created = as_utc(row.created_at)
    assert created is not None
    return ServiceAccount(
        client_id=row.client_id,
        name=row.name,
        vault_ids=tuple(json.loads(row.vault_ids)),
        scopes=tuple(json.loads(row.scopes)),
        token_lifespan=int(row.token_lifespan),
        disabled=bool(row.disabled),
        created_at=created,
    )


def _record_id() -> str:
    """32 hex digits: 48-bit millisecond clock then 80 random bits (UUIDv7-like).

    Time-ordered ids append to the records primary key and to the aliases
    (record_id, format) index instead of touching a random page of each per insert.
    """
    return (
        (time.time_ns() // 1_000_000 & 0xFFFFFFFFFFFF).to_bytes(6, "big") + os.urandom(10)
    ).hex()


def _base58(n: int) -> str:
    return "".join(secrets.choice(formats.BASE58) for _ in range(n))


_COMPACT = json.JSONEncoder(separators=(",", ":")).encode  # = json.dumps(..., separators=)


def _dumps(items: Sequence[str]) -> str:
    return _COMPACT(list(items))


@lru_cache(maxsize=1024)
def _classifiers_json(tags: tuple[str, ...]) -> str:
    """Classifiers as stored (compact JSON text; few distinct values: cached)."""
    return _dumps(tags)


@lru_cache(maxsize=1024)
def _classifiers(stored: str) -> tuple[str, ...]:
    """A record's stored classifiers (JSON text) as a tuple (few distinct values: cached)."""
    return tuple(json.loads(stored))


def check_storage(storage: str, field: str = "storage") -> str:
    """Raise BadRequest unless storage is PERSISTENT or VOLATILE."""
    if storage not in STORAGES:
        raise BadRequest(f"{field}: must be PERSISTENT or VOLATILE", code="INVALID_STORAGE")
    return storage


def check_classifiers(classifiers: Sequence[str], field: str = "classifiers") -> tuple[str, ...]:
    """Classifiers are short non-empty strings (at most 50 of at most 255 characters)."""
    if isinstance(classifiers, str):
        raise BadRequest(f"{field}: must be a list of strings", code="INVALID_CLASSIFIERS")
    result = tuple(classifiers)
    if len(result) > MAX_CLASSIFIERS:
        raise BadRequest(
            f"{field}: at most {MAX_CLASSIFIERS} classifiers are allowed",
            code="INVALID_CLASSIFIERS",
        )
    for j, tag in enumerate(result):
        if not isinstance(tag, str) or not tag or len(tag) > MAX_CLASSIFIER_LEN:
            raise BadRequest(
                f"{field}[{j}]: a classifier is a string of 1-{MAX_CLASSIFIER_LEN} characters",
                code="INVALID_CLASSIFIERS",
            )
    return result


class VaultService:
    """Vaults, credentials, aliases and audit over SQLite/PostgreSQL (+ memory/Redis)."""

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
        self._volatile = volatile
        self._lock = threading.Lock()
        self._local = threading.local()
        self._data_keys: dict[tuple[str, int], crypto.DataKey] = {}
        self._fp_keys: dict[str, bytes] = {}
        self._secrets: dict[str, bytes] = {}
        # vault rows for group-commit batches on SQLite (see _vault, _check_vault_cache)
        self._vault_cache: dict[str, _Vault] = {}
        self._vault_cache_key: tuple[int, int] | None = None

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def open(cls, settings: VaultSettings) -> VaultService:
        """Load (or create) the master key, migrate the database, verify the key."""
        key = crypto.load_or_create_master_key(
            reveal_optional(settings.master_key), settings.resolved_master_key_file()
        )
        master = crypto.MasterKey(key)
        engine = store.create_engine(settings.resolved_database_url())
        try:
            store.migrate(engine)
            _check_or_register_master(engine, master)
            volatile = open_volatile_store(settings.redis_url, settings.redis_prefix)
        except BaseException:
            engine.dispose()
            raise
        log.info(
            "vault.opened",
            dialect=engine.dialect.name,
            master_key_id=master.key_id,
            volatile="redis" if settings.redis_url else "memory",
        )
        return cls(settings, engine, master, volatile)

    def close(self) -> None:
        self._volatile.close()
        self._engine.dispose()

    def __enter__(self) -> VaultService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
            except _Retry:
                if last:
                    raise ServiceUnavailable(
                        "too much concurrent change on the same data; retry"
                    ) from None
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

    def _vault(self, conn: Connection, vault_id: str, *, lock: bool = False) -> _Vault:
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
        return _vault_from_row(row)

    @staticmethod
    def _read_vault(raw: sqlite3.Connection, vault_id: str) -> _Vault:
        found = raw.execute(rawsql.SEL_VAULT, (vault_id,)).fetchone()
        if found is None:
            raise VaultNotFoundError(f"vault {vault_id[:64]} not found")
        vid, name, reveal, fingerprinting, env, version, fp_key, created = found
        return _Vault(
            id=vid,
            name=name,
            reveal_enabled=bool(reveal),
            fingerprinting=bool(fingerprinting),
            environment=env,
            key_version=int(version),
            fingerprint_key=bytes(fp_key),
            created_at=created,
        )

    def _fp_key(self, vault: _Vault) -> bytes:
        key = self._fp_keys.get(vault.id)
        if key is None:
            key = self._master.unwrap(vault.fingerprint_key, crypto.fingerprint_key_aad(vault.id))
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
                self._master.unwrap(bytes(wrapped), crypto.data_key_aad(vault_id, version)),
                version,
            )
            self._data_keys[(vault_id, version)] = key
        return key

    def _assert_master_current(self, conn: Connection) -> None:
        """Before wrapping new keys: the DB must still be under our master key."""
        stmt = sa.select(master_key_check.c.key_id).where(master_key_check.c.id == 1)
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(read=True)
        key_id = conn.execute(stmt).scalar_one_or_none()
        if key_id != self._master.key_id:
            raise MasterKeyMismatch(
                f"the database is under master key id {key_id}, this process has "
                f"{self._master.key_id} (was the master key rotated? restart with the new key)"
            )

    def _check_count(self, n: int, what: str = "data") -> None:
        if n == 0:
            raise BadRequest(f"{what}: at least one item is required", code="INVALID_REQUEST")
        if n > self.settings.max_items:
            raise BadRequest(
                f"Too many values (limit: {self.settings.max_items})", code="TOO_MANY_VALUES"
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

    @staticmethod
    def _audit_row(
        ctx: AuditContext,
        at: datetime,
        vault_id: str | None,
        action: str,
        alias: str | None,
        outcome: str = "success",
        detail: str | None = None,
    ) -> dict[str, Any]:
        return {
            "at": at,
            "actor": ctx.actor[:255],
            "vault_id": vault_id,
            "action": action,
            "alias": alias,
            "outcome": outcome,
            "source": ctx.source[:255] if ctx.source else None,
            "trace_id": ctx.trace_id[:128] if ctx.trace_id else None,
            "detail": detail,
        }

    # ------------------------------------------------------------------ vaults

    def create_vault(
        self,
        name: str | None = None,
        *,
        reveal_enabled: bool = True,
        fingerprinting: bool = True,
        vault_id: str | None = None,
    ) -> VaultInfo:
        """Create a vault with its first data key and its fingerprint key."""
        if vault_id is not None and not _VAULT_ID_RE.fullmatch(vault_id):
            raise BadRequest(
                "vault_id: 3-32 lowercase letters, digits or '-', starting with a letter or digit",
                code="INVALID_VAULT_ID",
            )
        vid = vault_id or "tnt" + "".join(secrets.choice(_LOWER_ALNUM) for _ in range(8))
        if name is not None and not 0 < len(name) <= 255:
            raise BadRequest("name: 1-255 characters", code="INVALID_REQUEST")
        data_key = crypto.generate_key()
        fp_key = crypto.generate_key()
        now = utcnow()

        def run(conn: Connection) -> VaultInfo:
            self._assert_master_current(conn)
            row = {
                "id": vid,
                "name": name or vid,
                "reveal_enabled": reveal_enabled,
                "fingerprinting": fingerprinting,
                "environment": self.settings.environment,
                "key_version": 1,
                "fingerprint_key": self._master.wrap(fp_key, crypto.fingerprint_key_aad(vid)),
                "created_at": now,
            }
            if not insert_ignore(conn, vaults, row):
                raise Conflict(f"vault {vid} already exists", code="VAULT_EXISTS")
            conn.execute(
                data_keys.insert().values(
                    vault_id=vid,
                    version=1,
                    wrapped=self._master.wrap(data_key, crypto.data_key_aad(vid, 1)),
                    created_at=now,
                )
            )
            return self._vault(conn, vid).info()

        info = self._run(run)
        log.info("vault.created", vault_id=vid, fingerprinting=fingerprinting)
        return info

    def get_vault(self, vault_id: str) -> VaultInfo:
        with self._tx() as conn:
            return self._vault(conn, vault_id).info()

    def list_vaults(self) -> list[VaultInfo]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(vaults).order_by(vaults.c.created_at, vaults.c.id))
            return [_vault_from_row(r).info() for r in rows]

    def set_reveal(self, vault_id: str, enabled: bool) -> VaultInfo:
        """Switch the reveal API on or off for a vault."""
        with self._tx() as conn:
            self._vault(conn, vault_id)
            conn.execute(
                vaults.update().where(vaults.c.id == vault_id).values(reveal_enabled=enabled)
            )
            self._vault_cache.clear()
            return self._vault(conn, vault_id).info()

    # ------------------------------------------------------------------ server secrets

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
            return self._master.unwrap(bytes(sealed), crypto.server_secret_aad(name))

        value = self._run(run)
        self._secrets[name] = value
        return value

    def _pepper(self) -> bytes:
        return self.server_secret(PEPPER_SECRET_NAME, crypto.generate_key)

    # ------------------------------------------------------------------ service accounts

    def create_service_account(
        self,
        vault_ids: Sequence[str],
        scopes: Sequence[str] = SCOPES,
        token_lifespan: int | None = None,
        name: str | None = None,
    ) -> tuple[ServiceAccount, Secret]:
        """Create an OAuth client bound to vaults; the secret is returned once, stored hashed."""
        if isinstance(vault_ids, str):
            vault_ids = [vault_ids]
        vids = tuple(dict.fromkeys(vault_ids))
        if not vids:
            raise BadRequest("vault_ids: at least one vault is required", code="INVALID_REQUEST")
        bad = [s for s in scopes if s not in SCOPES]
        if bad or not scopes:
            raise BadRequest(
                f"scopes: use one or more of {', '.join(SCOPES)}", code="INVALID_SCOPE"
            )
        lifespan = (
            self.settings.default_token_lifespan if token_lifespan is None else token_lifespan
        )
        if lifespan < MIN_TOKEN_LIFESPAN:
            raise BadRequest(
                f"token_lifespan: must be at least {MIN_TOKEN_LIFESPAN} seconds",
                code="INVALID_REQUEST",
            )
        pepper = self._pepper()
        client_id = "AC" + _base58(20)
        secret = secrets.token_urlsafe(32)
        now = utcnow()

        def run(conn: Connection) -> ServiceAccount:
            for vid in vids:
                self._vault(conn, vid)
            conn.execute(
                service_accounts.insert().values(
                    client_id=client_id,
                    name=(name or client_id)[:255],
                    secret_hash=crypto.hash_secret(pepper, secret),
                    vault_ids=_dumps(vids),
                    scopes=_dumps(tuple(dict.fromkeys(scopes))),
                    token_lifespan=lifespan,
                    disabled=False,
                    created_at=now,
                )
            )
            row = conn.execute(
                sa.select(service_accounts).where(service_accounts.c.client_id == client_id)
            ).one()
            return _account_from_row(row)

        return self._run(run), Secret(secret)

    def get_service_account(self, client_id: str) -> ServiceAccount | None:
        with self._tx() as conn:
            row = conn.execute(
                sa.select(service_accounts).where(service_accounts.c.client_id == client_id)
            ).first()
        return None if row is None else _account_from_row(row)

    def list_service_accounts(self) -> list[ServiceAccount]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(service_accounts).order_by(service_accounts.c.created_at))
            return [_account_from_row(r) for r in rows]

    def set_service_account_disabled(self, client_id: str, disabled: bool) -> ServiceAccount:
        """Disable (or re-enable) a service account; raises BadRequest if unknown."""
        with self._tx() as conn:
            n = conn.execute(
                service_accounts.update()
                .where(service_accounts.c.client_id == client_id)
                .values(disabled=disabled)
            ).rowcount
            if not n:
                raise BadRequest(
                    f"service account {client_id[:64]} not found", code="CLIENT_NOT_FOUND"
                )
            row = conn.execute(
                sa.select(service_accounts).where(service_accounts.c.client_id == client_id)
            ).one()
            return _account_from_row(row)

    def authenticate_client(self, client_id: str, client_secret: str) -> ServiceAccount | None:
        """The account if the secret matches and it is enabled, else None (constant-time)."""
        pepper = self._pepper()
        with self._tx() as conn:
            row = conn.execute(
                sa.select(service_accounts).where(service_accounts.c.client_id == client_id)
            ).first()
        stored = bytes(row.secret_hash) if row is not None else b"\x00" * 32
        ok = crypto.verify_secret(pepper, client_secret, stored)
        if row is None or not ok or row.disabled:
            return None
        return _account_from_row(row)

    # ------------------------------------------------------------------ access credentials

    def create_access_credentials(self, vault_id: str) -> tuple[str, Secret]:
        """HTTP Basic credentials for the v1 API / proxy of one vault (password shown once)."""
        pepper = self._pepper()
        username = "US" + _base58(22)
        password = str(uuid.uuid4())

        def run(conn: Connection) -> None:
            self._vault(conn, vault_id)
            conn.execute(
                access_credentials.insert().values(
                    username=username,
                    vault_id=vault_id,
                    password_hash=crypto.hash_secret(pepper, password),
                    created_at=utcnow(),
                )
            )

        self._run(run)
        return username, Secret(password)

    def authenticate_access_credentials(self, username: str, password: str) -> str | None:
        """The vault id the credentials belong to, or None."""
        pepper = self._pepper()
        with self._tx() as conn:
            row = conn.execute(
                sa.select(access_credentials.c.vault_id, access_credentials.c.password_hash).where(
                    access_credentials.c.username == username
                )
            ).first()
        stored = bytes(row.password_hash) if row is not None else b"\x00" * 32
        ok = crypto.verify_secret(pepper, password, stored)
        return str(row.vault_id) if row is not None and ok else None

    # ------------------------------------------------------------------ keys

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
        key file); other processes using the old key must be restarted.
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

    # ------------------------------------------------------------------ aliases: validation

    def _validate_items(self, items: Sequence[CreateItem]) -> None:
        self._check_count(len(items))
        referenced: set[str] = set()
        for i, item in enumerate(items):
            field = f"data[{i}]"
            check_storage(item.storage, f"{field}.storage")
            formats.check_format(item.format, f"{field}.format")
            if isinstance(item, AliasReference):
                if not formats.is_alias_shaped(item.alias):
                    raise BadRequest(f"{field}.alias: not a valid alias", code="INVALID_ALIAS")
                if item.alias in referenced:
                    raise BadRequest(
                        f"{field}.alias: alias {item.alias} is referenced twice in one request",
                        code="DUPLICATE_ALIAS_REFERENCE",
                    )
                referenced.add(item.alias)
                continue
            value = item.value.reveal() if isinstance(item.value, Secret) else item.value
            if not isinstance(value, str):
                raise BadRequest(f"{field}.value: must be a string", code="INVALID_VALUE")
            if len(value) * 4 > self.settings.max_body_bytes and (
                len(value.encode("utf-8")) > self.settings.max_body_bytes
            ):
                raise PayloadTooLarge(
                    f"{field}.value: larger than {self.settings.max_body_bytes} bytes"
                )
            formats.validate_value_for_format(item.format, value, f"{field}.value")
            check_classifiers(item.classifiers, f"{field}.classifiers")

    # ------------------------------------------------------------------ aliases: create

    def create_aliases(
        self,
        vault_id: str,
        items: Sequence[CreateItem],
        ctx: AuditContext,
        validated: bool = False,
    ) -> list[Record]:
        """Create (or find, with fingerprinting) one record per item, in request order.

        ``validated``: the items come from ``wire.parse_create``, which checks everything
        this method would check (and more), so the checks are not repeated.
        """
        if not validated:
            self._validate_items(items)

        def run(conn: Connection) -> list[Record]:
            vault = self._vault(conn, vault_id)
            now = utcnow()
            result: list[Record] = []
            audit_rows: list[tuple[Any, ...]] = []
            volatile_created: list[str] = []
            try:
                for i, item in enumerate(items):
                    if item.storage == VOLATILE:
                        rec, outcome = self._create_volatile(conn, vault, item, i)
                        if outcome == "created":
                            volatile_created.append(rec.aliases[0].alias)
                    elif isinstance(item, AliasReference):
                        rec, outcome = self._reference_persistent(conn, vault, item, i, now)
                    else:
                        rec, outcome = self._create_persistent(conn, vault, item, now)
                    result.append(rec)
                    if outcome == "created":  # a new record or entry: its one alias
                        alias = rec.aliases[0].alias
                    else:
                        alias = next(a.alias for a in rec.aliases if a.format == item.format)
                    audit_rows.append(
                        self._audit_params(
                            ctx,
                            now,
                            vault.id,
                            "alias.create",
                            alias,
                            "success",
                            f"{outcome} format={item.format} storage={item.storage}",
                        )
                    )
                self._insert_audit_params(conn, audit_rows)
            except BaseException:
                if volatile_created:
                    self._volatile.delete_many(vault.id, volatile_created)
                raise
            return result

        return self._run(run)

    def _create_persistent(
        self, conn: Connection, vault: _Vault, item: NewValue, now: datetime
    ) -> tuple[Record, str]:
        value = item.value.reveal() if isinstance(item.value, Secret) else str(item.value)
        secret = item.value if isinstance(item.value, Secret) else Secret(value)
        fp = crypto.fingerprint(self._fp_key(vault), value) if vault.fingerprinting else None
        record_id = _record_id()
        data_key = self._data_key(conn, vault.id, vault.key_version)
        sealed = data_key.seal(value.encode("utf-8"), crypto.value_aad(vault.id, record_id))
        classifiers = _classifiers_json(tuple(item.classifiers))
        raw = self._raw(conn)
        if raw is not None:
            params = (
                record_id,
                vault.id,
                fp,
                data_key.version,
                sealed,
                classifiers,
                rawsql.ts(now),
            )
            sql = rawsql.INS_RECORD if fp is None else rawsql.INS_RECORD_IGNORE
            inserted = raw.execute(sql, params).rowcount == 1
        else:
            row = {
                "id": record_id,
                "vault_id": vault.id,
                "fingerprint": fp,
                "key_version": data_key.version,
                "ciphertext": sealed,
                "classifiers": classifiers,
                "created_at": now,
            }
            if fp is None:
                conn.execute(_INS_RECORD, row)
                inserted = True
            else:
                inserted = insert_ignore(conn, records, row) == 1
        if inserted:
            alias, _ = self._insert_alias(conn, vault, record_id, item.format, value, now)
            rec = Record(
                value=secret,
                classifiers=tuple(item.classifiers),
                aliases=(AliasInfo(alias, item.format),),
                created_at=now,
                storage=PERSISTENT,
            )
            return rec, "created"
        if raw is not None:
            existing = raw.execute(rawsql.SEL_RECORD_BY_FP, (vault.id, fp)).fetchone()
        else:
            existing = conn.execute(_SEL_RECORD_BY_FP, {"vid": vault.id, "fp": fp}).first()
        if existing is None:
            raise _Retry  # the record was deleted concurrently
        existing_id, existing_classifiers, existing_created = existing
        infos = self._record_aliases(conn, existing_id)
        outcome = "deduplicated"
        if not any(a.format == item.format for a in infos):
            _, found = self._insert_alias(conn, vault, existing_id, item.format, value, now)
            infos = self._record_aliases(conn, existing_id)
            outcome = "deduplicated" if found else "realiased"
        return (
            Record(
                value=secret,
                classifiers=_classifiers(existing_classifiers),
                aliases=infos,
                created_at=rawsql.parse_ts(existing_created),
                storage=PERSISTENT,
            ),
            outcome,
        )

    def _reference_persistent(
        self, conn: Connection, vault: _Vault, item: AliasReference, index: int, now: datetime
    ) -> tuple[Record, str]:
        row = conn.execute(
            sa.select(
                records.c.id,
                records.c.key_version,
                records.c.ciphertext,
                records.c.classifiers,
                records.c.created_at,
            )
            .select_from(alias_table.join(records, records.c.id == alias_table.c.record_id))
            .where(alias_table.c.vault_id == vault.id, alias_table.c.alias == item.alias)
        ).first()
        if row is None:
            raise AliasNotFoundError(f"data[{index}].alias: alias {item.alias} not found")
        value = self._open_record(conn, vault.id, row.id, row.key_version, row.ciphertext)
        self._check_reference_format(item, value, index)
        _, found = self._insert_alias(conn, vault, row.id, item.format, value, now)
        return (
            Record(
                value=Secret(value),
                classifiers=_classifiers(row.classifiers),
                aliases=self._record_aliases(conn, row.id),
                created_at=as_utc(row.created_at),
                storage=PERSISTENT,
            ),
            "deduplicated" if found else "realiased",
        )

    @staticmethod
    def _check_reference_format(item: AliasReference, value: str, index: int) -> None:
        try:
            formats.validate_value_for_format(item.format, value)
        except BadRequest:
            raise BadRequest(
                f"data[{index}].format: the value of alias {item.alias} does not fit "
                f"{item.format} ({item.format} needs {formats.format_rule(item.format)})",
                code="INVALID_VALUE",
            ) from None

    def _insert_alias(
        self,
        conn: Connection,
        vault: _Vault,
        record_id: str,
        fmt: str,
        value: str,
        now: datetime,
    ) -> tuple[str, bool]:
        """Add an alias of fmt to a record; (alias, True) if the record already had one."""
        raw = self._raw(conn)
        if raw is not None:
            stamp = rawsql.ts(now)
            for _ in range(_ALIAS_RETRIES):
                # callers pass values already validated for fmt
                alias = formats.new_alias(fmt, value, vault.environment)
                params = (vault.id, alias, record_id, fmt, stamp)
                if raw.execute(rawsql.INS_ALIAS_IGNORE, params).rowcount == 1:
                    return alias, False
                had = raw.execute(rawsql.SEL_ALIAS_OF_FORMAT, (record_id, fmt)).fetchone()
                if had is not None:
                    return str(had[0]), True
            raise Conflict(
                f"no free {fmt} alias found for this value after {_ALIAS_RETRIES} tries; "
                "use a format with more room (e.g. UUID)",
                code="ALIAS_SPACE_EXHAUSTED",
            )
        for _ in range(_ALIAS_RETRIES):
            alias = formats.generate_alias(fmt, value, vault.environment)
            row = {
                "vault_id": vault.id,
                "alias": alias,
                "record_id": record_id,
                "format": fmt,
                "created_at": now,
            }
            if insert_ignore(conn, alias_table, row):
                return alias, False
            existing = conn.execute(
                _SEL_ALIAS_OF_FORMAT, {"rid": record_id, "fmt": fmt}
            ).scalar_one_or_none()
            if existing is not None:
                return str(existing), True
        raise Conflict(
            f"no free {fmt} alias found for this value after {_ALIAS_RETRIES} tries; "
            "use a format with more room (e.g. UUID)",
            code="ALIAS_SPACE_EXHAUSTED",
        )

    def _record_aliases(self, conn: Connection, record_id: str) -> tuple[AliasInfo, ...]:
        raw = self._raw(conn)
        if raw is not None:
            found = raw.execute(rawsql.SEL_RECORD_ALIASES, (record_id,)).fetchall()
            return tuple(AliasInfo(alias, fmt) for alias, fmt in found)
        rows = conn.execute(_SEL_RECORD_ALIASES, {"rid": record_id})
        return tuple(AliasInfo(r.alias, r.format) for r in rows)

    def _open_record(
        self, conn: Connection, vault_id: str, record_id: str, version: int, blob: bytes
    ) -> str:
        key = self._data_key(conn, vault_id, version)
        return key.open(bytes(blob), crypto.value_aad(vault_id, record_id)).decode("utf-8")

    # ------------------------------------------------------------------ VOLATILE

    def _volatile_fp_key(self, vault: _Vault, value: str, fmt: str) -> str:
        return crypto.fingerprint(self._fp_key(vault), value).hex() + ":" + fmt

    def _create_volatile(
        self, conn: Connection, vault: _Vault, item: CreateItem, index: int
    ) -> tuple[Record, str]:
        ttl = self.settings.volatile_ttl
        if isinstance(item, AliasReference):
            found = self._volatile.get_many(vault.id, [item.alias]).get(item.alias)
            if found is None:
                raise AliasNotFoundError(f"data[{index}].alias: alias {item.alias} not found")
            value = self._open_volatile(conn, vault.id, item.alias, found)
            self._check_reference_format(item, value, index)
        else:
            value = item.value.reveal() if isinstance(item.value, Secret) else str(item.value)
        fp_key = self._volatile_fp_key(vault, value, item.format) if vault.fingerprinting else None
        if fp_key is not None:
            existing = self._volatile.get_fingerprint(vault.id, fp_key)
            if existing is not None and self._volatile.touch(vault.id, existing, ttl):
                self._volatile.set_fingerprint(vault.id, fp_key, existing, ttl)
                return self._volatile_record(value, existing, item.format), "deduplicated"
        data_key = self._data_key(conn, vault.id, vault.key_version)
        for _ in range(_ALIAS_RETRIES):
            alias = formats.generate_alias(item.format, value, vault.environment)
            entry = VolatileEntry(
                data_key.version,
                item.format,
                data_key.seal(value.encode("utf-8"), crypto.volatile_aad(vault.id, alias)),
            )
            if self._volatile.put_new(vault.id, alias, entry, ttl):
                break
        else:
            raise Conflict(
                f"no free {item.format} alias found after {_ALIAS_RETRIES} tries",
                code="ALIAS_SPACE_EXHAUSTED",
            )
        if fp_key is not None:
            holder = self._volatile.claim_fingerprint(vault.id, fp_key, alias, ttl)
            if holder is not None and holder != alias:
                if self._volatile.touch(vault.id, holder, ttl):
                    self._volatile.delete_many(vault.id, [alias])
                    return self._volatile_record(value, holder, item.format), "deduplicated"
                self._volatile.set_fingerprint(vault.id, fp_key, alias, ttl)
        return self._volatile_record(value, alias, item.format), "created"

    @staticmethod
    def _volatile_record(value: str, alias: str, fmt: str) -> Record:
        return Record(
            value=Secret(value),
            classifiers=(),
            aliases=(AliasInfo(alias, fmt),),
            created_at=None,
            storage=VOLATILE,
        )

    def _open_volatile(
        self, conn: Connection, vault_id: str, alias: str, entry: VolatileEntry
    ) -> str:
        key = self._data_key(conn, vault_id, entry.key_version)
        return key.open(entry.sealed, crypto.volatile_aad(vault_id, alias)).decode("utf-8")

    # ------------------------------------------------------------------ reveal / update / delete

    def _unique_aliases(self, alias_list: Sequence[str], what: str) -> list[str]:
        if isinstance(alias_list, str):
            alias_list = [alias_list]
        self._check_count(len(alias_list), what)
        unique = list(dict.fromkeys(alias_list))
        for i, alias in enumerate(unique):
            if not isinstance(alias, str) or not formats.is_alias_shaped(alias):
                raise BadRequest(f"{what}[{i}]: not a valid alias", code="INVALID_ALIAS")
        return unique

    @staticmethod
    def _not_found(missing: Sequence[str]) -> AliasNotFoundError:
        noun = "alias" if len(missing) == 1 else "aliases"
        return AliasNotFoundError(f"{noun} not found: {', '.join(missing)}")

    def reveal(
        self, vault_id: str, aliases: Sequence[str], storage: str, ctx: AuditContext
    ) -> dict[str, Record]:
        """Records keyed by alias; all or nothing (404 naming every missing alias)."""
        check_storage(storage)
        wanted = self._unique_aliases(aliases, "aliases")

        def run(conn: Connection) -> dict[str, Record]:
            vault = self._vault(conn, vault_id)
            if not vault.reveal_enabled:
                raise Forbidden(
                    f"reveal is disabled for vault {vault.id}; enable it with the vault admin "
                    "CLI (set reveal on)",
                    code="REVEAL_DISABLED",
                )
            if storage == VOLATILE:
                result = self._reveal_volatile(conn, vault, wanted)
            else:
                result = self._reveal_persistent(conn, vault, wanted)
            now = utcnow()
            self._insert_audit_params(
                conn,
                [
                    self._audit_params(ctx, now, vault.id, "alias.reveal", a, detail=storage)
                    for a in wanted
                ],
            )
            return result

        return self._run(run, read_only=True)  # its only write is the audit row

    def _reveal_persistent(
        self, conn: Connection, vault: _Vault, wanted: list[str]
    ) -> dict[str, Record]:
        # row: requested alias, record id, key version, ciphertext, classifiers,
        #      record created_at, alias, alias format
        raw = self._raw(conn)
        rows: Sequence[Any]
        if raw is not None:
            rows = raw.execute(rawsql.sel_reveal(len(wanted)), (vault.id, *wanted)).fetchall()
        else:
            rows = conn.execute(_SEL_REVEAL, {"vid": vault.id, "aliases": wanted}).all()
        by_record: dict[str, list[Any]] = {}
        record_of: dict[str, str] = {}
        for row in rows:
            record_of[row[0]] = row[1]
            by_record.setdefault(row[1], []).append(row)
        missing = [a for a in wanted if a not in record_of]
        if missing:
            raise self._not_found(missing)
        built: dict[str, Record] = {}
        for record_id, group in by_record.items():
            first = group[0]
            seen: dict[str, AliasInfo] = {}
            for r in group:
                seen.setdefault(r[6], AliasInfo(r[6], r[7]))
            built[record_id] = Record(
                value=Secret(self._open_record(conn, vault.id, record_id, first[2], first[3])),
                classifiers=_classifiers(first[4]),
                aliases=tuple(seen.values()),
                created_at=rawsql.parse_ts(first[5]),
                storage=PERSISTENT,
            )
        return {a: built[record_of[a]] for a in wanted}

    def _reveal_volatile(
        self, conn: Connection, vault: _Vault, wanted: list[str]
    ) -> dict[str, Record]:
        found = self._volatile.get_many(vault.id, wanted)
        missing = [a for a in wanted if a not in found]
        if missing:
            raise self._not_found(missing)
        return {
            a: self._volatile_record(
                self._open_volatile(conn, vault.id, a, found[a]), a, found[a].format
            )
            for a in wanted
        }

    def update_classifiers(
        self,
        vault_id: str,
        alias: str,
        classifiers: Sequence[str],
        storage: str,
        ctx: AuditContext,
    ) -> None:
        """Replace a record's classifiers (VOLATILE keeps none: only checks the alias exists)."""
        check_storage(storage)
        tags = check_classifiers(classifiers, "data.classifiers")
        if not formats.is_alias_shaped(alias):
            raise BadRequest("alias: not a valid alias", code="INVALID_ALIAS")

        def run(conn: Connection) -> None:
            vault = self._vault(conn, vault_id)
            if storage == VOLATILE:
                if not self._volatile.get_many(vault.id, [alias]):
                    raise self._not_found([alias])
            else:
                record_id = conn.execute(
                    sa.select(alias_table.c.record_id).where(
                        alias_table.c.vault_id == vault.id, alias_table.c.alias == alias
                    )
                ).scalar_one_or_none()
                if record_id is None:
                    raise self._not_found([alias])
                conn.execute(
                    records.update()
                    .where(records.c.id == record_id)
                    .values(classifiers=_dumps(tags))
                )
            conn.execute(
                audit_log.insert().values(
                    **self._audit_row(
                        ctx, utcnow(), vault.id, "alias.update", alias, detail=storage
                    )
                )
            )

        self._run(run)

    def delete_alias(self, vault_id: str, alias: str, storage: str, ctx: AuditContext) -> None:
        """Delete one alias (and the value when it was the record's last alias)."""
        self.delete_aliases(vault_id, [alias], storage, ctx)

    def delete_aliases(
        self, vault_id: str, aliases: Sequence[str], storage: str, ctx: AuditContext
    ) -> None:
        """Delete aliases atomically: if any is missing, 404 and nothing is deleted."""
        check_storage(storage)
        wanted = self._unique_aliases(aliases, "data")

        def run(conn: Connection) -> None:
            vault = self._vault(conn, vault_id)
            if storage == VOLATILE:
                found = self._volatile.get_many(vault.id, wanted)
                missing = [a for a in wanted if a not in found]
                if missing:
                    raise self._not_found(missing)
            else:
                rows = conn.execute(
                    sa.select(alias_table.c.alias, alias_table.c.record_id).where(
                        alias_table.c.vault_id == vault.id, alias_table.c.alias.in_(wanted)
                    )
                ).all()
                present = {r.alias for r in rows}
                missing = [a for a in wanted if a not in present]
                if missing:
                    raise self._not_found(missing)
                conn.execute(
                    alias_table.delete().where(
                        alias_table.c.vault_id == vault.id, alias_table.c.alias.in_(wanted)
                    )
                )
                record_ids = list({r.record_id for r in rows})
                orphan = ~sa.exists().where(alias_table.c.record_id == records.c.id)
                conn.execute(records.delete().where(records.c.id.in_(record_ids), orphan))
            now = utcnow()
            conn.execute(
                _INS_AUDIT,
                [
                    self._audit_row(ctx, now, vault.id, "alias.delete", a, detail=storage)
                    for a in wanted
                ],
            )
            if storage == VOLATILE:
                # Last step, so a failed audit write leaves the entries in place.
                self._volatile.delete_many(vault.id, wanted)

        self._run(run)

    # ------------------------------------------------------------------ audit

    def audit(self, event: AuditEvent) -> None:
        """Record an event (failures, token issue, admin actions) on behalf of a caller."""
        with self._tx() as conn:
            conn.execute(
                audit_log.insert().values(
                    at=event.at,
                    actor=event.actor[:255],
                    vault_id=event.vault_id,
                    action=event.action[:64],
                    alias=event.alias[:128] if event.alias else None,
                    outcome=event.outcome[:32],
                    source=event.source[:255] if event.source else None,
                    trace_id=event.trace_id[:128] if event.trace_id else None,
                    detail=event.detail,
                )
            )

    def list_audit(
        self, vault_id: str | None = None, action: str | None = None, limit: int = 100
    ) -> list[AuditEvent]:
        """Newest first."""
        stmt = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(max(1, limit))
        if vault_id is not None:
            stmt = stmt.where(audit_log.c.vault_id == vault_id)
        if action is not None:
            stmt = stmt.where(audit_log.c.action == action)
        with self._tx() as conn:
            rows = conn.execute(stmt).all()
        result = []
        for r in rows:
            at = as_utc(r.at)
            assert at is not None
            result.append(
                AuditEvent(
                    id=int(r.id),
                    at=at,
                    actor=r.actor,
                    vault_id=r.vault_id,
                    action=r.action,
                    alias=r.alias,
                    outcome=r.outcome,
                    source=r.source,
                    trace_id=r.trace_id,
                    detail=r.detail,
                )
            )
        return result


def _check_or_register_master(engine: Engine, master: crypto.MasterKey) -> None:
    """First open stores the key's check value; later opens verify it (clear error if wrong)."""
    with engine.begin() as conn:
        insert_ignore(
            conn,
            master_key_check,
            {
                "id": 1,
                "key_id": master.key_id,
                "check_value": master.check_value(),
                "updated_at": utcnow(),
            },
        )
        row = conn.execute(
            sa.select(master_key_check.c.key_id, master_key_check.c.check_value).where(
                master_key_check.c.id == 1
            )
        ).one()
    if row.key_id != master.key_id:
        raise MasterKeyMismatch(
            f"wrong master key: this database was sealed with master key id {row.key_id}, "
            f"the configured key has id {master.key_id}; set VAULTSWITCH_MASTER_KEY or the "
            "key file to the original key"
        )
    master.verify(bytes(row.check_value), row.key_id)
