"""The vault's admin HTTP API (/admin/...) on a live server: bearer-token auth, the admin
CLI's operations (vaults, reveal, service accounts, audit) with their audit rows, errors in
the VGS shape, secrets shown once and never listed, aliases only as log references."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from vhttp_support import TOKEN_PATH, Vault, make_settings, start_vault

from vaultswitch.vault.core.models import SCOPES
from vaultswitch.vault.core.service import VaultService

ADMIN_TOKEN = "vat_" + secrets.token_urlsafe(24)


@pytest.fixture(params=["sqlite", "postgres"])
def admin_vault(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Vault]:
    overrides: dict[str, object] = {"admin_token": ADMIN_TOKEN}
    if request.param == "postgres":
        overrides["database_url"] = request.getfixturevalue("postgres_url")
    settings = make_settings(tmp_path, **overrides)
    service = VaultService.open(settings)
    server, vault = start_vault(settings, service)
    try:
        yield vault
    finally:
        server.stop()
        service.close()


def _admin(vault: Vault, token: str = ADMIN_TOKEN) -> httpx.Client:
    return httpx.Client(
        base_url=vault.url + "/admin",
        headers={"Authorization": f"Bearer {token}", "X-Admin-Actor": "tests"},
    )


def _vgs_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["errors"][0]
    assert error["code"] == code, error
    detail: str = error["detail"]
    return detail


def test_requests_without_the_admin_token_are_refused(admin_vault: Vault) -> None:
    url = admin_vault.url + "/admin/vaults"
    _vgs_error(httpx.get(url), 401, "UNAUTHORIZED")
    detail = _vgs_error(
        httpx.get(url, headers={"Authorization": "Bearer wrong"}), 401, "UNAUTHORIZED"
    )
    assert "vault_admin_token" in detail
    # a vault access token is not an admin token
    token = admin_vault.token()
    _vgs_error(httpx.get(url, headers={"Authorization": f"Bearer {token}"}), 401, "UNAUTHORIZED")
    with _admin(admin_vault) as admin:
        assert admin.get("/vaults").status_code == 200
        _vgs_error(admin.delete("/vaults"), 405, "METHOD_NOT_ALLOWED")


def test_the_admin_api_is_off_without_a_token(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    service = VaultService.open(settings)
    server, vault = start_vault(settings, service)
    try:
        response = httpx.get(vault.url + "/admin/vaults", headers={"Authorization": "Bearer x"})
        detail = _vgs_error(response, 403, "FORBIDDEN")
        assert "VAULTSWITCH_ADMIN_TOKEN" in detail
    finally:
        server.stop()
        service.close()


def test_vaults_and_reveal(admin_vault: Vault) -> None:
    with _admin(admin_vault) as admin:
        listed = admin.get("/vaults").json()["data"]
        assert [v["vault_id"] for v in listed] == [admin_vault.vault_id]
        created = admin.post("/vaults", json={"name": "second", "reveal_enabled": False})
        assert created.status_code == 201, created.text
        second = created.json()
        assert second["name"] == "second"
        assert second["reveal_enabled"] is False
        assert len(admin.get("/vaults").json()["data"]) == 2

        off = admin.put(f"/vaults/{admin_vault.vault_id}/reveal", json={"enabled": False})
        assert off.status_code == 200, off.text
        assert off.json()["reveal_enabled"] is False
        # the running vault refuses reveals at once
        with admin_vault.v2() as v2:
            alias = v2.post(
                "/aliases", json={"data": [{"value": "secret-1", "format": "UUID"}]}
            ).json()["data"][0]["aliases"][0]["alias"]
            _vgs_error(v2.get(f"/aliases/{alias}"), 403, "REVEAL_DISABLED")
            on = admin.put(f"/vaults/{admin_vault.vault_id}/reveal", json={"enabled": True})
            assert on.json()["reveal_enabled"] is True
            assert v2.get(f"/aliases/{alias}").status_code == 200

        _vgs_error(
            admin.put("/vaults/tntzzzzzzzz/reveal", json={"enabled": True}), 404, "VAULT_NOT_FOUND"
        )
        _vgs_error(
            admin.put("/vaults/nope/reveal", json={"enabled": True}), 400, "INVALID_VAULT_ID"
        )
        _vgs_error(
            admin.put(f"/vaults/{admin_vault.vault_id}/reveal", json={"enabled": "yes"}),
            400,
            "INVALID_REQUEST",
        )
        _vgs_error(
            admin.put(f"/vaults/{admin_vault.vault_id}/reveal", json={"enabled": 1, "x": 1}),
            400,
            "UNKNOWN_FIELD",
        )
        _vgs_error(
            admin.put(f"/vaults/{admin_vault.vault_id}/reveal", content=b"{"),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        )


def test_service_accounts_secret_once_then_disable_and_enable(admin_vault: Vault) -> None:
    with _admin(admin_vault) as admin:
        created = admin.post(
            "/service-accounts",
            json={"vaults": [admin_vault.vault_id], "name": "dashboard test"},
        )
        assert created.status_code == 201, created.text
        account = created.json()
        secret = account["client_secret"]
        assert account["scopes"] == list(SCOPES)  # every scope unless told otherwise
        client_id = account["client_id"]

        # the new account works at once
        token = httpx.post(
            admin_vault.url + TOKEN_PATH,
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
            },
        )
        assert token.status_code == 200, token.text

        listed = admin.get("/service-accounts", params={"vault": admin_vault.vault_id})
        assert secret not in listed.text
        assert "secret" not in listed.text
        assert {a["client_id"] for a in listed.json()["data"]} == {
            admin_vault.client_id,
            client_id,
        }

        disabled = admin.post(f"/service-accounts/{client_id}/disable")
        assert disabled.status_code == 200, disabled.text
        assert disabled.json()["disabled"] is True
        refused = httpx.post(
            admin_vault.url + TOKEN_PATH,
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
            },
        )
        assert refused.status_code == 401
        assert admin.post(f"/service-accounts/{client_id}/enable").json()["disabled"] is False

        _vgs_error(
            admin.post(
                "/service-accounts",
                json={"vaults": [admin_vault.vault_id], "scopes": ["aliases:everything"]},
            ),
            400,
            "INVALID_SCOPE",
        )
        _vgs_error(admin.post("/service-accounts", json={}), 400, "INVALID_REQUEST")
        _vgs_error(
            admin.post("/service-accounts", json={"vaults": ["tntzzzzzzzz"]}),
            404,
            "VAULT_NOT_FOUND",
        )
        _vgs_error(admin.post("/service-accounts/nope/disable"), 400, "INVALID_REQUEST")


def test_audit_names_actions_actor_and_aliases_only_by_reference(admin_vault: Vault) -> None:
    with admin_vault.v2() as v2:
        alias = v2.post(
            "/aliases", json={"data": [{"value": "4111111111111111", "format": "FPE_SIX_T_FOUR"}]}
        ).json()["data"][0]["aliases"][0]["alias"]
        assert v2.get(f"/aliases/{alias}").status_code == 200
    with _admin(admin_vault) as admin:
        admin.put(f"/vaults/{admin_vault.vault_id}/reveal", json={"enabled": False})
        response = admin.get("/audit", params={"limit": 50})
        assert response.status_code == 200, response.text
        events = response.json()["data"]
        assert events[0]["action"] == "admin.vault.reveal_disable"
        assert events[0]["actor"] == "admin-api:tests"
        assert events[0]["vault_id"] == admin_vault.vault_id
        assert alias not in response.text
        assert "4111111111111111" not in response.text
        refs = {e["alias_ref"] for e in events if e["alias_ref"]}
        assert refs
        assert all(ref.startswith("alias:") for ref in refs)

        only = admin.get("/audit", params={"action": "admin.vault.reveal_disable"}).json()["data"]
        assert [e["action"] for e in only] == ["admin.vault.reveal_disable"]
        assert len(admin.get("/audit", params={"limit": 1}).json()["data"]) == 1
        for bad in ("0", "1001", "x"):
            _vgs_error(admin.get("/audit", params={"limit": bad}), 400, "INVALID_REQUEST")


ROUTE_YAML = """version: 1
data:
- attributes:
    protocol: http
    source_endpoint: '*'
    destination_override_endpoint: 'https://example.test'
    host_endpoint: (.*)\\.example\\.test
    port: 80
    tags: {name: admin-api-route}
    entries:
    - phase: REQUEST
      operation: REDACT
      token_manager: PERSISTENT
      public_token_generator: UUID
      transformer: JSON_PATH
      transformer_config: ['$.card_number']
      targets: [body]
      config:
        condition: AND
        rules:
        - expression: {field: PathInfo, type: string, operator: matches, values: [/post]}
