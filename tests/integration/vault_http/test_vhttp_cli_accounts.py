"""Service accounts and access credentials listed, disabled, enabled and revoked from the CLI,
seen at once by a vault server running in another process; no secret is ever printed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner
from vhttp_processes import ServerProcess, alias_of

from vaultswitch.vault.cli import vault_app

pytestmark = pytest.mark.slow

runner = CliRunner()


def _cli(data_dir: Path, *args: str, ok: bool = True) -> Any:
    result = runner.invoke(vault_app, [*args, "--data-dir", str(data_dir)])
    if ok:
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return json.loads(result.stdout)
    assert result.exit_code == 1, (args, result.stdout, result.stderr)
    return json.loads(result.stderr.strip().splitlines()[-1])


def test_accounts_and_credentials_are_managed_while_a_server_runs(tmp_path: Path) -> None:
    vault_id = _cli(tmp_path, "create")["vault_id"]
    other_id = _cli(tmp_path, "create")["vault_id"]
    first = _cli(tmp_path, "service-account", "--vault", vault_id)
    second = _cli(tmp_path, "service-accounts", "create", "--vault", vault_id, "--name", "b")
    elsewhere = _cli(tmp_path, "service-account", "--vault", other_id)
    kept = _cli(tmp_path, "access-credentials", "--vault", vault_id)  # the old spelling
    revoked = _cli(tmp_path, "access-credentials", "create", "--vault", vault_id)
    secrets = [a["client_secret"] for a in (first, second, elsewhere)]
    secrets += [kept["password"], revoked["password"]]

    listed = _cli(tmp_path, "service-accounts", "list", "--vault", vault_id)
    assert [a["client_id"] for a in listed] == [first["client_id"], second["client_id"]]
    assert listed[1]["name"] == "b"
    assert all(a["disabled"] is False and "client_secret" not in a for a in listed)
    assert len(_cli(tmp_path, "service-accounts", "list")) == 3
    creds = _cli(tmp_path, "access-credentials", "list", "--vault", vault_id)
    assert {c["username"] for c in creds} == {kept["username"], revoked["username"]}
    assert _cli(tmp_path, "access-credentials", "list", "--vault", other_id) == []

    server = ServerProcess(tmp_path)
    try:
        assert server.token(first["client_id"], first["client_secret"]).status_code == 200
        v1 = (revoked["username"], revoked["password"])
        alias_of(server.create(vault_id, "v1-before", v1))  # the server now knows them

        disabled = _cli(tmp_path, "service-accounts", "disable", first["client_id"])
        assert disabled["disabled"] is True
        refused = server.token(first["client_id"], first["client_secret"])
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"] == "invalid_client"
        assert server.token(second["client_id"], second["client_secret"]).status_code == 200
        assert [a["disabled"] for a in _cli(tmp_path, "service-accounts", "list")] == [
            True,
            False,
            False,
        ]
        assert _cli(tmp_path, "service-accounts", "enable", first["client_id"])["disabled"] is False
        assert server.token(first["client_id"], first["client_secret"]).status_code == 200

        gone = _cli(tmp_path, "access-credentials", "revoke", revoked["username"])
        assert gone == {**gone, "username": revoked["username"], "revoked": True}
        assert server.create(vault_id, "v1-after", v1).status_code == 401
        alias_of(server.create(vault_id, "v1-kept", (kept["username"], kept["password"])))
    finally:
        server.stop()

    left = _cli(tmp_path, "access-credentials", "list")
    assert [c["username"] for c in left] == [kept["username"]]
    audit = _cli(tmp_path, "audit", "--vault", vault_id)
    actions = [(row["action"], row["detail"]) for row in audit]
    assert ("admin.service_account.disable", first["client_id"]) in actions
    assert ("admin.service_account.enable", first["client_id"]) in actions
    assert ("admin.access_credentials.revoke", revoked["username"]) in actions

    printed = json.dumps([listed, creds, left, audit, disabled, gone])
    assert not [s for s in secrets if s in printed]


def test_unknown_accounts_and_credentials_name_the_list_command(tmp_path: Path) -> None:
    _cli(tmp_path, "create")
    error = _cli(tmp_path, "service-accounts", "disable", "ACnope", ok=False)
    assert error["error"] == "CLIENT_NOT_FOUND"
    assert "vaultswitch vault service-accounts list" in error["hint"]
    assert "audit" not in error["hint"]
    error = _cli(tmp_path, "access-credentials", "revoke", "USnope", ok=False)
    assert error["error"] == "CREDENTIALS_NOT_FOUND"
    assert "vaultswitch vault access-credentials list" in error["hint"]
    error = _cli(tmp_path, "service-accounts", "list", "--vault", "tntnope0000", ok=False)
    assert error["error"] == "VAULT_NOT_FOUND"


def test_access_credentials_options_before_the_subcommand_count(tmp_path: Path) -> None:
    vault_id = _cli(tmp_path, "create")["vault_id"]
    made = runner.invoke(
        vault_app,
        ["access-credentials", "--data-dir", str(tmp_path), "create", "--vault", vault_id],
    )
    assert made.exit_code == 0, made.stderr
    listed = runner.invoke(vault_app, ["access-credentials", "--data-dir", str(tmp_path), "list"])
    assert listed.exit_code == 0, listed.stderr
    assert [c["username"] for c in json.loads(listed.stdout)] == [
        json.loads(made.stdout)["username"]
    ]
    bare = runner.invoke(vault_app, ["access-credentials", "--data-dir", str(tmp_path)])
    assert bare.exit_code == 2
    assert "--vault" in bare.stderr
