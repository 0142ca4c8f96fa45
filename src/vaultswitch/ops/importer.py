"""`vaultswitch import FILE`: import cards already in the vault, by alias, through the
orchestrator's ``POST /v2/payment-methods/import`` (an API client: it works against a
remote orchestrator too).

Rows are read in order and sent in batches of 20 (one reveal-multiple in the vault for
single-alias rows), ``--concurrency`` batches in flight. Every answer is journaled
(:mod:`.import_journal`) before the next is handled; run again after a kill, the import
skips the journaled rows and sends the rest, and the orchestrator answers the rows of
the batches that were in flight as it did the first time. Once every row has an answer
the report is written (:mod:`.import_report`).

A batch the orchestrator cannot answer for a moment (connection error, 429, 502-504) is
sent again with backoff; one it refuses (a wrong key, an unusable vault: 401, 404, 424,
...) stops the import, exit status 1, with the orchestrator's code, message and hint:
fix it and run the same command again to continue.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from .import_file import FileRow, ImportFileError, count_rows, detect_format, read_rows
from .import_journal import Journal, RowRecord
from .import_report import counts, report_path, settle, write_report
from .target import Target

BATCH_SIZE = 20
IMPORT_PATH = "/v2/payment-methods/import"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
REQUEST_TIMEOUT = 120.0


class ImportStopped(Exception):
    """The orchestrator refused a batch, or kept failing: the import stops (exit 1)."""

    def __init__(self, message: str, hint: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code
        self.hint = hint


@dataclass(frozen=True)
class ImportOptions:
    path: Path
    concurrency: int = 4
    profile_id: str | None = None
    fpe_aliases: bool = False
    progress: bool = True


@dataclass
class ImportSummary:
    counts: dict[str, int]
    rows: int
    resumed: int
    report: Path
    journal: Path
    seconds: float
    not_checked: bool = False
    records: list[RowRecord] = field(default_factory=list, repr=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "rows": self.rows,
            "resumed_rows": self.resumed,
            "aliases_checked": not self.not_checked,
            "report": str(self.report),
            "journal": str(self.journal),
        }


class _Rate(ProgressColumn):
    """Rows per second since the start of this run."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        done = task.completed - (task.fields.get("skipped") or 0)
        rate = done / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:,.0f} rows/s", style="progress.data.speed")


def _batches(rows: Iterator[FileRow], done: dict[int, RowRecord]) -> Iterator[list[FileRow]]:
    """Rows not yet answered, in batches of BATCH_SIZE; locally invalid rows come as
    batches of their own (not sent)."""
    pending: list[FileRow] = []
    invalid: list[FileRow] = []
    for row in rows:
        if row.row in done:
            continue
        if row.problem is not None:
            invalid.append(row)
            if len(invalid) >= BATCH_SIZE:
                yield invalid
                invalid = []
            continue
        pending.append(row)
        if len(pending) == BATCH_SIZE:
            yield pending
            pending = []
    if invalid:
        yield invalid
    if pending:
        yield pending


def _error_of(response: httpx.Response) -> tuple[str, str, str]:
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return (
            f"HTTP_{response.status_code}",
            f"the orchestrator answered HTTP {response.status_code}",
            "Check --orchestrator-url: it must be the orchestrator's base URL.",
        )
    return (
        str(error.get("code") or f"HTTP_{response.status_code}"),
        str(error.get("message") or ""),
        str(error.get("hint") or ""),
    )


def _retry_after(response: httpx.Response, default: float) -> float:
    value = response.headers.get("retry-after", "")
    try:
        return min(max(float(value), 0.0), 60.0)
    except ValueError:
        return default


