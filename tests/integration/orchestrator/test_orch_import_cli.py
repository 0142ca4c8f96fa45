"""`vaultswitch import FILE` as a subprocess against a live orchestrator and our vault:
the report of a file with good, duplicate, missing-alias, malformed and metadata-less rows
(reveal on and off, CSV and JSON lines), file-level errors, a stopped import continued,
and an import killed with SIGKILL and run again: no duplicate, the same report as an
uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from import_support import (
    by_row,
    card_alias,
    card_json,
    cli_command,
    cli_env,
    field_aliases,
    put_many,
    random_numbers,
    read_report,
    run_cli,
    set_reveal,
    without_ids,
    write_csv,
    write_jsonl,
)
from pm_support import PmWorld, pm_world, setup_merchant

VISA = "4111111111111111"
MASTERCARD = "5555555555554444"
AMEX = "378282246310005"
HEADER = [
    "customer_id",
    "customer_name",
    "alias",
    "card_number",
    "card_exp_month",
    "card_exp_year",
    "last4",
    "expiry_month",
    "expiry_year",
]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[PmWorld]:
    with pm_world(tmp_path) as live:
        yield live


def _files_of(path: Path) -> str:
    return "".join(
        p.read_text(encoding="utf-8")
        for p in (path.with_name(path.name + ".report.csv"), path.with_name(path.name + ".journal"))
        if p.exists()
    )


def _mixed_file(world: PmWorld, path: Path) -> Path:
    single = card_alias(world, VISA, "03", "2030")
    fields = field_aliases(world, MASTERCARD, "04", "2031")
    amex = card_alias(world, AMEX, "05", "2032")
    path.write_text(
        ",".join(HEADER)
        + "\n"
        + f"ann,Ann,{single},,,,,,\n"  # row 2: imported
        + f"bob,Bob,,{fields['card_number']},{fields['card_exp_month']},"
        f"{fields['card_exp_year']},,,\n"  # row 3: imported (no metadata: from the vault)
        + f"ann,Ann,{single},,,,,,\n"  # row 4: duplicate of row 2
        + "cid,Cid,tok_sandbox_not_in_the_vault,,,,,,\n"  # row 5: alias_not_found
        + f"dan,Dan,{amex},,,,,,,extra,fields\n"  # row 6: malformed (too many fields)
        + f"eve,Eve,{VISA},,,,,,\n"  # row 7: a card number, not an alias
        + "\n"  # a blank line is skipped
        + f"fay,Fay,{amex},,,,0005,05,2032\n"  # row 9: imported with metadata
        + f",Nobody,{amex},,,,,,\n"  # row 10: no customer
        + f"gus,Gus,{amex},,,,,,",  # row 11: imported (last line without newline)
        encoding="utf-8",
    )
    return path


def test_the_report_of_a_file_with_every_kind_of_row(world: PmWorld, tmp_path: Path) -> None:
    path = _mixed_file(world, tmp_path / "cards.csv")
    run = run_cli(world, path, "--json")
    assert run.returncode == 0, run.stderr
    summary = run.json()
    assert summary["counts"] == {"imported": 4, "duplicate": 1, "alias_not_found": 1, "invalid": 3}
    assert summary["rows"] == 9
    assert summary["aliases_checked"] is True
    report = by_row(read_report(path))
    assert {n: r["status"] for n, r in report.items()} == {
        2: "imported",
        3: "imported",
        4: "duplicate",
        5: "alias_not_found",
        6: "invalid",
        7: "invalid",
        9: "imported",
        10: "invalid",
        11: "imported",
    }
    assert report[4]["payment_method_id"] == report[2]["payment_method_id"]
    assert report[6]["reason"] == "the line has 11 fields, the header names 9"
    assert "aliases only, the value was not sent" in report[7]["reason"]
    assert report[10]["reason"] == "customer_id: missing"
    assert report[5]["reason"] == "alias: the vault has no value under this alias"
    for n in (5, 6, 7, 10):
        assert report[n]["customer_id"] == report[n]["payment_method_id"] == ""
    assert list(read_report(path)[0]) == [
        "row",
        "status",
        "customer_id",
        "payment_method_id",
        "reason",
    ]
    for number in (VISA, MASTERCARD, AMEX):
        assert number not in run.stdout + run.stderr + _files_of(path)
    # the customers and cards are there
    bob = world.http.get("/v2/customers/reference/bob", headers=world.headers).json()
    assert bob["id"] == report[3]["customer_id"]
    card = world.http.get(
        f"/v2/payment-methods/{report[3]['payment_method_id']}", headers=world.headers
    ).json()["payment_method_data"]["card"]
    assert (card["last4_digits"], card["expiry_year"]) == ("4444", "2031")

    # run again: nothing is sent, the same report
    before = path.with_name("cards.csv.report.csv").read_text()
    again = run_cli(world, path)
    assert again.returncode == 0, again.stderr
    assert "9 rows were answered in an earlier run" in again.stdout
    assert path.with_name("cards.csv.report.csv").read_text() == before


def test_with_reveal_off_metadata_less_rows_are_invalid(world: PmWorld, tmp_path: Path) -> None:
    path = _mixed_file(world, tmp_path / "cards.csv")
    set_reveal(world, False)
    run = run_cli(world, path, "--json")
    assert run.returncode == 0, run.stderr
    summary = run.json()
    assert summary["aliases_checked"] is False
    report = by_row(read_report(path))
    for n in (2, 3, 4, 5, 11):  # no metadata in the file, and the vault will not tell
        assert report[n]["status"] == "invalid", report[n]
        assert report[n]["reason"].startswith("last4: missing; the vault does not allow reveal")
    assert report[9]["status"] == "imported"
    assert report[9]["reason"].startswith("not checked")
    human = run_cli(world, _mixed_file(world, tmp_path / "again.csv"))
    assert "aliases were not checked" in human.stdout


def test_json_lines(world: PmWorld, tmp_path: Path) -> None:
    alias = card_alias(world, VISA)
    fields = field_aliases(world, MASTERCARD)
    path = write_jsonl(
        tmp_path / "cards.jsonl",
        [
            {"customer_id": "c1", "customer_email": "c1@example.com", "alias": alias},
            '{"customer_id": "c2", "alias": ',
            "[1, 2]",
            {"customer_id": "c3", "alias": alias, "colour": "red"},
            {"customer_id": 42, **fields, "expiry_month": 3},
            {"customer_id": "c4", "alias": int(VISA)},
            {"customer_id": "c5", "alias": alias, "card_network": "Nope"},
        ],
    )
    run = run_cli(world, path, "--json")
    assert run.returncode == 0, run.stderr
    report = by_row(read_report(path))
    statuses = {n: (r["status"], r["reason"]) for n, r in report.items()}
    assert statuses[1] == ("imported", "")
    assert statuses[2] == ("invalid", "not valid JSON (column 31)")
    assert statuses[3] == ("invalid", "not a JSON object")
    assert statuses[4] == ("invalid", "colour: unknown field")
    assert statuses[5] == ("imported", "")
    assert statuses[6][0] == "invalid"
    assert "looks like a card number" in statuses[6][1]
    assert statuses[7][0] == "invalid"
    assert statuses[7][1].startswith("card_network:")
    assert VISA not in run.stdout + run.stderr + _files_of(path)


def test_a_file_that_cannot_be_imported_stops_before_anything_is_sent(
    world: PmWorld, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "bad.csv", ["customer_id", "alias", "alais"], [["a", "b", "c"]])
    run = run_cli(world, path)
    assert run.returncode == 2
    error = run.error()
    assert error["error"] == "IMPORT_FILE_INVALID"
    assert "'alais'" in error["detail"]
    assert not path.with_name("bad.csv.journal").exists()
    run = run_cli(world, tmp_path / "nothing.csv")
    assert (run.returncode, run.error()["error"]) == (2, "IMPORT_FILE_INVALID")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert run_cli(world, empty).error()["error"] == "IMPORT_FILE_INVALID"
    # no orchestrator given and no up.json
    done = subprocess.run(
        [*cli_command(world, path)[:5], "--data-dir", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
        env=cli_env(),
        check=False,
    )
    assert done.returncode == 2
    assert json.loads(done.stderr.strip().splitlines()[-1])["error"] == "NO_ORCHESTRATOR"


def test_a_refused_import_stops_and_continues_when_run_again(
    world: PmWorld, tmp_path: Path
) -> None:
    alias = card_alias(world, VISA)
    rows = [["c1", alias]] + [["c2", "tok_missing"]] * 3
    path = write_csv(tmp_path / "cards.csv", ["customer_id", "alias"], rows)
    run = run_cli(world, path, api_key="snd_wrong_key")
    assert run.returncode == 1
    error = run.error()
    assert error["error"] == "IMPORT_STOPPED"
    assert "HTTP 401 IR_01" in error["detail"]
    assert "run the same command again" in error["hint"]
    assert path.with_name("cards.csv.journal").exists()
    assert not path.with_name("cards.csv.report.csv").exists()
    run = run_cli(world, path, "--json")
    assert run.returncode == 0, run.stderr
    assert run.json()["counts"]["imported"] == 1
    # the file changed: the journal is not this file's any more
    path.write_text(path.read_text() + "c3,tok_other\n")
    run = run_cli(world, path)
    assert (run.returncode, run.error()["error"]) == (2, "IMPORT_JOURNAL_MISMATCH")


def _kind(i: int) -> str:
    if i % 40 == 39:
        return "bad"
    if i % 25 == 24:
        return "missing"
    if i % 10 == 9:
        return "repeat"
    return "card"


def _big_file(world: PmWorld, path: Path, count: int) -> Path:
    """``count`` rows: distinct cards, every 10th a repeat of the card 9 rows up (the same
    customer; as a card JSON alias where that row had per-field aliases), every 25th a
    missing alias, every 40th a malformed line, every 50th a per-field card."""
    numbers = random_numbers(count)
    singles = put_many(world, world.vault.external, [card_json(n) for n in numbers])
    lines = [",".join(HEADER)]
    for i in range(count):
        kind = _kind(i)
        if kind == "bad":
            lines.append("bad,line")
        elif kind == "missing":
            lines.append(f"cust-{i % 700},,tok_missing_{i},,,,,,")
        elif kind == "repeat":
            j = i - 9
            lines.append(f"cust-{j % 700},,{singles[j]},,,,,,")
        elif i % 50 == 0:
            fields = field_aliases(world, numbers[i], "03", "2030", None)
            lines.append(
                f"cust-{i % 700},,,{fields['card_number']},{fields['card_exp_month']},"
                f"{fields['card_exp_year']},,,"
            )
        else:
            lines.append(f"cust-{i % 700},Customer {i % 700},{singles[i]},,,,,,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _journal_rows(path: Path) -> int:
    journal = path.with_name(path.name + ".journal")
    if not journal.exists():
        return 0
    return max(0, journal.read_bytes().count(b"\n") - 1)


def _db_check(world: PmWorld, merchant_id: str, imported: int) -> None:
    with sqlite3.connect(world.db_path()) as db:
        (count,) = db.execute(
            "SELECT count(*) FROM payment_methods WHERE merchant_id = ?", (merchant_id,)
        ).fetchone()
        twice = db.execute(
            "SELECT customer_id, fingerprint FROM payment_methods WHERE merchant_id = ? "
            "GROUP BY customer_id, fingerprint HAVING count(*) > 1",
            (merchant_id,),
        ).fetchall()
    assert twice == []
    assert count == imported


def test_an_import_killed_with_sigkill_and_run_again_has_no_duplicate_and_the_same_report(
    world: PmWorld, tmp_path: Path
) -> None:
    total = 3000
    source = _big_file(world, tmp_path / "cards.csv", total)
    calm_dir, killed_dir = tmp_path / "calm", tmp_path / "killed"
    calm_dir.mkdir()
    killed_dir.mkdir()
    calm, killed = calm_dir / "cards.csv", killed_dir / "cards.csv"
    calm.write_bytes(source.read_bytes())
    killed.write_bytes(source.read_bytes())
    other = setup_merchant(world.orch, world.vault, "Calm Shop")

    # uninterrupted, for another merchant of the same vault
    run = run_cli(world, calm, "--json", "--concurrency", "4", api_key=other.merchant.api_key)
    assert run.returncode == 0, run.stderr
    calm_summary = run.json()

    # killed with SIGKILL midway, then run again
    process = subprocess.Popen(
        [*cli_command(world, killed), "--concurrency", "4"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=cli_env(),
    )
    deadline = time.monotonic() + 300
    try:
        while _journal_rows(killed) < total // 5 and process.poll() is None:
            assert time.monotonic() < deadline, "the import made no progress"
            time.sleep(0.02)
        assert process.poll() is None, "the import finished before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    answered = _journal_rows(killed)
    assert total // 5 <= answered < total
    assert not killed.with_name("cards.csv.report.csv").exists()

    run = run_cli(world, killed, "--json", "--concurrency", "4")
    assert run.returncode == 0, run.stderr
    summary = run.json()
    assert 0 < summary["resumed_rows"] < total
    assert summary["counts"] == calm_summary["counts"]
    assert summary["rows"] == total
    assert without_ids(read_report(killed)) == without_ids(read_report(calm))
    _db_check(world, world.merchant.merchant_id, summary["counts"]["imported"])
    _db_check(world, other.merchant.merchant_id, calm_summary["counts"]["imported"])
    kinds = [_kind(i) for i in range(total)]
    assert summary["counts"] == {
        "imported": kinds.count("card"),
        "duplicate": kinds.count("repeat"),
        "alias_not_found": kinds.count("missing"),
        "invalid": kinds.count("bad"),
    }


@pytest.mark.slow
def test_ten_thousand_rows(world: PmWorld, tmp_path: Path) -> None:
    total = 10_000
    path = _big_file(world, tmp_path / "cards.csv", total)
    run = run_cli(world, path, "--json", "--concurrency", "8")
    assert run.returncode == 0, run.stderr
    summary = run.json()
    assert summary["rows"] == total
    assert sum(summary["counts"].values()) == total
    assert len(read_report(path)) == total
    assert summary["counts"]["invalid"] == total // 40
    _db_check(world, world.merchant.merchant_id, summary["counts"]["imported"])
