"""The `vaultswitch import` command's output: the summary (a table, or ``--json``) on
stdout, the progress bar on stderr, and a failure as ``{"error", "detail", "hint"}`` on
the last line of stderr with exit status 2 (the file, the journal, no orchestrator
given) or 1 (the orchestrator stopped the import: run the same command again)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .import_file import ImportFileError
from .import_journal import JournalError
from .importer import ImportOptions, ImportStopped, ImportSummary, run_import
from .target import TargetError, resolve_target


def _fail(code: str, detail: str, hint: str, exit_code: int) -> int:
    print(json.dumps({"error": code, "detail": detail, "hint": hint}), file=sys.stderr, flush=True)
    return exit_code


def _table(summary: ImportSummary, console: Console) -> None:
    table = Table(title=f"import of {summary.rows} rows")
    table.add_column("status")
    table.add_column("rows", justify="right")
    for status, count in summary.counts.items():
        table.add_row(status, str(count))
    console.print(table)
    if summary.resumed:
        console.print(f"{summary.resumed} rows were answered in an earlier run (journal).")
    if summary.not_checked:
        console.print(
            "[yellow]The vault does not allow reveal: aliases were not checked and the "
            "metadata is the file's.[/yellow]"
        )
    console.print(f"report: {summary.report}", highlight=False)


def run_import_command(
    file: Path,
    *,
    concurrency: int,
    profile_id: str | None,
    as_json: bool,
    fpe_aliases: bool,
    progress: bool,
    data_dir: Path,
    orchestrator_url: str | None,
    api_key: str | None,
) -> int:
    try:
        target = resolve_target(orchestrator_url, api_key, data_dir)
    except TargetError as exc:
        return _fail("NO_ORCHESTRATOR", str(exc), exc.hint, 2)
    options = ImportOptions(
        path=file,
        concurrency=concurrency,
        profile_id=profile_id,
        fpe_aliases=fpe_aliases,
        progress=progress,
    )
    try:
        summary = run_import(target, options, Console(stderr=True))
    except (ImportFileError, JournalError) as exc:
        return _fail(exc.code, str(exc), exc.hint, 2)
    except ImportStopped as exc:
        return _fail(exc.code, str(exc), exc.hint, 1)
    if as_json:
        print(json.dumps(summary.as_json()), flush=True)
    else:
        _table(summary, Console())
    return 0
