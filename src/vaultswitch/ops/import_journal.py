"""The journal of an import: ``<input>.journal`` next to the input, append-only JSON lines.

The first line names the import (a random ``import_id`` the orchestrator remembers the
rows of), the input (its SHA-256), the orchestrator and the profile. Every later line is
the answer for one row (``row``, ``status``, ``customer_id``, ``payment_method_id``,
``reason``; never a card number or an alias). Each batch's lines are written with one
``write`` and ``fsync``'d before the next batch's answer is handled, so after a SIGKILL
the journal holds every row whose answer arrived, and at most a torn last line (dropped
when the journal is opened again). Rows whose request was in flight are sent again; the
orchestrator answers those it had imported as ``imported`` again (``import_id``).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

JOURNAL_VERSION = 1


class JournalError(Exception):
    """The journal belongs to another import, or cannot be read (exit status 2)."""

    def __init__(self, message: str, hint: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code
        self.hint = hint


@dataclass(frozen=True, slots=True)
class RowRecord:
    """The answer for one row, as journaled and reported."""

    row: int
    status: str
    customer_id: str | None = None
    payment_method_id: str | None = None
    reason: str | None = None

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> RowRecord:
        row = value.get("row")
        status = value.get("status")
        if not isinstance(row, int) or not isinstance(status, str):
            raise ValueError("not a row record")

        def text(name: str) -> str | None:
            item = value.get(name)
            return item if isinstance(item, str) else None

        return cls(row, status, text("customer_id"), text("payment_method_id"), text("reason"))


def journal_path(input_path: Path) -> Path:
    return input_path.with_name(input_path.name + ".journal")


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    """Rows already answered (``done``) and the appending end of the journal file."""

    def __init__(self, path: Path, import_id: str, done: dict[int, RowRecord], fd: int) -> None:
        self.path = path
        self.import_id = import_id
        self.done = done
        self._fd = fd

    @classmethod
    def open(cls, input_path: Path, *, orchestrator_url: str, profile_id: str | None) -> Journal:
        """Resume the journal of this input, or start one (a new import id)."""
        path = journal_path(input_path)
        header = {
            "vaultswitch_import_journal": JOURNAL_VERSION,
            "input": input_path.name,
            "input_sha256": file_digest(input_path),
            "orchestrator_url": orchestrator_url,
            "profile_id": profile_id,
        }
        if path.exists():
            return cls._resume(path, header)
        import_id = "imp_" + secrets.token_hex(16)
        line = json.dumps({**header, "import_id": import_id}) + "\n"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        os.write(fd, line.encode())
        os.fsync(fd)
        _fsync_dir(path)
        return cls(path, import_id, {}, fd)

    @classmethod
    def _resume(cls, path: Path, header: dict[str, Any]) -> Journal:
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):  # torn by a kill mid-write: drop the tail
            data = data[: data.rfind(b"\n") + 1]
            with path.open("r+b") as handle:
                handle.truncate(len(data))
                os.fsync(handle.fileno())
        lines = data.decode("utf-8", errors="replace").splitlines()
        start_over = f"delete {path} to start the import over (rows already imported are then "
        start_over += "answered duplicate)"
        try:
            first = json.loads(lines[0]) if lines else None
        except ValueError:
            first = None
        if not isinstance(first, dict) or first.get("vaultswitch_import_journal") is None:
            raise JournalError(
                f"{path} is not an import journal",
                f"Move it away or {start_over}.",
                code="IMPORT_JOURNAL_CORRUPT",
            )
        for key in ("input_sha256", "orchestrator_url", "profile_id"):
            if first.get(key) != header[key]:
                what = {
                    "input_sha256": "the input file changed",
                    "orchestrator_url": "it was written for another orchestrator",
                    "profile_id": "it was written for another profile",
                }[key]
                raise JournalError(
                    f"{path} belongs to another import: {what} since it was written",
                    f"Run the import as it was started (same file, --orchestrator-url and "
                    f"--profile-id), or {start_over}.",
                    code="IMPORT_JOURNAL_MISMATCH",
                )
        import_id = first.get("import_id")
        if not isinstance(import_id, str):
            raise JournalError(
                f"{path} names no import_id",
                f"Move it away or {start_over}.",
                code="IMPORT_JOURNAL_MISMATCH",
            )
        done: dict[int, RowRecord] = {}
        for number, line in enumerate(lines[1:], start=2):
            try:
                record = RowRecord.from_json(json.loads(line))
            except ValueError:
                raise JournalError(
                    f"{path}: line {number} is not a row record",
                    f"Move it away or {start_over}.",
                    code="IMPORT_JOURNAL_CORRUPT",
                ) from None
            done[record.row] = record
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        return cls(path, import_id, done, fd)

    def append(self, records: Iterable[RowRecord]) -> None:
        """Journal these answers (one write, then fsync)."""
        batch = list(records)
        if not batch:
            return
        text = "".join(json.dumps(asdict(r), separators=(",", ":")) + "\n" for r in batch)
        data = text.encode()
        while data:
            written = os.write(self._fd, data)
            data = data[written:]
        os.fsync(self._fd)
        for record in batch:
            self.done[record.row] = record

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
