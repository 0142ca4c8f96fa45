"""The per-row report of an import: ``<input>.report.csv`` next to the input, with the
columns ``row``, ``status``, ``customer_id``, ``payment_method_id``, ``reason``.

It is built from the journal once every row has an answer, so an import that was killed
and resumed writes the same report as one that ran through. When several rows of the
file are the same card of the same customer, the first of them is ``imported`` and the
others ``duplicate``, whichever of their batches the orchestrator answered first.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

from .import_journal import RowRecord

REPORT_COLUMNS = ("row", "status", "customer_id", "payment_method_id", "reason")
STATUSES = ("imported", "duplicate", "alias_not_found", "invalid")


def report_path(input_path: Path) -> Path:
    return input_path.with_name(input_path.name + ".report.csv")


def settle(records: Mapping[int, RowRecord]) -> list[RowRecord]:
    """The records by row, with ``imported`` moved to the first row of each payment method
    that this import created (concurrent batches may have stored a later row first)."""
    ordered = [records[row] for row in sorted(records)]
    by_pm: dict[str, list[RowRecord]] = {}
    for record in ordered:
        if record.payment_method_id and record.status in ("imported", "duplicate"):
            by_pm.setdefault(record.payment_method_id, []).append(record)
    settled = {record.row: record for record in ordered}
    for group in by_pm.values():
        imported = [r for r in group if r.status == "imported"]
        duplicates = [r for r in group if r.status == "duplicate"]
        first = group[0]
        if not imported or not duplicates or first.status == "imported":
            continue
        winner = imported[0]
        settled[first.row] = replace(winner, row=first.row)
        settled[winner.row] = replace(duplicates[0], row=winner.row)
    return [settled[row] for row in sorted(settled)]


def counts(records: Iterable[RowRecord]) -> dict[str, int]:
    found = dict.fromkeys(STATUSES, 0)
    for record in records:
        found[record.status] = found.get(record.status, 0) + 1
    return found


def write_report(path: Path, records: Iterable[RowRecord]) -> None:
    """Write the report atomically (a temporary file renamed over the old one)."""
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(REPORT_COLUMNS)
        for r in records:
            writer.writerow(
                [r.row, r.status, r.customer_id or "", r.payment_method_id or "", r.reason or ""]
            )
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
