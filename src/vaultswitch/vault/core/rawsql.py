"""The alias hot path on SQLite: precompiled SQL run on the DBAPI connection directly.

SQLAlchemy stays the owner of the schema (store.py, migrations) and runs every
other statement; these few statements (vault lookup, record/alias inserts with
ON CONFLICT DO NOTHING, reveal join, audit insert) are the ones each create and
reveal executes, and building/compiling them through SQLAlchemy costs more than
running them. sqlite3 keeps a per-connection cache of prepared statements, so
each string here is parsed once per connection.

Values are stored exactly as SQLAlchemy stores them on SQLite (naive UTC
``YYYY-MM-DD HH:MM:SS.ffffff`` text for timestamps, 0/1 for booleans), so rows
written here and rows written through SQLAlchemy are interchangeable.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.engine import Connection

SEL_VAULT = (
    "SELECT id, name, reveal_enabled, fingerprinting, environment, key_version, "
    "fingerprint_key, created_at FROM vaults WHERE id = ?"
)
INS_RECORD = (
    "INSERT INTO records (id, vault_id, fingerprint, key_version, ciphertext, classifiers, "
    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
INS_RECORD_IGNORE = INS_RECORD + " ON CONFLICT DO NOTHING"
INS_ALIAS_IGNORE = (
    "INSERT INTO aliases (vault_id, alias, record_id, format, created_at) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
SEL_ALIAS_OF_FORMAT = "SELECT alias FROM aliases WHERE record_id = ? AND format = ?"
SEL_RECORD_BY_FP = (
    "SELECT id, classifiers, created_at FROM records WHERE vault_id = ? AND fingerprint = ?"
)
SEL_RECORD_ALIASES = (
    "SELECT alias, format FROM aliases WHERE record_id = ? ORDER BY created_at, alias"
)
INS_AUDIT = (
    "INSERT INTO audit_log (at, actor, vault_id, action, alias, outcome, source, trace_id, "
    "detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_AUDIT_COLUMNS = ("actor", "vault_id", "action", "alias", "outcome", "source", "trace_id", "detail")


_REVEAL_HEAD = (
    "SELECT req.alias, records.id, records.key_version, records.ciphertext, "
    "records.classifiers, records.created_at, aliases.alias, aliases.format "
    "FROM aliases AS req JOIN records ON records.id = req.record_id "
    "JOIN aliases ON aliases.record_id = records.id "
    "WHERE req.vault_id = ? AND req.alias IN ("
)
_REVEAL_TAIL = ") ORDER BY aliases.created_at, aliases.alias"


@lru_cache(maxsize=64)
def sel_reveal(n: int) -> str:
    """The reveal join for n requested aliases (one prepared statement per n)."""
    return _REVEAL_HEAD + ", ".join("?" * n) + _REVEAL_TAIL


def sqlite_of(conn: Connection) -> sqlite3.Connection | None:
    """The sqlite3 connection under a SQLAlchemy connection, or None on other databases."""
    if conn.dialect.name != "sqlite":
        return None
    raw = conn.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    return raw


_last_ts: tuple[datetime | None, str] = (None, "")


def ts(moment: datetime) -> str:
    """A timestamp as SQLAlchemy stores it on SQLite (naive UTC text with microseconds)."""
    global _last_ts
    last = _last_ts
    if last[0] is moment:  # one unit of work stamps several rows with the same moment
        return last[1]
    if moment.tzinfo is not None:
        moment_utc = moment.astimezone(UTC).replace(tzinfo=None)
    else:
        moment_utc = moment
    text = moment_utc.isoformat(" ", "microseconds")
    _last_ts = (moment, text)
    return text


def parse_ts(text: str | datetime | None) -> datetime | None:
    """A stored SQLite timestamp as an aware UTC datetime."""
    if text is None:
        return None
    moment = text if isinstance(text, datetime) else datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


AUDIT_COLUMNS = _AUDIT_COLUMNS


def audit_params(row: dict[str, Any]) -> tuple[Any, ...]:
    """INS_AUDIT parameters of one audit row dict (as VaultService._audit_row builds it)."""
    return (ts(row["at"]), *(row[c] for c in _AUDIT_COLUMNS))


def insert_audit(raw: sqlite3.Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert audit rows (the dicts VaultService._audit_row builds)."""
    insert_audit_params(raw, [audit_params(r) for r in rows])


def insert_audit_params(raw: sqlite3.Connection, params: Sequence[tuple[Any, ...]]) -> None:
    """Insert audit rows given as INS_AUDIT parameter tuples."""
    if len(params) == 1:
        raw.execute(INS_AUDIT, params[0])  # executemany costs more for one row
    else:
        raw.executemany(INS_AUDIT, params)
