"""Database schema, engine set-up (SQLite or PostgreSQL) and migrations for the vault."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from alembic import command
from alembic.config import Config
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

VERSION_TABLE = "vaultswitch_vault_alembic"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_PG_MIGRATION_LOCK = 0x7661756C74  # "vault"
SQLITE_BUSY_TIMEOUT_MS = 30_000
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
# files SQLite keeps next to a database file (it creates them with the database file's mode)
SQLITE_SIDE_SUFFIXES = ("-wal", "-shm", "-journal")

log = structlog.get_logger(__name__)

metadata = sa.MetaData()

_ID = sa.String(32)
_ALIAS = sa.String(128)
_TS = sa.DateTime(timezone=True)
_BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

vaults = sa.Table(
    "vaults",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("reveal_enabled", sa.Boolean(), nullable=False),
    sa.Column("fingerprinting", sa.Boolean(), nullable=False),
    sa.Column("environment", sa.String(16), nullable=False),
    sa.Column("key_version", sa.Integer(), nullable=False),
    sa.Column("fingerprint_key", sa.LargeBinary(), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
)

data_keys = sa.Table(
    "data_keys",
    metadata,
    sa.Column("vault_id", _ID, sa.ForeignKey("vaults.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("version", sa.Integer(), primary_key=True),
    sa.Column("wrapped", sa.LargeBinary(), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
)

records = sa.Table(
    "records",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("vault_id", _ID, sa.ForeignKey("vaults.id", ondelete="CASCADE"), nullable=False),
    sa.Column("fingerprint", sa.LargeBinary(), nullable=True),
    sa.Column("key_version", sa.Integer(), nullable=False),
    sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
    sa.Column("classifiers", sa.Text(), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.UniqueConstraint("vault_id", "fingerprint", name="uq_records_vault_fingerprint"),
    sa.Index("ix_records_vault_key_version", "vault_id", "key_version"),
)

aliases = sa.Table(
    "aliases",
    metadata,
    sa.Column("vault_id", _ID, primary_key=True),
    sa.Column("alias", _ALIAS, primary_key=True),
    sa.Column("record_id", _ID, sa.ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
    sa.Column("format", sa.String(64), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.UniqueConstraint("record_id", "format", name="uq_aliases_record_format"),
)

service_accounts = sa.Table(
    "service_accounts",
    metadata,
    sa.Column("client_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("secret_hash", sa.LargeBinary(), nullable=False),
    sa.Column("vault_ids", sa.Text(), nullable=False),
    sa.Column("scopes", sa.Text(), nullable=False),
    sa.Column("token_lifespan", sa.Integer(), nullable=False),
    sa.Column("disabled", sa.Boolean(), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
)

access_credentials = sa.Table(
    "access_credentials",
    metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("vault_id", _ID, sa.ForeignKey("vaults.id", ondelete="CASCADE"), nullable=False),
    sa.Column("password_hash", sa.LargeBinary(), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", _BIGINT_PK, primary_key=True, autoincrement=True),
    sa.Column("at", _TS, nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("vault_id", _ID, nullable=True),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("alias", _ALIAS, nullable=True),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("source", sa.String(255), nullable=True),
    sa.Column("trace_id", sa.String(128), nullable=True),
    sa.Column("detail", sa.Text(), nullable=True),
    sa.Index("ix_audit_log_vault_id", "vault_id", "id"),
    sa.Index("ix_audit_log_action", "action", "id"),
)

routes = sa.Table(
    "routes",
    metadata,
    sa.Column("vault_id", _ID, sa.ForeignKey("vaults.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("document", sa.Text(), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.Index("ix_routes_vault_created", "vault_id", "created_at"),
)

server_secrets = sa.Table(
    "server_secrets",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("sealed", sa.LargeBinary(), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
)

master_key_check = sa.Table(
    "master_key_check",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("key_id", sa.String(32), nullable=False),
    sa.Column("check_value", sa.LargeBinary(), nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime | None) -> datetime | None:
    """Attach UTC to the naive datetimes SQLite returns."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Manage transactions ourselves (pysqlite's implicit BEGIN is off).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


