"""`vaultswitch up` serves the control center: up.json has dashboard_url and the vault's
admin token, the banner prints the URL, the merchant's key signs in and sees the activated
VGS account, the admin key sees the local vault through the vault's admin API."""

from __future__ import annotations

import re
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from up_support import Up

pytestmark = pytest.mark.slow


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def _signed_in(dashboard_url: str, key: str) -> httpx.Client:
    http = httpx.Client(base_url=dashboard_url, timeout=30, trust_env=False)
    page = http.get("sign-in")
    assert page.status_code == 200, page.text
    done = http.post("sign-in", data={"csrf_token": _csrf(page.text), "api_key": key, "next": ""})
    assert done.status_code == 303, done.text
    return http


def test_up_serves_the_control_center(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    started = time.time() - 1
    up = Up(data_dir)
    try:
        info = up.wait_up(started)
        dashboard_url = str(info["dashboard_url"])
        assert dashboard_url == f"{info['orchestrator_url']}/dashboard/"
        assert dashboard_url in up.log.read_text()  # printed

        signed_out = httpx.get(dashboard_url, trust_env=False)
        assert signed_out.status_code == 303
        assert signed_out.headers["location"] == "/dashboard/sign-in"

        with closing(_signed_in(dashboard_url, str(info["api_key"]))) as merchant:
            connectors = merchant.get("connectors")
            assert connectors.status_code == 200
            assert "local_vault" in connectors.text
            assert "Active" in connectors.text
            assert ">Local vault<" in connectors.text  # our own vault is in use
            assert merchant.get("local-vault").status_code == 403  # the admin key's page

        admin_api = httpx.get(
            f"{info['vault_url']}/admin/vaults",
            headers={"Authorization": f"Bearer {info['vault_admin_token']}"},
            trust_env=False,
        )
        assert admin_api.status_code == 200, admin_api.text
        assert info["vault_id"] in {v["vault_id"] for v in admin_api.json()["data"]}

        with closing(_signed_in(dashboard_url, str(info["admin_api_key"]))) as admin:
            local = admin.get("local-vault")
            assert local.status_code == 200, local.text
            assert str(info["vault_id"]) in local.text
            assert str(info["client_id"]) in local.text
            assert str(info["client_secret"]) not in local.text
    finally:
        output = up.stop()
    assert str(info["vault_admin_token"]) not in output  # kept in up.json only
