"""The report of `vaultswitch migrate`: one CSV row per payment method of the migration,
written from the orchestrator's records (so a resumed run reports everything, including
what the interrupted run did). Payment method ids and reason codes only: no alias, no card
data."""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

COLUMNS = (
    "payment_method_id",
    "status",
    "reason",
    "verify",
    "verify_reason",
    "source",
    "source_reason",
)


def default_report_path(from_account: str, to_account: str) -> Path:
    """``migrate-<from>-<to>.report.csv`` in the working directory."""

    def safe(account: str) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]", "_", account)[:80]

    return Path(f"migrate-{safe(from_account)}-{safe(to_account)}.report.csv")


def write_report(path: Path, items: Iterable[dict[str, Any]]) -> int:
    """Write the rows (atomically: a reader never sees half a report); answers how many."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    count = 0
    with partial.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for item in items:
            writer.writerow({name: item.get(name) or "" for name in COLUMNS})
            count += 1
    os.replace(partial, path)
    return count