"""


def test_routes_as_yaml_upload_all_or_none_and_errors_name_the_place(admin_vault: Vault) -> None:
    vault_id = admin_vault.vault_id
    with _admin(admin_vault) as admin:
        empty = admin.get(f"/vaults/{vault_id}/routes")
        assert empty.status_code == 200, empty.text
        assert empty.json()["count"] == 0

        done = admin.put(f"/vaults/{vault_id}/routes", json={"yaml": ROUTE_YAML})
        assert done.status_code == 200, done.text
        assert done.json()["created"] == 1
        route_id = done.json()["routes"][0]["id"]
        listed = admin.get(f"/vaults/{vault_id}/routes").json()
        assert listed["count"] == 1
        assert route_id in listed["yaml"]
        assert "admin-api-route" in listed["yaml"]

        # what GET answers goes back unchanged: an update, not a second route
        again = admin.put(f"/vaults/{vault_id}/routes", json={"yaml": listed["yaml"]})
        assert again.status_code == 200, again.text
        assert (again.json()["created"], again.json()["updated"]) == (0, 1)

        bad = ROUTE_YAML.replace("transformer: JSON_PATH", "transformer: NO_SUCH_THING")
        detail = _vgs_error(
            admin.put(f"/vaults/{vault_id}/routes", json={"yaml": bad}), 400, "INVALID_ROUTE"
        )
        assert detail.startswith("data[0].attributes.entries[0].transformer")
        detail = _vgs_error(
            admin.put(f"/vaults/{vault_id}/routes", json={"yaml": "version: 1\ndata: [:"}),
            400,
            "INVALID_ROUTE",
        )
        assert "line" in detail
        assert admin.get(f"/vaults/{vault_id}/routes").json()["count"] == 1  # none applied
        _vgs_error(admin.put(f"/vaults/{vault_id}/routes", json={}), 400, "INVALID_REQUEST")
        _vgs_error(admin.get("/vaults/tntzzzzzzzz/routes"), 404, "VAULT_NOT_FOUND")
        audit = admin.get("/audit", params={"action": "admin.route.create"}).json()["data"]
        assert audit[0]["actor"] == "admin-api:tests"
