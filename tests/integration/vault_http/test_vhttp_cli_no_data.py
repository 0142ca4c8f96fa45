"""Admin commands other than `create` never create a store: on a wrong data dir or an empty
database they say there is no vault data there, exit non-zero and leave no file behind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from vaultswitch.vault.cli import vault_app

runner = CliRunner()

NEEDS_DATA: list[list[str]] = [
    ["list"],
    ["audit"],
    ["audit", "--vault", "tntabc12345"],
    ["reveal", "enable", "--vault", "tntabc12345"],
    ["set-reveal", "--vault", "tntabc12345", "--disabled"],
    ["service-account", "--vault", "tntabc12345"],
    ["access-credentials", "--vault", "tntabc12345"],
    ["rotate-key", "--vault", "tntabc12345"],
    ["rotate-master-key"],
]


def _error(args: list[str]) -> dict[str, Any]:
    result = runner.invoke(vault_app, args)
    assert result.exit_code == 1, (args, result.stdout, result.stderr)
    assert result.stdout == ""
    error: dict[str, Any] = json.loads(result.stderr.strip().splitlines()[-1])
    return error


@pytest.mark.parametrize("command", NEEDS_DATA, ids=" ".join)
def test_a_wrong_data_dir_is_reported_and_left_untouched(
    tmp_path: Path, command: list[str]
) -> None:
    wrong = tmp_path / "typo"
    error = _error([*command, "--data-dir", str(wrong)])
    assert error["error"] == "NO_VAULT_DATA"
    assert str(wrong.resolve() / "vault.db") in error["detail"]
    assert "--data-dir" in error["hint"]
    assert "vaultswitch up" in error["hint"]
    assert "vaultswitch vault create" in error["hint"]
    assert not wrong.exists()
    assert list(tmp_path.iterdir()) == []


def test_an_existing_empty_data_dir_stays_empty(tmp_path: Path) -> None:
    assert _error(["list", "--data-dir", str(tmp_path)])["error"] == "NO_VAULT_DATA"
    assert list(tmp_path.iterdir()) == []


def test_create_makes_the_store_then_list_reads_it(tmp_path: Path) -> None:
    made = runner.invoke(vault_app, ["create", "--data-dir", str(tmp_path)])
    assert made.exit_code == 0, made.stderr
    listed = runner.invoke(vault_app, ["list", "--data-dir", str(tmp_path)])
    assert listed.exit_code == 0, listed.stderr
    assert [v["vault_id"] for v in json.loads(listed.stdout)] == [
        json.loads(made.stdout)["vault_id"]
    ]


def test_a_store_without_its_key_file_is_not_given_a_new_key(tmp_path: Path) -> None:
    assert runner.invoke(vault_app, ["create", "--data-dir", str(tmp_path)]).exit_code == 0
    (tmp_path / "master.key").unlink()
    error = _error(["list", "--data-dir", str(tmp_path)])
    assert error["error"] == "MASTER_KEY_MISMATCH"
    assert "master.key does not exist" in error["detail"]
    assert not (tmp_path / "master.key").exists()


@pytest.mark.postgres
def test_an_empty_database_gets_no_tables(tmp_path: Path, postgres_url: str) -> None:
    error = _error(["list", "--database-url", postgres_url, "--data-dir", str(tmp_path)])
    assert error["error"] == "NO_VAULT_DATA"
    assert "--database-url" in error["detail"]
    assert postgres_url.rpartition("@")[0] not in json.dumps(error)  # no URL (password) echoed
    engine = sa.create_engine(postgres_url)
    try:
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()
    assert list(tmp_path.iterdir()) == []