class _Importer:
    def __init__(
        self, target: Target, options: ImportOptions, journal: Journal, http: httpx.AsyncClient
    ) -> None:
        self.target = target
        self.options = options
        self.journal = journal
        self.http = http
        self.not_checked = False
        headers = target.headers()
        if options.profile_id:
            headers["X-Profile-Id"] = options.profile_id
        self.headers = headers

    def _body(self, batch: list[FileRow]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "rows": [{"row": r.row, **r.fields} for r in batch],
            "import_id": self.journal.import_id,
        }
        if self.options.fpe_aliases:
            body["fpe_aliases"] = True
        return body

    async def send(self, batch: list[FileRow]) -> list[RowRecord]:
        if batch[0].problem is not None:
            return [RowRecord(r.row, "invalid", reason=r.problem) for r in batch]
        body = self._body(batch)
        for attempt, delay in enumerate((*RETRY_DELAYS, None)):
            try:
                response = await self.http.post(IMPORT_PATH, json=body, headers=self.headers)
            except httpx.TransportError as exc:
                if delay is None:
                    raise ImportStopped(
                        f"the orchestrator at {self.target.url} did not answer "
                        f"({type(exc).__name__}) after {attempt + 1} tries",
                        "Check that the orchestrator is running and --orchestrator-url is "
                        "right, then run the same command again: the import continues.",
                        code="IMPORT_STOPPED",
                    ) from None
                await asyncio.sleep(delay)
                continue
            if response.status_code == 200:
                return self._records(batch, response)
            if response.status_code in RETRY_STATUSES and delay is not None:
                await asyncio.sleep(_retry_after(response, delay))
                continue
            code, message, hint = _error_of(response)
            raise ImportStopped(
                f"the orchestrator refused a batch (rows {batch[0].row}-{batch[-1].row}): "
                f"HTTP {response.status_code} {code}: {message}",
                (hint + " " if hint else "") + "Then run the same command again: the "
                "import continues where it stopped.",
                code="IMPORT_STOPPED",
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _records(self, batch: list[FileRow], response: httpx.Response) -> list[RowRecord]:
        try:
            body = response.json()
            answered = {int(item["row"]): RowRecord.from_json(item) for item in body["rows"]}
        except (ValueError, KeyError, TypeError):
            raise ImportStopped(
                "the orchestrator's answer to a batch is not an import answer",
                "Check --orchestrator-url: it must be a vaultswitch orchestrator.",
                code="IMPORT_STOPPED",
            ) from None
        if body.get("alias_check") == "not_allowed":
            self.not_checked = True
        missing = [r.row for r in batch if r.row not in answered]
        if missing:
            raise ImportStopped(
                f"the orchestrator's answer has no result for row {missing[0]}",
                "Check --orchestrator-url: it must be a vaultswitch orchestrator.",
                code="IMPORT_STOPPED",
            )
        return [answered[r.row] for r in batch]


async def _run(
    target: Target,
    options: ImportOptions,
    journal: Journal,
    rows: Iterator[FileRow],
    progress: Progress | None,
    task: Any,
) -> bool:
    limits = httpx.Limits(
        max_connections=options.concurrency, max_keepalive_connections=options.concurrency
    )
    async with httpx.AsyncClient(
        base_url=target.url, timeout=REQUEST_TIMEOUT, limits=limits, trust_env=False
    ) as http:
        importer = _Importer(target, options, journal, http)
        queue: asyncio.Queue[list[FileRow] | None] = asyncio.Queue(maxsize=options.concurrency)

        async def worker() -> None:
            while (batch := await queue.get()) is not None:
                records = await importer.send(batch)
                journal.append(records)
                if progress is not None:
                    progress.advance(task, len(records))

        async def feed() -> None:
            for batch in _batches(rows, journal.done):
                await queue.put(batch)
            for _ in range(options.concurrency):
                await queue.put(None)

        workers = [asyncio.create_task(worker()) for _ in range(options.concurrency)]
        feeder = asyncio.create_task(feed())
        try:
            for done in asyncio.as_completed([*workers, feeder]):
                await done
        finally:
            for pending in (*workers, feeder):
                pending.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.gather(*workers, feeder, return_exceptions=True)
        return importer.not_checked


def run_import(target: Target, options: ImportOptions, console: Console) -> ImportSummary:
    """Import every row not yet answered, then write the report. Raises ImportFileError /
    JournalError (exit 2) or ImportStopped (exit 1)."""
    path = options.path
    if not path.is_file():
        raise ImportFileError(
            f"no file at {path}",
            "Pass the path of a CSV or JSON lines file of aliases.",
            code="IMPORT_FILE_INVALID",
        )
    fmt = detect_format(path)
    rows = read_rows(path, fmt, fpe_aliases=options.fpe_aliases)
    total = count_rows(path, fmt)  # also checks the header before anything is sent
    journal = Journal.open(path, orchestrator_url=target.url, profile_id=options.profile_id)
    started = time.monotonic()
    try:
        resumed = sum(1 for row in journal.done)
        progress = None
        task = None
        if options.progress:
            progress = Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                _Rate(),
                TextColumn("elapsed"),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                console=console,
                transient=False,
            )
            task = progress.add_task("importing", total=total, completed=resumed, skipped=resumed)
            progress.start()
        try:
            not_checked = asyncio.run(_run(target, options, journal, rows, progress, task))
        finally:
            if progress is not None:
                progress.stop()
        records = settle(journal.done)
    finally:
        journal.close()
    report = report_path(path)
    write_report(report, records)
    return ImportSummary(
        counts=counts(records),
        rows=len(records),
        resumed=resumed,
        report=report,
        journal=journal.path,
        seconds=time.monotonic() - started,
        not_checked=not_checked,
        records=records,
    )
