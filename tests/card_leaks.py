"""No test card number in any orchestrator log or database file, checked over the whole run.

What is scanned, for every number of ``tests/data/cards.json`` (``valid`` and the sandbox
processor's outcome cards) as plain digits and grouped with spaces or dashes:

- orchestrator SQLite files under the session's base temp dir: ``orchestrator.db`` and its
  ``-wal`` / ``-shm`` / ``-journal`` files, and any other ``*.db`` holding the
  orchestrator's alembic version table (the raw bytes, free pages included);
- server log files the test helpers write under ``<basetemp>/server-logs/``
  (:func:`server_log_path`): the lines of orchestrator servers run in-process
  (:mod:`server_logs`) or as ``vaultswitch orchestrator serve`` subprocesses;
- every orchestrator PostgreSQL test database, row by row, just before the fixture that
  made it drops it (:func:`scan_postgres`, findings kept with :func:`record`).

The root conftest calls :func:`begin` from a session fixture and :func:`finish` from
``pytest_sessionfinish``: findings are printed, naming the file (or table and column) and
the card, and the run's exit status becomes 1.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CARDS_FILE = Path(__file__).resolve().parent / "data" / "cards.json"
ORCHESTRATOR_VERSION_TABLE = "vaultswitch_orchestrator_alembic"
LOG_DIR_NAME = "server-logs"
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def card_numbers(path: Path = CARDS_FILE) -> tuple[str, ...]:
    """Every test card number: ``valid`` of every brand and the outcome cards."""
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    numbers = {n for group in data["valid"].values() for n in group}
    numbers.update(data["sandbox_processor_outcomes"]["cards"])
    return tuple(sorted(numbers))


def _groupings(number: str) -> list[list[int]]:
    """How a number is printed in groups: fours, and 4-6-5 / 4-6-4 (Amex, Diners)."""
    fours = [4] * (len(number) // 4) + ([len(number) % 4] if len(number) % 4 else [])
    shapes = [fours]
    if len(number) in (14, 15):
        shapes.append([4, 6, len(number) - 10])
    return shapes


def spellings(number: str) -> list[str]:
    """The number as digits only and grouped with spaces or dashes."""
    found = [number]
    for shape in _groupings(number):
        bounds = list(itertools.accumulate(shape))
        groups = [number[a:b] for a, b in zip([0, *bounds], bounds, strict=False)]
        found.extend(sep.join(groups) for sep in (" ", "-"))
    return found


@dataclass(frozen=True)
class Finding:
    """A card number in clear at ``where`` (a file, or a table and column)."""

    where: str
    card: str
    spelled: str

    def __str__(self) -> str:
        shown = "" if self.spelled == self.card else f" (written {self.spelled!r})"
        return f"{self.where}: test card {self.card}{shown}"


class Scanner:
    """Finds test card numbers in bytes (one compiled pattern for every spelling)."""

    def __init__(self, numbers: Iterable[str] | None = None) -> None:
        self.by_spelling: dict[bytes, str] = {}
        for number in numbers if numbers is not None else card_numbers():
            for spelled in spellings(number):
                self.by_spelling[spelled.encode()] = number
        # longest first, and no digit right before or after a digits-only spelling
        ordered = sorted(self.by_spelling, key=len, reverse=True)
        self.pattern = re.compile(
            rb"(?<![0-9])(?:" + b"|".join(re.escape(s) for s in ordered) + rb")(?![0-9])"
        )

    def scan_bytes(self, data: bytes, where: str) -> list[Finding]:
        seen: dict[bytes, Finding] = {}
        for match in self.pattern.finditer(data):
            spelled = match.group()
            if spelled not in seen:
                number = self.by_spelling[spelled]
                seen[spelled] = Finding(where, number, spelled.decode())
        return list(seen.values())

    def scan_file(self, path: Path) -> list[Finding]:
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # a -wal/-shm file removed since it was listed
            return []
        return self.scan_bytes(data, str(path))

    def scan_files(self, paths: Iterable[Path]) -> list[Finding]:
        return [finding for path in paths for finding in self.scan_file(path)]


def _is_orchestrator_sqlite(path: Path) -> bool:
    if path.name == "orchestrator.db":
        return True
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
            if head != b"SQLite format 3\x00":
                return False
            return ORCHESTRATOR_VERSION_TABLE.encode() in fh.read()
    except OSError:
        return False


def orchestrator_files(root: Path) -> list[Path]:
    """Orchestrator SQLite files (with their side files) and server logs under ``root``."""
    found: list[Path] = []
    for path in sorted(root.rglob("*.db")):
        if path.is_file() and _is_orchestrator_sqlite(path):
            found.append(path)
            found.extend(
                side
                for suffix in _SQLITE_SIDE_FILES
                if (side := path.with_name(path.name + suffix)).is_file()
            )
    log_dir = root / LOG_DIR_NAME
    if log_dir.is_dir():
        found.extend(sorted(p for p in log_dir.iterdir() if p.is_file()))
    return found


# --- PostgreSQL -----------------------------------------------------------------------------


def _value_bytes(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, dict | list):
        return json.dumps(value).encode()
    return str(value).encode()


def scan_postgres(url: str, label: str, scanner: Scanner | None = None) -> list[Finding]:
    """Every value of every table of an orchestrator database (others are skipped)."""
    import sqlalchemy as sa

    scanner = scanner or Scanner()
    engine = sa.create_engine(url)
    findings: list[Finding] = []
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            if ORCHESTRATOR_VERSION_TABLE not in tables:
                return []
            for table in sorted(tables):
                result = conn.execute(sa.text(f'SELECT * FROM "{table}"'))
                columns = list(result.keys())
                for row in result:
                    for column, value in zip(columns, row, strict=True):
                        data = _value_bytes(value)
                        if data:
                            findings.extend(
                                scanner.scan_bytes(data, f"{label} table {table}.{column}")
                            )
    finally:
        engine.dispose()
    return list(dict.fromkeys(findings))


# --- the session ------------------------------------------------------------------------------


class _Session:
    def __init__(self) -> None:
        self.basetemp: Path | None = None
        self.recorded: list[Finding] = []
        self.lock = threading.Lock()
        self.counter = itertools.count(1)


_session = _Session()


def begin(basetemp: Path) -> None:
    """Called once per test session with pytest's base temp dir."""
    _session.basetemp = basetemp
    (basetemp / LOG_DIR_NAME).mkdir(parents=True, exist_ok=True)


