"""The `vaultswitch migrate` command's output: the summary (tables, or ``--json``) on stdout,
the progress bars on stderr, and a failure as ``{"error", "detail", "hint"}`` on the last
line of stderr with exit status 2 (no orchestrator given) or 1 (the orchestrator stopped
the run, or payment methods failed: run the same command again)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .migrate import MigrateOptions, MigrateSummary, run_migrate
from .migrate_api import MigrateStopped
from .target import TargetError, resolve_target


def _fail(code: str, detail: str, hint: str, exit_code: int) -> int:
    print(json.dumps({"error": code, "detail": detail, "hint": hint}), file=sys.stderr, flush=True)
    return exit_code


def _table(title: str, counts: dict[str, int]) -> Table:
    table = Table(title=title)
    table.add_column("status")
    table.add_column("payment methods", justify="right")
    shown = {status: count for status, count in counts.items() if count} or {"-": 0}
    for status, count in shown.items():
        table.add_row(status, str(count))
    return table


def _print(summary: MigrateSummary, console: Console) -> None:
    migration = summary.migration
    what = "dry run of the migration" if migration["dry_run"] else "migration"
    console.print(
        f"{what} {migration['id']} from {migration['from_connector_id']} to "
        f"{migration['to_connector_id']}: {migration['status']}"
        + (" (continued)" if summary.resumed else ""),
        highlight=False,
    )
    console.print(_table("move", migration["counts"]))
    if summary.verified:
        console.print(_table("verify (moved payment methods)", migration["verify"]))
    if summary.deleted_source:
        console.print(_table("source aliases (moved payment methods)", migration["source"]))
    if summary.reasons:
        table = Table(title="reasons")
        table.add_column("reason")
        table.add_column("payment methods", justify="right")
        table.add_column("what to do")
        for reason, count in sorted(summary.reasons.items()):
            hint = summary.hints.get(reason) or f"`vaultswitch explain {reason}`"
            table.add_row(reason, str(count), hint)
        console.print(table)
    console.print(f"report: {summary.report}", highlight=False)


def run_migrate_command(
    options: MigrateOptions,
    *,
    as_json: bool,
    data_dir: Path,
    orchestrator_url: str | None,
    api_key: str | None,
) -> int:
    try:
        target = resolve_target(orchestrator_url, api_key, data_dir)
    except TargetError as exc:
        return _fail("NO_ORCHESTRATOR", str(exc), exc.hint, 2)
    try:
        summary = run_migrate(target, options, Console(stderr=True))
    except MigrateStopped as exc:
        return _fail(exc.code, str(exc), exc.hint, 1)
    except KeyboardInterrupt:
        print(
            "interrupted: the steps in flight finish on the orchestrator; run the same command "
            "again to continue (no payment method is moved twice)",
            file=sys.stderr,
            flush=True,
        )
        return 130
    if as_json:
        print(json.dumps(summary.as_json()), flush=True)
    else:
        _print(summary, Console())
    problems = summary.problems()
    if problems:
        return _fail(
            "MIGRATE_INCOMPLETE",
            "; ".join(problems) + f" (see {summary.report})",
            "Each payment method's reason is in the report (`vaultswitch explain REASON` says "
            "what it means); fix what it names and run the same command again (`vaultswitch "
            "migrate --from SOURCE --to TARGET ...`): it tries only what is not done.",
            1,
        )
    return 0
