"""The run-wide card-number check (tests/card_leaks.py) can fail: planted card numbers are
found in files, SQLite databases, server logs and PostgreSQL tables, and a pytest session
that leaves one behind exits with status 1 naming the file and the card."""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

import card_leaks
from card_leaks import Scanner, card_numbers, orchestrator_files, scan_postgres, spellings
from server_logs import tee_structlog
from vaultswitch.logs import configure_logging

TESTS_DIR = Path(__file__).resolve().parents[2]
DECLINE = "4000000000009995"
AMEX = "378282246310005"


@pytest.fixture
def outside() -> Iterator[Path]:
    """A directory outside the session's base temp dir: what is planted here is not seen
    by this run's own check."""
    path = Path(tempfile.mkdtemp(prefix="card-leak-plant-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_every_test_card_is_looked_for_in_every_spelling() -> None:
    numbers = card_numbers()
    assert {"4111111111111111", "4242424242424242", DECLINE, AMEX, "4222222222222"} <= set(numbers)
    assert "4111111111111112" not in numbers  # invalid inputs are not card numbers
    assert spellings("4242424242424242") == [
        "4242424242424242",
        "4242 4242 4242 4242",
        "4242-4242-4242-4242",
    ]
    assert {"3782 8224 6310 005", "3782 822463 10005", "3782-822463-10005"} <= set(spellings(AMEX))


def test_a_planted_card_is_found_in_a_file(outside: Path) -> None:
    scanner = Scanner()
    planted = outside / "planted.bin"
    planted.write_bytes(b'\x00\x01{"note": "pay with 4000-0000-0000-9995 today"}\xff')
    [finding] = scanner.scan_file(planted)
    assert finding.card == DECLINE
    assert finding.where == str(planted)
    assert "4000-0000-0000-9995" in str(finding)
    plain = outside / "plain.log"
    plain.write_text(f'{{"card": "{AMEX}", "other": "3782 822463 10005"}}\n')
    assert [f.spelled for f in scanner.scan_file(plain)] == [AMEX, "3782 822463 10005"]


def test_masked_numbers_and_longer_digit_runs_are_not_findings(outside: Path) -> None:
    clean = outside / "clean.log"
    clean.write_text(
        '{"card_isin": "424242", "last4": "4242", "masked": "424242******4242",'
        ' "id": "14242424242424242", "ts": 42424242424242420, "bad": "4111111111111112"}\n'
    )
    assert Scanner().scan_file(clean) == []


def test_orchestrator_databases_and_server_logs_are_discovered(outside: Path) -> None:
    default = outside / "test_a0" / "orchestrator" / "orchestrator.db"
    default.parent.mkdir(parents=True)
    default.write_bytes(b"SQLite format 3\x00")
    (default.parent / "orchestrator.db-wal").write_bytes(b"wal " + DECLINE.encode())
    custom = outside / "test_b0" / "custom.db"
    custom.parent.mkdir()
    with sqlite3.connect(custom) as conn:
        conn.execute(f"CREATE TABLE {card_leaks.ORCHESTRATOR_VERSION_TABLE} (v TEXT)")
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES (?)", (f"card {AMEX}",))
    conn.close()
    vault = outside / "test_c0" / "vault.db"  # not the orchestrator's: not scanned
    vault.parent.mkdir()
    with sqlite3.connect(vault) as conn:
        conn.execute("CREATE TABLE t (body TEXT)")
        conn.execute("INSERT INTO t VALUES ('4242424242424242')")
    conn.close()
    logs = outside / card_leaks.LOG_DIR_NAME
    logs.mkdir()
    (logs / "orchestrator-0001.log").write_text('{"event": "x", "pan": "4242424242424242"}\n')

    files = orchestrator_files(outside)
    assert set(files) == {
        default,
        default.parent / "orchestrator.db-wal",
        custom,
        logs / "orchestrator-0001.log",
    }
    found = {(Path(f.where).name, f.card) for f in Scanner().scan_files(files)}
    assert found == {
        ("orchestrator.db-wal", DECLINE),
        ("custom.db", AMEX),
        ("orchestrator-0001.log", "4242424242424242"),
    }


@pytest.mark.postgres
def test_a_planted_card_is_found_in_a_postgres_table(postgres_url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE notes (body TEXT, blob BYTEA, doc JSON)"))
            conn.execute(
                sa.text("INSERT INTO notes VALUES (:t, :b, :j)"),
                {"t": "ok", "b": b"\x00" + DECLINE.encode(), "j": '{"n": "4242 4242 4242 4242"}'},
            )
        # not an orchestrator database (yet): skipped
        assert scan_postgres(postgres_url, "db") == []
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE TABLE {card_leaks.ORCHESTRATOR_VERSION_TABLE} (v TEXT)"))
        found = scan_postgres(postgres_url, "db")
        assert {(f.where, f.card) for f in found} == {
            ("db table notes.blob", DECLINE),
            ("db table notes.doc", "4242424242424242"),
        }
    finally:
        with engine.begin() as conn:  # this run's own check scans the database next
            conn.execute(sa.text("DROP TABLE IF EXISTS notes"))
        engine.dispose()


def test_in_process_server_lines_are_teed_into_a_server_log() -> None:
    structlog.reset_defaults()
    with tee_structlog("unit") as path:
        assert path is not None
        assert path.parent.name == card_leaks.LOG_DIR_NAME
        structlog.get_logger("vaultswitch.orchestrator").info("tee.unconfigured", n=1)
    assert not structlog.is_configured()  # put back as it was
    assert '"event": "tee.unconfigured"' in path.read_text()

    stream = io.StringIO()
    configure_logging("info", stream=stream)
    try:
        with tee_structlog("unit") as second:
            assert second is not None
            structlog.get_logger("vaultswitch.orchestrator").info("tee.configured", n=2)
        structlog.get_logger("vaultswitch.orchestrator").info("tee.after", n=3)
    finally:
        structlog.reset_defaults()
    assert '"event": "tee.configured"' in stream.getvalue()  # still where the test sends it
    assert '"event": "tee.configured"' in second.read_text()
    assert "tee.after" in stream.getvalue()
    assert "tee.after" not in second.read_text()


# --- a whole pytest session that leaves a card number behind fails ---------------------------

PLANTING_TESTS = f'''
from card_leaks import server_log_path


def test_plants_in_a_sqlite_file(tmp_path):
    db = tmp_path / "orchestrator" / "orchestrator.db"
    db.parent.mkdir()
    db.write_bytes(b"SQLite format 3\\x00 ... {DECLINE} ...")


def test_plants_in_a_server_log():
    server_log_path("orchestrator").write_text('{{"event": "request", "pan": "{AMEX}"}}\\n')


def test_plants_in_postgres(postgres_url):
    import sqlalchemy as sa

    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE {card_leaks.ORCHESTRATOR_VERSION_TABLE} (v TEXT)"))
        conn.execute(sa.text("CREATE TABLE customers (note TEXT)"))
        conn.execute(sa.text("INSERT INTO customers VALUES ('4242-4242-4242-4242')"))
    engine.dispose()
'''

CLEAN_TESTS = """
def test_writes_no_card(tmp_path):
    (tmp_path / "orchestrator.db").write_bytes(b"SQLite format 3\\x00 424242******4242")
"""


def _run_session(project: Path, tests: str, basetemp: Path) -> subprocess.CompletedProcess[str]:
    project.mkdir()
    (project / "pytest.ini").write_text("[pytest]\n")
    shutil.copy(TESTS_DIR / "conftest.py", project / "conftest.py")  # the real wiring
    (project / "test_inner.py").write_text(tests)
    env = {**os.environ, "PYTHONPATH": str(TESTS_DIR)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--basetemp={basetemp}"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.postgres
def test_a_session_that_leaves_a_card_behind_fails_naming_file_and_card(
    tmp_path: Path, outside: Path, postgres_server_url: str
) -> None:
    planted = _run_session(tmp_path / "planting", PLANTING_TESTS, outside / "planting")
    output = planted.stdout + planted.stderr
    assert "3 passed" in output, output
    assert planted.returncode == 1, output
    assert "3 test card number(s) in orchestrator logs or databases" in output
    sqlite_file = outside / "planting" / "test_plants_in_a_sqlite_file0" / "orchestrator"
    assert f"{sqlite_file / 'orchestrator.db'}: test card {DECLINE}" in output
    assert f"orchestrator-0001.log: test card {AMEX}" in output
    assert "test_inner.py::test_plants_in_postgres: postgresql vs_test_" in output
    assert "table customers.note: test card 4242424242424242" in output

    clean = _run_session(tmp_path / "clean", CLEAN_TESTS, outside / "clean")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "test card" not in clean.stdout
