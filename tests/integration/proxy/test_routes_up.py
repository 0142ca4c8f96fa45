"""`vaultswitch up`: up.json names the vault-management URL, and the service account `up`
prints holds the routes scopes, so VGS's own route clients work with what up.json says; the
routes they write are the ones `vaultswitch routes get` prints for the same data dir."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest
import yaml
from typer.testing import CliRunner
from vgs.sdk.routes import dump_all_routes
from vgs.sdk.vault_mgmt import VaultMgmtAPI
from vgscli.operations.routes import apply_route, load_route_document

from up_support import Up
from vaultswitch.cli import app

TOKEN_PATH = "/auth/realms/vgs/protocol/openid-connect/token"
DATA = Path(__file__).resolve().parents[2] / "data" / "routes"
pytestmark = pytest.mark.slow


def test_vgs_route_clients_work_with_what_up_json_says(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    started = time.time() - 1
    up = Up(data_dir)
    try:
        info = up.wait_up(started)
        assert info["vault_management_url"] == info["vault_url"]
        token = httpx.post(
            f"{info['vault_url']}{TOKEN_PATH}",
            data={
                "grant_type": "client_credentials",
                "client_id": info["client_id"],
                "client_secret": info["client_secret"],
            },
        ).json()
        assert {"routes:read", "routes:write"} <= set(token["scope"].split())

        api = VaultMgmtAPI(token["access_token"], str(info["vault_management_url"]))
        api.headers["VGS-Tenant"] = str(info["vault_id"])
        route = yaml.safe_load((DATA / "vgs-exported.yaml").read_text())["data"][0]
        route["id"] = route["attributes"]["id"] = str(uuid.uuid4())
        assert apply_route(api, route).action == "updated"  # PUT by id: created with it
        listed = load_route_document(dump_all_routes(api))["data"]
        assert [r["id"] for r in listed] == [route["id"]]

        printed = CliRunner().invoke(
            app, ["routes", "get", "--vault", str(info["vault_id"]), "--data-dir", str(data_dir)]
        )
        assert printed.exit_code == 0, printed.stderr
        assert yaml.safe_load(printed.stdout)["data"] == listed
    finally:
        up.stop()
