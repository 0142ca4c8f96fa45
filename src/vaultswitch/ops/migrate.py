"""`vaultswitch migrate`: move payment methods from one vault connector account to another,
through the orchestrator (which holds the vault credentials and does the vault work).

The run starts (or continues) a migration with ``POST /v2/vault-migrations``, then drives
its phases with ``--concurrency`` steps in flight, each step a batch of at most 20 payment
methods: ``step`` (move), then with ``--verify`` (or ``--delete-source``) ``verify``, then
with ``--delete-source`` ``delete-source``. The first call of each phase goes alone and
begins a new pass (``restart``): what failed before is tried again. A rich progress bar
per phase goes to stderr. At the end the report is written from the orchestrator's records
(``migrate-<from>-<to>.report.csv``, or ``--report``): the same whether or not an earlier
run was interrupted.

Killed at any point, the same command continues: the orchestrator answers the open
migration of the same two accounts (and customer), releases the claims of the killed run's
steps, and a payment method is moved once — a switched one is skipped, one copied but not
switched is copied again onto the same aliases (the vault's fingerprinting hands an equal
value its existing alias).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from .migrate_api import MigrateStopped, MigrationApi, StepAnswer
from .migrate_report import default_report_path, write_report
from .target import Target

#: phase endpoint, its key in the migration's ``todo`` counts, its progress label
MOVE = ("step", "move", "moving")
VERIFY = ("verify", "verify", "verifying")
DELETE_SOURCE = ("delete-source", "delete_source", "deleting source aliases")
#: ``--token-mode`` default: each payment method keeps its shape (single- or multi-token)
KEEP_SHAPE = "keep"
#: how long a worker waits when the rest of a phase is claimed by other steps in flight
IDLE_WAIT = 0.2


@dataclass(frozen=True, slots=True)
class MigrateOptions:
    from_account: str
    to_account: str
    customer: str | None = None
    limit: int | None = None
    dry_run: bool = False
    token_mode: str = KEEP_SHAPE
    verify: bool = False
    delete_source: bool = False
    concurrency: int = 4
    batch_size: int = 20
    report: Path | None = None
    progress: bool = True

    @property
    def report_path(self) -> Path:
        return self.report or default_report_path(self.from_account, self.to_account)

    def start_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "from_connector_id": self.from_account,
            "to_connector_id": self.to_account,
            "dry_run": self.dry_run,
            "token_mode": self.token_mode,
        }
        if self.customer is not None:
            body["customer_id"] = self.customer
        if self.limit is not None:
            body["limit"] = self.limit
        return body


@dataclass
class MigrateSummary:
    migration: dict[str, Any]
    resumed: bool
    report: Path
    verified: bool
    deleted_source: bool
    #: reason code -> how many payment methods have it (in any phase)
    reasons: Counter[str] = field(default_factory=Counter)
    #: reason code -> the hint a result of this run gave with it
    hints: dict[str, str] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = self.migration["counts"]
        return counts

    def problems(self) -> list[str]:
        """What is not as it should be after this run (empty: exit status 0)."""
        found = []
        if self.counts.get("failed"):
            found.append(f"{self.counts['failed']} payment methods failed to move")
        verify: dict[str, int] = self.migration["verify"]
        if self.verified and (verify.get("mismatch") or verify.get("failed")):
            found.append(
                f"{verify.get('mismatch', 0)} copies do not match, "
                f"{verify.get('failed', 0)} could not be verified"
            )
        source: dict[str, int] = self.migration["source"]
        if self.deleted_source and source.get("failed"):
            found.append(f"{source['failed']} source deletions failed")
        return found

    def as_json(self) -> dict[str, Any]:
        migration = self.migration
        return {
            "migration_id": migration["id"],
            "status": migration["status"],
            "resumed": self.resumed,
            "dry_run": migration["dry_run"],
            "from_connector_id": migration["from_connector_id"],
            "to_connector_id": migration["to_connector_id"],
            "total": migration["total"],
            "counts": migration["counts"],
            "verify": migration["verify"] if self.verified else None,
            "source": migration["source"] if self.deleted_source else None,
            "reasons": dict(sorted(self.reasons.items())),
            "report": str(self.report),
        }


class _Rate(ProgressColumn):
    """Payment methods per second in this phase."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        rate = task.completed / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:,.1f}/s", style="progress.data.speed")


def _progress(console: Console) -> Progress:
    return Progress(
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


@dataclass
class _Run:
    api: MigrationApi
    options: MigrateOptions
    migration_id: str
    progress: Progress | None
    hints: dict[str, str]

    async def phase(self, which: tuple[str, str, str]) -> None:
        endpoint, todo_key, label = which
        size = self.options.batch_size
        first = await self.api.step(self.migration_id, endpoint, batch_size=size, restart=True)
        task = None
        if self.progress is not None:
            total = len(first.results) + int(first.migration["todo"][todo_key])
            task = self.progress.add_task(label, total=total)
        self._done(first, task)
        if not first.more:
            return

        async def worker() -> None:
            while True:
                answer = await self.api.step(self.migration_id, endpoint, batch_size=size)
                self._done(answer, task)
                if not answer.more:
                    return
                if not answer.results:  # the rest is in other steps' hands right now
                    await asyncio.sleep(IDLE_WAIT)

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(self.options.concurrency):
                    group.create_task(worker())
        except ExceptionGroup as failed:
            stopped = failed.subgroup(MigrateStopped)
            if stopped is None:
                raise
            raise _first(stopped) from None

    def _done(self, answer: StepAnswer, task: TaskID | None) -> None:
        for result in answer.results:
            reason, hint = result.get("reason"), result.get("hint")
            if reason and hint:
                self.hints.setdefault(str(reason), str(hint))
        if self.progress is not None and task is not None:
            self.progress.advance(task, len(answer.results))


def _first(group: BaseExceptionGroup[MigrateStopped]) -> MigrateStopped:
    """The first of the workers' errors: the one the run stops with."""
    leaf: BaseException = group
    while isinstance(leaf, BaseExceptionGroup):
        leaf = leaf.exceptions[0]
    assert isinstance(leaf, MigrateStopped)
    return leaf


async def _migrate(
    target: Target, options: MigrateOptions, progress: Progress | None
) -> MigrateSummary:
    async with MigrationApi(target) as api:
        started = await api.start(options.start_body())
        run = _Run(api, options, started["id"], progress, {})
        await run.phase(MOVE)
        verified = not options.dry_run and (options.verify or options.delete_source)
        if verified:
            await run.phase(VERIFY)
        deleted = not options.dry_run and options.delete_source
        if deleted:
            await run.phase(DELETE_SOURCE)
        final = await api.get(started["id"])
        reasons: Counter[str] = Counter()
        items = []
        async for item in api.items(started["id"]):
            items.append(item)
            for key in ("reason", "verify_reason", "source_reason"):
                if item.get(key):
                    reasons[str(item[key])] += 1
    write_report(options.report_path, items)
    return MigrateSummary(
        final,
        bool(started.get("resumed")),
        options.report_path,
        verified,
        deleted,
        reasons,
        run.hints,
    )


def run_migrate(target: Target, options: MigrateOptions, console: Console) -> MigrateSummary:
    """Run the migration; the progress bars go to ``console`` (stderr)."""
    progress = _progress(console) if options.progress else None
    if progress is not None:
        progress.start()
    try:
        return asyncio.run(_migrate(target, options, progress))
    finally:
        if progress is not None:
            progress.stop()
