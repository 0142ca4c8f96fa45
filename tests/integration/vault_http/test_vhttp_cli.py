"""The admin CLI on a real SQLite database: JSON output, audit rows, key rotation, serve checks."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner
from vhttp_support import LiveServer

from vaultswitch.vault.cli import vault_app
from vaultswitch.vault.core.service import VaultService
from vaultswitch.vault.http.app import create_app
from vaultswitch.vault.settings import VaultSettings

runner = CliRunner()


def run(*args: str, ok: bool = True) -> Any:
    result = runner.invoke(vault_app, list(args))
    if ok:
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return json.loads(result.stdout)
    assert result.exit_code != 0
    return result


def _last_json(stderr: str) -> Any:
    """The CLI's error object is the last line of stderr (log lines come before it)."""
    return json.loads(stderr.strip().splitlines()[-1])


def test_admin_flow_then_the_server_accepts_the_credentials(tmp_path: Path) -> None:
    d = ["--data-dir", str(tmp_path)]
    created = run("create", "--name", "shop", "--no-reveal", *d)
    vault_id = created["vault_id"]
    assert vault_id.startswith("tnt")
    assert created["reveal_enabled"] is False
    assert [v["vault_id"] for v in run("list", *d)] == [vault_id]

    sa = run(
        "service-account",
        "--vault",
        vault_id,
        "--scopes",
        "aliases:read,aliases:write",
        "--token-lifespan",
        "120",
        *d,
    )
    assert set(sa) >= {"client_id", "client_secret"}
    assert sa["scopes"] == ["aliases:read", "aliases:write"]
    creds = run("access-credentials", "--vault", vault_id, *d)
    assert creds["username"].startswith("US")

    assert run("reveal", "enable", "--vault", vault_id, *d)["reveal_enabled"] is True
    assert run("set-reveal", "--vault", vault_id, "--disabled", *d)["reveal_enabled"] is False
    assert run("reveal", "enable", "--vault", vault_id, *d)["reveal_enabled"] is True

    settings = VaultSettings(data_dir=tmp_path)
    service = VaultService.open(settings)
    server = LiveServer(create_app(settings, service)).start()
    try:
        r = httpx.post(
            f"{server.url}/auth/realms/vgs/protocol/openid-connect/token",
            data={"grant_type": "client_credentials"},
            auth=(sa["client_id"], sa["client_secret"]),
        )
        assert r.json()["expires_in"] == 120
        r = httpx.post(
            f"{server.url}/aliases",
            json={"data": [{"value": "secret-1", "format": "UUID"}]},
            auth=(creds["username"], creds["password"]),
        )
        assert r.status_code == 201
        alias = r.json()["data"][0]["aliases"][0]["alias"]
    finally:
        server.stop()
        service.close()

    rotated = run("rotate-key", "--vault", vault_id, "--reencrypt", *d)
    assert rotated["key_version"] == 2
    assert rotated["reencrypted"] == 1

    key_file = tmp_path / "master.key"
    old_key = key_file.read_text()
    result = run("rotate-master-key", *d)
    assert result["key_file"] == str(key_file)
    assert key_file.read_text() != old_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert old_key.strip() not in json.dumps(result)

    # data still readable with the new key
    service = VaultService.open(VaultSettings(data_dir=tmp_path))
    try:
        from vaultswitch.vault.core.models import AuditContext

        found = service.reveal(vault_id, [alias], "PERSISTENT", AuditContext("test"))
        assert found[alias].value.reveal() == "secret-1"
    finally:
        service.close()

    rows = run("audit", "--vault", vault_id, *d)
    actions = {r["action"] for r in rows}
    assert {
        "admin.vault.create",
        "admin.service_account.create",
        "admin.access_credentials.create",
        "admin.vault.reveal_enable",
        "admin.vault.reveal_disable",
        "admin.data_key.rotate",
        "admin.data_key.reencrypt",
        "token.issue",
        "alias.create",
    } <= actions
    assert all(sa["client_secret"] not in json.dumps(r) for r in rows)
    only = run("audit", "--action", "admin.master_key.rotate", *d)
    assert len(only) == 1
    assert len(run("audit", "--limit", "2", *d)) == 2


def test_cli_errors_are_json_and_non_zero(tmp_path: Path) -> None:
    d = ["--data-dir", str(tmp_path)]
    vault_id = run("create", *d)["vault_id"]
    result = run("reveal", "enable", "--vault", "tntmissing0", *d, ok=False)
    assert _last_json(result.stderr)["error"] == "VAULT_NOT_FOUND"
    result = run("service-account", "--vault", vault_id, "--scopes", "admin", *d, ok=False)
    assert _last_json(result.stderr)["error"] == "INVALID_SCOPE"
    result = run("service-account", "--vault", vault_id, "--token-lifespan", "5", *d, ok=False)
    assert "60" in _last_json(result.stderr)["detail"]


def test_rotate_master_key_from_env_needs_output(tmp_path: Path, monkeypatch: Any) -> None:
    from vaultswitch.vault.core.crypto import encode_master_key, generate_key

    monkeypatch.setenv("VAULTSWITCH_MASTER_KEY", encode_master_key(generate_key()))
    d = ["--data-dir", str(tmp_path)]
    run("create", *d)
    result = run("rotate-master-key", *d, ok=False)
    assert _last_json(result.stderr)["error"] == "OUTPUT_REQUIRED"
    out = tmp_path / "new.key"
    result = run("rotate-master-key", "--output", str(out), *d)
    assert result["new_key_file"] == str(out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text().strip() not in json.dumps(result)
    monkeypatch.setenv("VAULTSWITCH_MASTER_KEY", out.read_text().strip())
    assert len(run("list", *d)) == 1


def test_serve_with_workers_needs_postgres_and_redis(tmp_path: Path) -> None:
    result = runner.invoke(vault_app, ["serve", "--workers", "2", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    err = _last_json(result.stderr)
    assert err["error"] == "CANNOT_START"
    assert "PostgreSQL" in err["detail"]
    assert "Redis" in err["detail"]
    assert "--workers 1" in err["hint"]
    assert not os.path.exists(tmp_path / "vault.db")
