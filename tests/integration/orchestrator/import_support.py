"""Card import tests: cards put straight into the vault (as a client-side SDK or an older
system would), files of rows, the `vaultswitch import` command as a subprocess, and
reports compared without their generated ids."""

from __future__ import annotations

import csv
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pm_support import PmWorld, VaultBox

from vaultswitch.domain.digits import luhn_check_digit
from vaultswitch.domain.secret import Secret

REPO = Path(__file__).resolve().parents[3]
FIELDS = ("card_number", "card_exp_month", "card_exp_year", "card_holder_name")


def card_json(number: str, month: str = "03", year: str = "2030", holder: str | None = None) -> str:
    """The value of a single-token alias, as Hyperswitch's VGS connector writes it."""
    payload = {"card_number": number, "card_exp_month": month, "card_exp_year": year}
    if holder:
        payload["card_holder_name"] = holder
    return json.dumps(payload, separators=(",", ":"))


def put_many(world: PmWorld, box: VaultBox, values: Sequence[str]) -> list[str]:
    """Store values in the vault directly (20 per call), answering their aliases."""
    from vaultswitch.vault.core.models import AuditContext, NewValue

    aliases: list[str] = []
    for start in range(0, len(values), 20):
        items = [NewValue(Secret(v), "UUID", ("import-test",)) for v in values[start : start + 20]]
        records = world.vault.service.create_aliases(box.vault_id, items, AuditContext("seed"))
        aliases.extend(record.aliases[0].alias for record in records)
    return aliases


def card_alias(
    world: PmWorld,
    number: str,
    month: str = "03",
    year: str = "2030",
    holder: str | None = "Ada Lovelace",
) -> str:
    (alias,) = put_many(world, world.vault.external, [card_json(number, month, year, holder)])
    return alias


def field_aliases(
    world: PmWorld,
    number: str,
    month: str = "03",
    year: str = "2030",
    holder: str | None = "Ada Lovelace",
) -> dict[str, str]:
    """Per-field aliases, as Hyperswitch's multi-token mode writes them."""
    values = [number, month, year] + ([holder] if holder else [])
    aliases = put_many(world, world.vault.external, values)
    return dict(zip(FIELDS, aliases, strict=False))


def set_reveal(world: PmWorld, enabled: bool) -> None:
    world.vault.service.set_reveal(world.vault.external.vault_id, enabled)


def random_numbers(count: int, prefix: str = "4") -> list[str]:
    """Distinct Luhn-valid 16-digit numbers (none of them a published test card)."""
    found: set[str] = set()
    while len(found) < count:
        partial = prefix + "".join(secrets.choice("0123456789") for _ in range(15 - len(prefix)))
        found.add(partial + luhn_check_digit(partial))
    return sorted(found)


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: Sequence[dict[str, Any] | str]) -> Path:
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_report(path: Path) -> list[dict[str, str]]:
    report = path.with_name(path.name + ".report.csv")
    with report.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def by_row(report: list[dict[str, str]]) -> dict[int, dict[str, str]]:
    return {int(r["row"]): r for r in report}


def without_ids(report: list[dict[str, str]]) -> list[tuple[str, ...]]:
    """The report with each generated id replaced by the order it first appears in: two
    imports of the same file into two merchants compare equal."""
    names: dict[str, str] = {}

    def name(value: str, kind: str) -> str:
        if not value:
            return ""
        return names.setdefault(value, f"{kind}{len(names)}")

    return [
        (
            r["row"],
            r["status"],
            name(r["customer_id"], "c"),
            name(r["payment_method_id"], "p"),
            r["reason"],
        )
        for r in report
    ]


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.stdout)
        return result

    def error(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.stderr.strip().splitlines()[-1])
        return result


def cli_command(world: PmWorld, file: Path, *extra: str, api_key: str | None = None) -> list[str]:
    return [
        sys.executable,
        "-m",
        "vaultswitch.cli",
        "import",
        str(file),
        "--orchestrator-url",
        world.orch.url,
        "--api-key",
        api_key or world.merchant.api_key,
        "--no-progress",
        *extra,
    ]


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULTSWITCH_")}
    env["PYTHONPATH"] = str(REPO / "src")
    return env


def run_cli(world: PmWorld, file: Path, *extra: str, api_key: str | None = None) -> CliRun:
    done = subprocess.run(
        cli_command(world, file, *extra, api_key=api_key),
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=600,
        check=False,
    )
    return CliRun(done.returncode, done.stdout, done.stderr)


def assert_no_card_numbers(numbers: Sequence[str], *texts: str) -> None:
    for text in texts:
        for number in numbers:
            assert number not in text
