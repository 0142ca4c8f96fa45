"""`rotate-master-key` in one process while a vault server keeps running in another.

A server whose key comes from the key file picks the new key up without a restart; a
server whose key comes from VAULTSWITCH_MASTER_KEY cannot, and says so with a 503 and a
detail naming the restart, until it is restarted with the new key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from vhttp_processes import ServerProcess, alias_of, cli_json, value_of

from vaultswitch.vault.core.crypto import encode_master_key, generate_key

pytestmark = pytest.mark.slow


def _vault_with_account(data_dir: Path, env: dict[str, str] | None = None) -> tuple[str, str, str]:
    d = ["--data-dir", str(data_dir)]
    vault_id = cli_json("vault", "create", *d, env=env)["vault_id"]
    account = cli_json("vault", "service-account", "--vault", vault_id, *d, env=env)
    return vault_id, account["client_id"], account["client_secret"]


def test_a_running_server_picks_up_a_rotated_key_file(tmp_path: Path) -> None:
    d = ["--data-dir", str(tmp_path)]
    vault_id, client_id, secret = _vault_with_account(tmp_path)
    server = ServerProcess(tmp_path)
    try:
        auth = server.bearer(client_id, secret)
        first = alias_of(server.create(vault_id, "before-rotation", auth))

        rotated = cli_json("vault", "rotate-master-key", *d)
        assert rotated["rewrapped_keys"] >= 3
        assert "restart" not in rotated["instructions"]

        # keys already unwrapped stay valid: rotation re-wraps them, it does not change them
        second = alias_of(server.create(vault_id, "after-rotation", auth))
        assert value_of(server.reveal(vault_id, first, auth)) == "before-rotation"

        # a data key wrapped under the new master key: the server must load that key
        assert cli_json("vault", "rotate-key", "--vault", vault_id, *d)["key_version"] == 2
        third = server.create(vault_id, "new-data-key", auth)
        assert third.status_code == 201, third.text
        assert value_of(server.reveal(vault_id, alias_of(third), auth)) == "new-data-key"
        assert value_of(server.reveal(vault_id, second, auth)) == "after-rotation"

        # a vault created after the rotation (its keys wrapped under the new master key)
        other_id, other_client, other_secret = _vault_with_account(tmp_path)
        other_auth = server.bearer(other_client, other_secret)
        fourth = alias_of(server.create(other_id, "other-vault", other_auth))
        assert value_of(server.reveal(other_id, fourth, other_auth)) == "other-vault"

        # and the server goes on rotating: a second rotation, then a new data key
        cli_json("vault", "rotate-master-key", *d)
        assert cli_json("vault", "rotate-key", "--vault", vault_id, *d)["key_version"] == 3
        assert server.create(vault_id, "third-master-key", auth).status_code == 201
        assert server.token(client_id, secret).status_code == 200
    finally:
        log = server.stop()
    assert "vault.master_key_reloaded" in log


@pytest.mark.postgres
def test_a_running_server_on_postgresql_picks_up_a_rotated_key_file(
    tmp_path: Path, postgres_url: str
) -> None:
    d = ["--data-dir", str(tmp_path), "--database-url", postgres_url]
    vault_id = cli_json("vault", "create", *d)["vault_id"]
    account = cli_json("vault", "service-account", "--vault", vault_id, *d)
    server = ServerProcess(tmp_path, None, "--database-url", postgres_url)
    try:
        auth = server.bearer(account["client_id"], account["client_secret"])
        first = alias_of(server.create(vault_id, "before-rotation", auth))
        cli_json("vault", "rotate-master-key", *d)
        assert cli_json("vault", "rotate-key", "--vault", vault_id, *d)["key_version"] == 2
        second = alias_of(server.create(vault_id, "new-data-key", auth))
        assert value_of(server.reveal(vault_id, second, auth)) == "new-data-key"
        assert value_of(server.reveal(vault_id, first, auth)) == "before-rotation"
    finally:
        log = server.stop()
    assert "vault.master_key_reloaded" in log


def test_a_server_with_the_key_in_the_environment_asks_for_a_restart(tmp_path: Path) -> None:
    d = ["--data-dir", str(tmp_path)]
    old_env = {"VAULTSWITCH_MASTER_KEY": encode_master_key(generate_key())}
    vault_id, client_id, secret = _vault_with_account(tmp_path, old_env)
    server = ServerProcess(tmp_path, old_env)
    try:
        auth = server.bearer(client_id, secret)
        first = alias_of(server.create(vault_id, "before-rotation", auth))

        new_file = tmp_path / "new.key"
        rotated = cli_json("vault", "rotate-master-key", "--output", str(new_file), *d, env=old_env)
        assert "restart" in rotated["instructions"]
        new_env = {"VAULTSWITCH_MASTER_KEY": new_file.read_text().strip()}
        assert (
            cli_json("vault", "rotate-key", "--vault", vault_id, *d, env=new_env)["key_version"]
            == 2
        )

        refused = server.create(vault_id, "needs-the-new-key", auth)
        assert refused.status_code == 503, refused.text
        error = refused.json()["errors"][0]
        assert error["code"] == "MASTER_KEY_ROTATED"
        assert "VAULTSWITCH_MASTER_KEY" in error["detail"]
        assert f"vaultswitch vault serve --data-dir {tmp_path.resolve()}" in error["detail"]
        assert new_env["VAULTSWITCH_MASTER_KEY"] not in refused.text
        # what needs no new key still works (its keys are already unwrapped)
        assert value_of(server.reveal(vault_id, first, auth)) == "before-rotation"
    finally:
        server.stop()

    server = ServerProcess(tmp_path, new_env)  # restarted with the new key, as the detail says
    try:
        auth = server.bearer(client_id, secret)
        assert server.create(vault_id, "after-restart", auth).status_code == 201
        assert value_of(server.reveal(vault_id, first, auth)) == "before-rotation"
    finally:
        server.stop()


def test_a_rotation_that_stopped_after_its_commit_is_finished_by_running_it_again(
    tmp_path: Path,
) -> None:
    from typer.testing import CliRunner

    from vaultswitch.vault.cli import vault_app
    from vaultswitch.vault.core.crypto import write_master_key_file
    from vaultswitch.vault.core.service import VaultService
    from vaultswitch.vault.settings import VaultSettings

    def run(*args: str) -> Any:
        result = CliRunner().invoke(vault_app, [*args, "--data-dir", str(tmp_path)])
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return json.loads(result.stdout)

    vault_id = run("create")["vault_id"]
    key_file, staged = tmp_path / "master.key", tmp_path / "master.key.new"
    old_key = key_file.read_text()
    # what rotate-master-key does up to its commit, then it stops before moving the file
    new_key = generate_key()
    assert write_master_key_file(staged, new_key)
    with VaultService.open(VaultSettings(data_dir=tmp_path)) as service:
        service.rotate_master_key(new_key)

    assert [v["vault_id"] for v in run("list")] == [vault_id]  # opened with the staged key
    finished = run("rotate-master-key")
    assert finished["key_file"] == str(key_file)
    assert not staged.exists()
    assert key_file.read_text().strip() == encode_master_key(new_key) != old_key.strip()
    assert run("rotate-key", "--vault", vault_id)["key_version"] == 2
