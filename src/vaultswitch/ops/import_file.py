"""The rows of an import file (CSV with a header line, or JSON lines), numbered as a
person finds them: ``row`` is the line the record starts on (in a CSV the header is
line 1, so the first card is row 2).

A bad record (a CSV line with too many or too few fields, a line that is not JSON or not
a JSON object, bytes that are not UTF-8, a missing customer, a value that looks like a
card number in an alias column) is a row with a ``problem``: it is reported ``invalid``
and the import goes on. Only a file that cannot be read at all (missing, no header, an
unknown column in the header) stops it before it starts. Values are never put into a
problem's text.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vaultswitch.domain.digits import looks_like_card_number

#: The columns of an import file (JSON lines: the keys).
COLUMNS = (
    "customer_id",
    "customer_name",
    "customer_email",
    "alias",
    "card_number",
    "card_exp_month",
    "card_exp_year",
    "card_holder_name",
    "last4",
    "card_isin",
    "card_network",
    "expiry_month",
    "expiry_year",
)
ALIAS_COLUMNS = ("alias", "card_number", "card_exp_month", "card_exp_year", "card_holder_name")
MAX_CUSTOMER_ID = 64

Format = Literal["csv", "jsonl"]


class ImportFileError(Exception):
    """The file cannot be imported at all (exit status 2)."""

    def __init__(self, message: str, hint: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code
        self.hint = hint


@dataclass(frozen=True, slots=True)
class FileRow:
    """One record: the fields to send (API names), or why it is invalid."""

    row: int
    fields: dict[str, Any] = field(repr=False)
    problem: str | None = None


def detect_format(path: Path) -> Format:
    """By the file name (``.csv``; ``.jsonl``, ``.ndjson``, ``.json``), else by the first
    character that is not blank (``{``: JSON lines)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    with _open(path) as handle:
        for line in handle:
            if line.strip():
                return "jsonl" if line.lstrip().startswith("{") else "csv"
    return "csv"


def _open(path: Path) -> Any:
    try:
        return path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
    except OSError as exc:
        raise ImportFileError(
            f"cannot read {path}: {exc.strerror or exc}",
            "Pass the path of a CSV or JSON lines file you can read.",
            code="IMPORT_FILE_INVALID",
        ) from None


def _not_utf8(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def _check(row: int, values: dict[str, Any], *, fpe_aliases: bool) -> FileRow:
    """The record as API fields (``customer_id`` is sent as ``customer_reference``)."""
    fields: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str):
            if _not_utf8(value):
                return FileRow(row, {}, f"{name}: not UTF-8 text")
            value = value.strip()
            if not value:
                continue
        elif value is None:
            continue
        if name in ALIAS_COLUMNS:
            if not isinstance(value, str):
                return FileRow(row, {}, f"{name}: must be a string (an alias)")
            if not fpe_aliases and looks_like_card_number(value):
                return FileRow(
                    row,
                    {},
                    f"{name}: holds what looks like a card number; import takes vault aliases "
                    "only, the value was not sent (a format-preserving alias that looks like "
                    "a card number needs --fpe-aliases)",
                )
        fields[name] = value
    customer = fields.pop("customer_id", None)
    if customer is None:
        return FileRow(row, {}, "customer_id: missing")
    if not isinstance(customer, str):
        return FileRow(row, {}, "customer_id: must be a string")
    if len(customer) > MAX_CUSTOMER_ID:
        return FileRow(row, {}, f"customer_id: longer than {MAX_CUSTOMER_ID} characters")
    if not any(name in fields for name in ALIAS_COLUMNS):
        return FileRow(
            row,
            {},
            "alias: missing; give alias (a card JSON alias) or the per-field aliases "
            "card_number, card_exp_month and card_exp_year",
        )
    return FileRow(row, {"customer_reference": customer, **fields})


def _header(raw: list[str], path: Path) -> list[str]:
    names = [name.strip().lower() for name in raw]
    unknown = [name for name in names if name not in COLUMNS]
    hint = f"The header names columns among: {', '.join(COLUMNS)}."
    if unknown:
        shown = ", ".join(repr(n) if len(n) <= 40 else repr(n[:40] + "...") for n in unknown)
        raise ImportFileError(
            f"{path}: unknown column(s) in the header: {shown}", hint, code="IMPORT_FILE_INVALID"
        )
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ImportFileError(
            f"{path}: column(s) named twice in the header: {twice}",
            hint,
            code="IMPORT_FILE_INVALID",
        )
    if "customer_id" not in names:
        raise ImportFileError(
            f"{path}: the header has no customer_id column", hint, code="IMPORT_FILE_INVALID"
        )
    if "alias" not in names and "card_number" not in names:
        raise ImportFileError(
            f"{path}: the header has neither an alias nor a card_number column",
            hint + " A card is `alias` (a card JSON alias) or per-field aliases "
            "(card_number, card_exp_month, card_exp_year).",
            code="IMPORT_FILE_INVALID",
        )
    return names


def _csv_rows(path: Path, *, fpe_aliases: bool) -> Iterator[FileRow]:
    with _open(path) as handle:
        reader = csv.reader(handle, strict=True)
        header: list[str] | None = None
        while True:
            start = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                if header is None:
                    raise ImportFileError(
                        f"{path}: the header line is not valid CSV ({exc})",
                        "The first line must name the columns, comma-separated.",
                        code="IMPORT_FILE_INVALID",
                    ) from None
                yield FileRow(start, {}, f"not valid CSV: {exc}")
                continue
            if not record or all(not cell.strip() for cell in record):
                continue
            if header is None:
                header = _header(record, path)
                continue
            if len(record) != len(header):
                yield FileRow(
                    start,
                    {},
                    f"the line has {len(record)} fields, the header names {len(header)}",
                )
                continue
            yield _check(start, dict(zip(header, record, strict=True)), fpe_aliases=fpe_aliases)
    if header is None:
        raise ImportFileError(
            f"{path} is empty: no header line",
            f"The first line names the columns, e.g. customer_id,alias; columns: "
            f"{', '.join(COLUMNS)}.",
            code="IMPORT_FILE_INVALID",
        )


def _json_rows(path: Path, *, fpe_aliases: bool) -> Iterator[FileRow]:
    with _open(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            if _not_utf8(line):
                yield FileRow(number, {}, "not UTF-8 text")
                continue
            try:
                record = json.loads(line.strip())
            except ValueError as exc:
                column = getattr(exc, "colno", None)
                where = f" (column {column})" if column else ""
                yield FileRow(number, {}, f"not valid JSON{where}")
                continue
            if not isinstance(record, dict):
                yield FileRow(number, {}, "not a JSON object")
                continue
            unknown = [key for key in record if key not in COLUMNS]
            if unknown:
                name = unknown[0] if len(unknown[0]) <= 40 else unknown[0][:40] + "..."
                yield FileRow(number, {}, f"{name}: unknown field")
                continue
            yield _check(number, record, fpe_aliases=fpe_aliases)


def read_rows(path: Path, fmt: Format, *, fpe_aliases: bool = False) -> Iterator[FileRow]:
    """Every record of the file, in order (a CSV header problem raises ImportFileError
    at the first ``next``)."""
    if fmt == "csv":
        return _csv_rows(path, fpe_aliases=fpe_aliases)
    return _json_rows(path, fpe_aliases=fpe_aliases)


def count_rows(path: Path, fmt: Format) -> int:
    """How many records the file has (for the progress bar; bad records count)."""
    return sum(1 for _ in read_rows(path, fmt, fpe_aliases=True))