READS_ONLY = "vaultswitch_reads_only"  # execution option of a connection that never writes


def _on_sqlite_begin(conn: Connection) -> None:
    # Every vault call writes (at least an audit row): take the write lock up front
    # so concurrent writers queue on busy_timeout instead of failing to upgrade.
    # A unit that only reads (READS_ONLY) needs no lock: in WAL mode it never waits.
    reads_only = conn.get_execution_options().get(READS_ONLY, False)
    conn.exec_driver_sql("BEGIN" if reads_only else "BEGIN IMMEDIATE")


def make_private(path: Path, mode: int = PRIVATE_FILE_MODE) -> None:
    """Take group and other permissions away from an existing path (logged; never fatal)."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if current & ~mode:
        try:
            os.chmod(path, current & mode)
        except OSError as exc:  # not our file: say so, the server can still run
            log.warning(
                "vault.file_permissions",
                path=str(path),
                mode=oct(current),
                error=type(exc).__name__,
            )


def prepare_sqlite_file(database: Path) -> None:
    """Make a SQLite database file and its WAL, shared-memory and journal files owner-only.

    A new parent directory is created 0700 and the database file 0600 before SQLite opens
    it: SQLite gives the files it creates next to it (``-wal``, ``-shm``, ``-journal``) the
    database file's mode, whatever the umask. Files an older version left readable by
    others are tightened to 0600. An existing directory keeps its mode (it may be shared,
    like /tmp); a warning names it when others can enter it.
    """
    database.parent.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    dir_mode = stat.S_IMODE(database.parent.stat().st_mode)
    if dir_mode & ~PRIVATE_DIR_MODE:
        log.warning(
            "vault.data_dir_permissions",
            path=str(database.parent),
            mode=oct(dir_mode),
            hint=f"chmod 700 {database.parent}",
        )
    with contextlib.suppress(FileExistsError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    for path in (database, *(Path(f"{database}{s}") for s in SQLITE_SIDE_SUFFIXES)):
        make_private(path)


def create_engine(url: str) -> Engine:
    """A pooled engine: SQLite in WAL mode with busy timeout and foreign keys, or PostgreSQL."""
    sa_url = sa.engine.make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        if sa_url.database and sa_url.database != ":memory:" and "uri" not in sa_url.query:
            prepare_sqlite_file(Path(sa_url.database))
        engine = sa.create_engine(
            sa_url,
            pool_size=8,
            max_overflow=24,
            pool_timeout=60,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )
        sa.event.listen(engine, "connect", _on_sqlite_connect)
        sa.event.listen(engine, "begin", _on_sqlite_begin)
        return engine
    return sa.create_engine(
        sa_url, pool_size=10, max_overflow=20, pool_pre_ping=True, pool_timeout=60
    )


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest version (serialised across processes)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


_IGNORE_STMTS: dict[tuple[str, str], Any] = {}


def insert_ignore(conn: Connection, table: sa.Table, values: Mapping[str, Any]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING; returns 1 if the row was inserted, else 0."""
    dialect = conn.dialect.name
    stmt = _IGNORE_STMTS.get((dialect, table.name))
    if stmt is None:
        if dialect == "postgresql":
            base: Any = postgresql.insert(table).on_conflict_do_nothing()
        elif dialect == "sqlite":
            base = sqlite.insert(table).on_conflict_do_nothing()
        else:  # pragma: no cover - only SQLite and PostgreSQL are supported
            raise RuntimeError(f"unsupported database dialect {dialect}")
        # RETURNING instead of rowcount: psycopg reports -1 for ON CONFLICT inserts here.
        stmt = base.returning(next(iter(table.primary_key.columns)))
        _IGNORE_STMTS[(dialect, table.name)] = stmt
    return 1 if conn.execute(stmt, dict(values)).first() is not None else 0


def insert_many(conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(table.insert(), list(rows))
