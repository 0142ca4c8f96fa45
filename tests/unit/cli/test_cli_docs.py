"""The top-level CLI and the generated troubleshooting page."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from vaultswitch.cli import app
from vaultswitch.domain.errors import ALL_ERRORS
from vaultswitch.troubleshooting import all_entries, find_entries, render_markdown

ROOT = Path(__file__).resolve().parents[3]


def test_troubleshooting_page_is_generated_from_the_code() -> None:
    page = (ROOT / "docs" / "troubleshooting.md").read_text()
    assert page == render_markdown(), (
        "docs/troubleshooting.md is stale: run "
        "`python -m vaultswitch.troubleshooting > docs/troubleshooting.md`"
    )


def test_every_error_class_and_entry_has_a_hint() -> None:
    codes = {entry.code for entry in all_entries()}
    for cls in ALL_ERRORS:
        assert cls.code in codes
    for entry in all_entries():
        assert entry.hint.strip()
        assert entry.message.strip()


def test_explain_prints_every_layer_of_a_code() -> None:
    result = CliRunner().invoke(app, ["explain", "vault_not_found"])
    assert result.exit_code == 0
    assert "vault_not_found (HTTP 424, connector / client)" in result.output
    assert "VAULT_NOT_FOUND (HTTP 404, vault server)" in result.output
    assert "environment-specific" in result.output
    assert len(find_entries("INVALID_REQUEST")) == 3


def test_explain_unknown_code_fails() -> None:
    result = CliRunner().invoke(app, ["explain", "no_such_code"])
    assert result.exit_code == 1


def test_version() -> None:
    result = CliRunner().invoke(app, ["version"])
    assert result.exit_code == 0
    assert result.output.strip() == "0.1.0"


def test_every_vault_error_code_in_the_api_reference_has_a_troubleshooting_entry() -> None:
    import re

    table = (ROOT / "docs" / "vault-api.md").read_text()
    documented = set(re.findall(r"^\| \d{3} \| (.+?) \|", table, flags=re.M))
    codes = {c for cell in documented for c in re.findall(r"`([A-Z_]+)`", cell)}
    assert len(codes) > 20
    known = {entry.code for entry in all_entries()}
    assert sorted(codes - known) == []


def test_vault_admin_errors_carry_a_hint(tmp_path: Path) -> None:
    import json

    d = ["--data-dir", str(tmp_path)]
    assert CliRunner().invoke(app, ["vault", "create", *d]).exit_code == 0
    result = CliRunner().invoke(app, ["vault", "service-account", "--vault", "tntnope0000", *d])
    assert result.exit_code == 1
    last = json.loads(result.output.strip().splitlines()[-1])
    assert last["error"] == "VAULT_NOT_FOUND"
    assert "vaultswitch vault list" in last["hint"]
