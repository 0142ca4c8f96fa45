"""`vaultswitch routes apply|get|delete` on a vault's store in-process: create and update by id,
`get` output that `apply` takes back unchanged, all-or-none apply, JSON errors with runnable
hints, NO_VAULT_DATA on a wrong data dir, the audit actor; the same routes as the live vault's
management API sees."""

from __future__ import annotations

import json
import os
import pwd
import shlex
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from live_uvicorn import LiveServer
from vaultswitch.cli import app
from vaultswitch.vault.core.service import VaultService
from vaultswitch.vault.http.app import create_app
from vaultswitch.vault.settings import VaultSettings

DATA = Path(__file__).resolve().parents[2] / "data" / "routes"
TOKEN_PATH = "/auth/realms/vgs/protocol/openid-connect/token"


def run(*args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(app, list(args), input=stdin)


def ok_json(*args: str) -> Any:
    result = run(*args)
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


def error(*args: str) -> dict[str, str]:
    result = run(*args)
    assert result.exit_code == 1, result.output
    body: dict[str, str] = json.loads(result.stderr.strip().splitlines()[-1])
    return body


@pytest.fixture
def vault(tmp_path: Path) -> tuple[str, list[str]]:
    d = ["--data-dir", str(tmp_path / "data")]
    return ok_json("vault", "create", *d)["vault_id"], d


def _new_routes_file(tmp_path: Path) -> Path:
    """The reference example without ids, plus the exported outbound route with its id."""
    ref = yaml.safe_load((DATA / "reference-example.yaml").read_text())["data"][0]
    del ref["id"], ref["attributes"]["id"], ref["attributes"]["entries"][0]["id"]
    exported = yaml.safe_load((DATA / "vgs-exported.yaml").read_text())["data"][0]
    path = tmp_path / "routes.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "data": [ref, exported]}))
    return path


def test_apply_get_apply_again_delete(tmp_path: Path, vault: tuple[str, list[str]]) -> None:
    vault_id, d = vault
    applied = ok_json(
        "routes", "apply", "-f", str(_new_routes_file(tmp_path)), "--vault", vault_id, *d
    )
    assert (applied["created"], applied["updated"]) == (2, 0)
    new_id, kept_id = (r["id"] for r in applied["routes"])
    assert kept_id == "a7c2d9e4-1b35-4c86-8f07-6e2d4b1a9c53"  # a route with an id keeps it
    assert [r["name"] for r in applied["routes"]] == ["inbound-echo", "outbound-httpbin"]

    got = run("routes", "get", "--vault", vault_id, *d)
    assert got.exit_code == 0, got.stderr
    document = yaml.safe_load(got.stdout)
    assert [r["id"] for r in document["data"]] == [new_id, kept_id]
    assert document["data"][0]["attributes"]["entries"][0]["id"]  # entries got ids
    # what get prints, apply takes back unchanged: every route updated, nothing else changes
    printed = tmp_path / "printed.yaml"
    printed.write_text(got.stdout)
    again = ok_json("routes", "apply", "--file", str(printed), "--vault", vault_id, *d)
    assert (again["created"], again["updated"]) == (0, 2)
    after = yaml.safe_load(run("routes", "get", "--vault", vault_id, *d).stdout)
    for item in (*document["data"], *after["data"]):
        item["attributes"].pop("updated_at")
    assert after == document

    # an edit of the printed file updates that route only
    document["data"][1]["attributes"]["tags"]["name"] = "renamed"
    printed.write_text(yaml.safe_dump(document))
    ok_json("routes", "apply", "-f", str(printed), "--vault", vault_id, *d)
    names = [
        r["attributes"]["tags"]["name"]
        for r in yaml.safe_load(run("routes", "get", "--vault", vault_id, *d).stdout)["data"]
    ]
    assert names == ["inbound-echo", "renamed"]

    deleted = ok_json("routes", "delete", new_id.upper(), "--vault", vault_id, *d)
    assert deleted == {"id": new_id, "vault_id": vault_id, "deleted": True}
    left = yaml.safe_load(run("routes", "get", "--vault", vault_id, *d).stdout)
    assert [r["id"] for r in left["data"]] == [kept_id]

    account = pwd.getpwuid(os.getuid()).pw_name
    rows = ok_json("vault", "audit", "--vault", vault_id, *d)
    route_rows = [
        (r["action"], r["actor"], r["source"]) for r in reversed(rows) if "route" in r["action"]
    ]
    assert route_rows[0] == ("admin.route.create", f"cli:{account}", "cli")
    assert route_rows[-1] == ("admin.route.delete", f"cli:{account}", "cli")
    assert len(route_rows) == 2 + 2 + 2 + 1


def test_apply_reads_stdin_and_an_empty_vault_prints_an_empty_document(
    tmp_path: Path, vault: tuple[str, list[str]]
) -> None:
    vault_id, d = vault
    assert yaml.safe_load(run("routes", "get", "--vault", vault_id, *d).stdout) == {
        "version": 1,
        "data": [],
    }
    text = _new_routes_file(tmp_path).read_text()
    result = run("routes", "apply", "-f", "-", "--vault", vault_id, *d, stdin=text)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["created"] == 2


def test_a_refused_document_writes_nothing_and_names_the_place(
    tmp_path: Path, vault: tuple[str, list[str]]
) -> None:
    vault_id, d = vault
    doc = yaml.safe_load(_new_routes_file(tmp_path).read_text())
    doc["data"][1]["attributes"]["entries"][0]["operations"] = [{"name": "larky", "parameters": {}}]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc))
    body = error("routes", "apply", "-f", str(bad), "--vault", vault_id, *d)
    assert body["error"] == "UNSUPPORTED_ROUTE_FEATURE"
    assert body["detail"].startswith("data[1].attributes.entries[0].operations: ")
    assert "docs/routes.md" in body["hint"]
    bad.write_text("data: [")
    body = error("routes", "apply", "-f", str(bad), "--vault", vault_id, *d)
    assert body["error"] == "INVALID_ROUTE"
    assert body["detail"].startswith("document: not valid YAML")
    # the hint's commands carry the data dir, so they work when copied
    assert f"vaultswitch routes get --vault ID --data-dir {shlex.quote(d[1])}" in body["hint"]
    bad.write_bytes(b"\xff\xfe")
    assert error("routes", "apply", "-f", str(bad), "--vault", vault_id, *d)["detail"] == (
        "document: not UTF-8 text"
    )
    assert yaml.safe_load(run("routes", "get", "--vault", vault_id, *d).stdout)["data"] == []