def server_log_path(name: str) -> Path | None:
    """A new, empty log file for a server's lines (None outside a test session)."""
    if _session.basetemp is None:
        return None
    with _session.lock:
        number = next(_session.counter)
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:60]
    path = _session.basetemp / LOG_DIR_NAME / f"{safe}-{number:04d}.log"
    path.touch()
    return path


def record(findings: Iterable[Finding]) -> None:
    """Keep findings made during the run (PostgreSQL databases before their drop)."""
    with _session.lock:
        _session.recorded.extend(findings)


def collect() -> Iterator[Finding]:
    """Everything found so far: recorded findings, then the files under the base temp."""
    yield from _session.recorded
    if _session.basetemp is not None and _session.basetemp.is_dir():
        yield from Scanner().scan_files(orchestrator_files(_session.basetemp))


def finish(session: Any) -> None:
    """``pytest_sessionfinish``: fail the run when a card number was found anywhere."""
    if _session.basetemp is None:
        return  # no test ran
    from server_logs import flush_all

    flush_all()
    findings = list(collect())
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if session.config.getini("tmp_path_retention_policy") != "all" and reporter is not None:
        reporter.write_line(
            "card-number check: tmp_path_retention_policy is not 'all', so the database "
            "files of passed tests were removed before they could be scanned",
            yellow=True,
        )
    if not findings:
        return
    title = f"{len(findings)} test card number(s) in orchestrator logs or databases"
    lines = [str(finding) for finding in findings]
    if reporter is not None:
        reporter.write_sep("=", title, red=True, bold=True)
        for line in lines:
            reporter.write_line(line)
    else:
        print(title, *lines, sep="\n")
    session.exitstatus = 1
