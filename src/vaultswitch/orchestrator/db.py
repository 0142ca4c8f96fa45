"""The database: a pooled sync SQLAlchemy engine used from worker threads, and migrations.

Request handlers are ``async``; they never touch the engine on the event loop. They pass
a plain function of a :class:`~sqlalchemy.engine.Connection` to :meth:`Database.read` or
:meth:`Database.write`, which runs it in a worker thread inside one transaction::

    row = await ctx.db.read(lambda conn: customers_repo.get(conn, merchant_id, cid))

SQLite (default) runs in WAL mode with a busy timeout; writes take the write lock up
front (``BEGIN IMMEDIATE``) so concurrent writers queue instead of failing. PostgreSQL is
used as is. Migrations are Alembic revisions in ``migrations/versions`` run by
:func:`migrate` (serialised across processes on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine

T = TypeVar("T")

VERSION_TABLE = "vaultswitch_orchestrator_alembic"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
_PG_MIGRATION_LOCK = 0x5653_4F52  # "VSOR"
_WRITE = "vs_write"


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime | None) -> datetime | None:
    """Attach UTC to the naive datetimes SQLite returns."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # transactions are begun below, not by pysqlite
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _on_sqlite_begin(conn: Connection) -> None:
    write = conn.get_execution_options().get(_WRITE, True)
    # straight on the sqlite3 connection: exec_driver_sql would add ~30 µs per transaction
    conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")  # type: ignore[union-attr]


def create_engine(url: str) -> Engine:
    """A pooled engine: SQLite (WAL, busy timeout, foreign keys) or PostgreSQL (psycopg 3)."""
    sa_url = sa.engine.make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        if sa_url.database and sa_url.database != ":memory:":
            Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            sa_url,
            pool_size=8,
            max_overflow=16,
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
    """Bring the schema to the newest revision."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class Database:
    """The engine plus the two ways handlers use it: :meth:`read` and :meth:`write`."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        self.dialect = self.engine.dialect.name

    def migrate(self) -> None:
        migrate(self.engine)

    def read_sync(self, fn: Callable[[Connection], T]) -> T:
        with self.engine.connect().execution_options(**{_WRITE: False}) as conn, conn.begin():
            return fn(conn)

    def write_sync(self, fn: Callable[[Connection], T]) -> T:
        with self.engine.connect() as conn, conn.begin():
            return fn(conn)

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn(conn)`` in a worker thread in a read transaction."""
        return await anyio.to_thread.run_sync(self.read_sync, fn)

    async def write(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn(conn)`` in a worker thread in a write transaction (committed on return,
        rolled back when it raises)."""
        return await anyio.to_thread.run_sync(self.write_sync, fn)

    def close(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.dialect})"
