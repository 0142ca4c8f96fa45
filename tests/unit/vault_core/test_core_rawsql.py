"""The raw SQLite hot path stores values exactly as SQLAlchemy does, and reads them back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from vaultswitch.vault.core import formats, rawsql


def _reference_base58(number: int) -> str:
    chars: list[str] = []
    while number:
        number, rem = divmod(number, 58)
        chars.append(formats.BASE58[rem])
    return "".join(reversed(chars)).rjust(22, formats.BASE58[0])


def test_timestamps_match_sqlalchemy_storage(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/t.db")
    meta = sa.MetaData()
    table = sa.Table("t", meta, sa.Column("at", sa.DateTime(timezone=True)))
    meta.create_all(engine)
    moments = [
        datetime(2026, 1, 2, 3, 4, 5, 0, tzinfo=UTC),
        datetime(2026, 11, 29, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 6, 1, 12, 0, 0, 123, tzinfo=timezone(timedelta(hours=2))),
    ]
    with engine.begin() as conn:
        for m in moments:
            conn.execute(table.insert().values(at=m.astimezone(UTC)))
        stored = [row[0] for row in conn.exec_driver_sql("SELECT at FROM t")]
    engine.dispose()
    assert stored == [rawsql.ts(m) for m in moments]
    assert [rawsql.parse_ts(s) for s in stored] == moments


def test_parse_ts_accepts_datetimes_and_none() -> None:
    naive = datetime(2026, 1, 1, 0, 0)
    assert rawsql.parse_ts(naive) == naive.replace(tzinfo=UTC)
    assert rawsql.parse_ts(None) is None


def test_reveal_sql_has_one_placeholder_per_alias() -> None:
    assert rawsql.sel_reveal(3).count("?") == 4  # vault id + 3 aliases


@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_base58_digits_match_the_reference_encoding(number: int) -> None:
    assert formats.base58_128(number) == _reference_base58(number)


def test_base58_digits_at_the_part_boundaries() -> None:
    edges = [0, 1, 57, 58, 58**2 - 1, 58**2, 58**4 - 1, 58**4, 58**8 - 1, 58**8]
    edges += [58**16 - 1, 58**16, 58**20, 2**64, 2**128 - 1]
    for number in edges:
        assert formats.base58_128(number) == _reference_base58(number), number