def test_wrong_vault_route_and_data_dir(tmp_path: Path, vault: tuple[str, list[str]]) -> None:
    vault_id, d = vault
    routes = str(_new_routes_file(tmp_path))
    body = error("routes", "apply", "-f", routes, "--vault", "tntzzzzzzzz", *d)
    assert body["error"] == "VAULT_NOT_FOUND"
    assert "vaultswitch vault list --data-dir" in body["hint"]
    body = error("routes", "delete", str(uuid.uuid4()), "--vault", vault_id, *d)
    assert body["error"] == "ROUTE_NOT_FOUND"
    assert f"vaultswitch routes get --vault ID --data-dir {shlex.quote(d[1])}" in body["hint"]
    assert error("routes", "delete", "nope", "--vault", vault_id, *d)["error"] == "INVALID_ROUTE"

    empty = tmp_path / "elsewhere"
    for args in (
        ("routes", "get", "--vault", vault_id),
        ("routes", "apply", "-f", routes, "--vault", vault_id),
        ("routes", "delete", str(uuid.uuid4()), "--vault", vault_id),
    ):
        body = error(*args, "--data-dir", str(empty))
        assert body["error"] == "NO_VAULT_DATA"
    assert not empty.exists()  # nothing was created
    missing = run("routes", "apply", "-f", str(tmp_path / "none.yaml"), "--vault", vault_id, *d)
    assert missing.exit_code == 2


def test_the_cli_and_the_management_api_share_the_routes(tmp_path: Path) -> None:
    settings = VaultSettings(data_dir=tmp_path / "data")
    service = VaultService.open(settings)
    server = LiveServer(create_app(settings, service)).start()
    vault_id = service.create_vault("shop").vault_id
    account, secret = service.create_service_account([vault_id])
    d = ["--data-dir", str(settings.data_dir)]
    try:
        ok_json("routes", "apply", "-f", str(_new_routes_file(tmp_path)), "--vault", vault_id, *d)
        token = httpx.post(
            server.url + TOKEN_PATH,
            data={
                "grant_type": "client_credentials",
                "client_id": account.client_id,
                "client_secret": secret.reveal(),
            },
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "VGS-Tenant": vault_id}
        listed = httpx.get(server.url + "/rule-chains", headers=headers).json()["data"]
        printed = yaml.safe_load(run("routes", "get", "--vault", vault_id, *d).stdout)["data"]
        assert listed == printed
        gone = printed[0]["id"]
        assert httpx.delete(f"{server.url}/rule-chains/{gone}", headers=headers).status_code == 204
        left = yaml.safe_load(run("routes", "get", "--vault", vault_id, *d).stdout)["data"]
        assert [r["id"] for r in left] == [printed[1]["id"]]
    finally:
        server.stop()
        service.close()
