"""A hint followed to the letter works, also with a data dir that is not the default and from
another working directory: a server-side hint (REVEAL_DISABLED) and a CLI-side one."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner
from vhttp_support import TOKEN_PATH, LiveServer

from vaultswitch.cli import app
from vaultswitch.troubleshooting import COMMAND_RE
from vaultswitch.vault.core.service import VaultService
from vaultswitch.vault.http.app import create_app
from vaultswitch.vault.settings import VaultSettings

runner = CliRunner()


def _run(args: list[str]) -> Any:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return json.loads(result.stdout)


def _follow(text: str) -> Any:
    """Run the one `vaultswitch ...` command the text names, exactly as written."""
    commands = COMMAND_RE.findall(text)
    assert len(commands) == 1, text
    return _run(shlex.split(commands[0])[1:])


def test_the_reveal_disabled_hint_enables_reveal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "not-the-default"
    d = ["--data-dir", str(data_dir)]
    vault_id = _run(["vault", "create", "--no-reveal", *d])["vault_id"]
    account = _run(["vault", "service-account", "--vault", vault_id, *d])
    settings = VaultSettings(data_dir=data_dir)
    service = VaultService.open(settings)
    server = LiveServer(create_app(settings, service)).start()
    try:
        token = httpx.post(
            server.url + TOKEN_PATH,
            data={"grant_type": "client_credentials"},
            auth=(account["client_id"], account["client_secret"]),
        ).json()["access_token"]
        api = httpx.Client(
            base_url=f"{server.url}/{vault_id}", headers={"Authorization": f"Bearer {token}"}
        )
        created = api.post("/aliases", json={"data": [{"value": "v-1", "format": "UUID"}]})
        alias = created.json()["data"][0]["aliases"][0]["alias"]
        refused = api.get(f"/aliases/{alias}")
        assert refused.status_code == 403
        detail = refused.json()["errors"][0]["detail"]
        assert f"--data-dir {data_dir.resolve()}" in detail

        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        monkeypatch.chdir(elsewhere)  # the hint must not depend on the working directory
        assert _follow(detail)["reveal_enabled"] is True
        shown = api.get(f"/aliases/{alias}")
        assert shown.status_code == 200, shown.text
        assert shown.json()["data"][0]["value"] == "v-1"
    finally:
        server.stop()
        service.close()
    assert list(elsewhere.iterdir()) == []


def test_a_cli_hint_carries_the_data_dir_it_was_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "store"
    vault_id = _run(["vault", "create", "--data-dir", str(data_dir)])["vault_id"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = runner.invoke(
        app, ["vault", "service-account", "--vault", "tntnope0000", "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 1
    error = json.loads(result.stderr.strip().splitlines()[-1])
    assert error["error"] == "VAULT_NOT_FOUND"
    assert [v["vault_id"] for v in _follow(error["hint"])] == [vault_id]
    assert list(elsewhere.iterdir()) == []
