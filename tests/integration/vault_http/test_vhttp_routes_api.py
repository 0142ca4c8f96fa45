"""VGS's vault-management API for routes (/rule-chains) on a live vault, SQLite and PostgreSQL:
VGS's own clients unchanged (vgs-api-client's VaultMgmtAPI with dump_all_routes /
sync_all_routes, vgs-cli's apply_route / delete_route, its route schema), scopes, tenants,
media types, errors naming the field, audit."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from simple_rest_client.exceptions import ClientError
from vgs.sdk.routes import dump_all_routes, sync_all_routes
from vgs.sdk.vault_mgmt import VaultMgmtAPI
from vgscli.operations.routes import apply_route, delete_route, load_route_document, retrieve_route
from vhttp_support import TOKEN_PATH, Vault, make_settings, start_vault

from vaultswitch.vault.core.service import VaultService

DATA = Path(__file__).resolve().parents[2] / "data" / "routes"
JSONAPI = "application/vnd.api+json"
LARKY = [
    {
        "name": "github.com/verygoodsecurity/common/compute/larky/http/Process",
        "parameters": {"script": "def process(input, ctx):\n    return input\n"},
    }
]


@pytest.fixture(params=["sqlite", "postgres"])
def mgmt_vault(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Vault]:
    overrides: dict[str, object] = {}
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


def _sdk(vault: Vault, token: str | None = None) -> VaultMgmtAPI:
    """As vgs-cli builds it: VaultMgmtAPI(token, vault_management_url) + VGS-Tenant."""
    api = VaultMgmtAPI(token or vault.token(), vault.url)
    api.headers["VGS-Tenant"] = vault.vault_id
    return api


def _http(vault: Vault, token: str | None = None, **headers: str) -> httpx.Client:
    base = {
        "Authorization": f"Bearer {token or vault.token()}",
        "VGS-Tenant": vault.vault_id,
        "Content-Type": JSONAPI,
        "Accept": JSONAPI,
    }
    base.update(headers)
    return httpx.Client(base_url=vault.url, headers=base)


def _new_route() -> dict[str, Any]:
    """The reference example as a new route: no ids."""
    route = yaml.safe_load((DATA / "reference-example.yaml").read_text())["data"][0]
    del route["id"]
    del route["attributes"]["id"]
    del route["attributes"]["entries"][0]["id"]
    return dict(route)


def _error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    (error,) = body["errors"]
    assert error["code"] == code, error
    assert error["status"] == status
    assert body["trace_id"]
    detail: str = error["detail"]
    return detail


def _token(vault: Vault, scopes: list[str]) -> str:
    account, secret = vault.service.create_service_account([vault.vault_id], scopes)
    return vault.token(account.client_id, secret.reveal())


def test_vgs_clients_round_trip_routes(mgmt_vault: Vault) -> None:
    api = _sdk(mgmt_vault)
    created = apply_route(api, _new_route())
    assert created.action == "created"
    route_id = created.record["id"]
    assert uuid.UUID(route_id)
    entry_id = created.record["attributes"]["entries"][0]["id"]
    assert uuid.UUID(entry_id)  # entries without an id get one

    # vgs get routes: the SDK's dump, valid for vgs-cli's own route schema
    dump = dump_all_routes(api)
    document = load_route_document(dump)
    (listed,) = document["data"]
    assert listed["id"] == listed["attributes"]["id"] == route_id
    assert listed["attributes"]["created_at"]
    assert listed["attributes"]["updated_at"]
    assert listed["attributes"]["entries"][0]["transformer_config"] == ["$.account_number"]

    # vgs apply routes with the dump: every route updated in place, nothing else changes
    synced = yaml.safe_load(sync_all_routes(api, dump))
    assert [r["id"] for r in synced["data"]] == [route_id]
    again = load_route_document(dump_all_routes(api))

    def stable(doc: dict[str, Any]) -> dict[str, Any]:
        doc = copy.deepcopy(doc)
        for item in doc["data"]:
            item["attributes"].pop("updated_at")
        return doc

    assert stable(again) == stable(document)

    # an update through vgs-cli keeps the ids and changes what it says
    changed = copy.deepcopy(listed)
    changed["attributes"]["tags"]["name"] = "renamed"
    updated = apply_route(api, changed)
    assert updated.action == "updated"
    assert updated.record["id"] == route_id
    assert updated.record["attributes"]["tags"]["name"] == "renamed"
    assert updated.record["attributes"]["entries"][0]["id"] == entry_id
    assert updated.record["attributes"]["created_at"] == listed["attributes"]["created_at"]

    # sync_all_routes PUTs every route by id: an id the vault does not know is created
    new_id = str(uuid.uuid4())
    other = copy.deepcopy(changed)
    other["id"] = other["attributes"]["id"] = new_id
    del other["attributes"]["entries"][0]["id"]
    sync_all_routes(api, yaml.safe_dump({"version": 1, "data": [other]}))
    assert [r["id"] for r in api.routes.list().body["data"]] == [route_id, new_id]
    assert retrieve_route(api, new_id)["attributes"]["tags"]["name"] == "renamed"  # type: ignore[index]

    # vgs delete routes
    delete_route(api, route_id, use_destroy=True)
    assert retrieve_route(api, route_id) is None
    assert [r["id"] for r in api.routes.list().body["data"]] == [new_id]

    # the listing is what vgs-cli's schema accepts as a route document
    body = api.routes.list().body
    load_route_document(yaml.safe_dump({"version": 1, "data": body["data"]}))


def test_sync_all_routes_reports_the_vaults_error_naming_the_field(mgmt_vault: Vault) -> None:
    from vgs.sdk.errors import RouteNotValidError

    route = _new_route()
    route["id"] = str(uuid.uuid4())
    route["attributes"]["entries"][0]["operations"] = LARKY
    with pytest.raises(RouteNotValidError) as caught:
        sync_all_routes(_sdk(mgmt_vault), yaml.safe_dump({"version": 1, "data": [route]}))
    assert "data.attributes.entries[0].operations" in str(caught.value)
    assert _sdk(mgmt_vault).routes.list().body["data"] == []


def test_the_json_api_shapes_and_statuses(mgmt_vault: Vault) -> None:
    with _http(mgmt_vault) as http:
        empty = http.get("/rule-chains")
        assert empty.status_code == 200
        assert empty.headers["content-type"] == JSONAPI
        assert empty.json() == {"data": []}

        created = http.post("/rule-chains", json={"data": _new_route()})
        assert created.status_code == 201, created.text
        resource = created.json()["data"]
        assert resource["type"] == "rule_chain"
        route_id = resource["id"]
        assert resource["attributes"]["id"] == route_id
        assert http.get(f"/rule-chains/{route_id}").json() == {"data": resource}
        assert http.get(f"/rule-chains/{route_id.upper()}").json() == {"data": resource}

        put_new = http.put(f"/rule-chains/{uuid.uuid4()}", json={"data": _new_route()})
        assert put_new.status_code == 201, put_new.text
        put_again = http.put(
            f"/rule-chains/{route_id}", json={"data": {"type": "rule_chain", **_new_route()}}
        )
        assert put_again.status_code == 200, put_again.text
        # the entry had no id in this PUT: it gets a new one
        assert (
            put_again.json()["data"]["attributes"]["entries"][0]["id"]
            != (resource["attributes"]["entries"][0]["id"])
        )
        # application/json is accepted too
        plain = http.post(
            "/rule-chains",
            json={"data": _new_route()},
            headers={"Content-Type": "application/json"},
        )
        assert plain.status_code == 201, plain.text

        deleted = http.delete(f"/rule-chains/{route_id}")
        assert deleted.status_code == 204
        assert deleted.content == b""
        _error(http.get(f"/rule-chains/{route_id}"), 404, "ROUTE_NOT_FOUND")
        _error(http.delete(f"/rule-chains/{route_id}"), 404, "ROUTE_NOT_FOUND")
        assert len(http.get("/rule-chains").json()["data"]) == 2
        _error(http.patch("/rule-chains"), 405, "METHOD_NOT_ALLOWED")


def test_errors_name_the_field(mgmt_vault: Vault) -> None:
    with _http(mgmt_vault) as http:
        larky = _new_route()
        larky["attributes"]["entries"][0]["operations"] = LARKY
        detail = _error(
            http.post("/rule-chains", json={"data": larky}), 400, "UNSUPPORTED_ROUTE_FEATURE"
        )
        assert detail.startswith("data.attributes.entries[0].operations: ")

        xpath = _new_route()
        xpath["attributes"]["entries"].append(copy.deepcopy(xpath["attributes"]["entries"][0]))
        xpath["attributes"]["entries"][1]["transformer"] = "XPATH"
        detail = _error(
            http.post("/rule-chains", json={"data": xpath}), 400, "UNSUPPORTED_ROUTE_FEATURE"
        )
        assert detail.startswith("data.attributes.entries[1].transformer: ")

        condition = _new_route()
        condition["attributes"]["entries"][0]["config"]["rules"][0]["expression"]["field"] = (
            "Method"
        )
        detail = _error(
            http.post("/rule-chains", json={"data": condition}), 400, "UNSUPPORTED_ROUTE_FEATURE"
        )
        assert detail.startswith("data.attributes.entries[0].config.rules[0].expression.field: ")

        with_id = _new_route()
        with_id["id"] = str(uuid.uuid4())
        detail = _error(http.post("/rule-chains", json={"data": with_id}), 400, "INVALID_ROUTE")
        assert detail.startswith("data.id: ")
        assert "PUT" in detail

        other = str(uuid.uuid4())
        detail = _error(
            http.put(f"/rule-chains/{uuid.uuid4()}", json={"data": {**_new_route(), "id": other}}),
            400,
            "INVALID_ROUTE",
        )
        assert detail.startswith("data.id: ")
        _error(
            http.put("/rule-chains/not-a-uuid", json={"data": _new_route()}), 400, "INVALID_ROUTE"
        )
        _error(http.get("/rule-chains/not-a-uuid"), 400, "INVALID_ROUTE")
        detail = _error(http.post("/rule-chains", json={"route": {}}), 400, "UNKNOWN_FIELD")
        assert detail.startswith("route: ")
        _error(http.post("/rule-chains", json=[]), 400, "INVALID_ROUTE")
        _error(http.post("/rule-chains", json={}), 400, "INVALID_ROUTE")
        _error(http.post("/rule-chains", content=b"{"), 400, "MALFORMED_JSON")
        _error(
            http.post("/rule-chains", content=b"{}", headers={"Content-Type": "text/plain"}),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        )
        _error(
            http.post("/rule-chains", content=b"x" * 1_100_000),
            413,
            "PAYLOAD_TOO_LARGE",
        )
        assert http.get("/rule-chains").json() == {"data": []}


def test_scopes(mgmt_vault: Vault) -> None:
    aliases_only = _token(mgmt_vault, ["aliases:read", "aliases:write", "aliases:delete"])
    read_only = _token(mgmt_vault, ["routes:read"])
    with _http(mgmt_vault) as http:
        route_id = http.post("/rule-chains", json={"data": _new_route()}).json()["data"]["id"]
    with _http(mgmt_vault, aliases_only) as http:
        assert "routes:read" in _error(http.get("/rule-chains"), 403, "INSUFFICIENT_SCOPE")
        _error(http.post("/rule-chains", json={"data": _new_route()}), 403, "INSUFFICIENT_SCOPE")
    with _http(mgmt_vault, read_only) as http:
        assert len(http.get("/rule-chains").json()["data"]) == 1
        assert http.get(f"/rule-chains/{route_id}").status_code == 200
        for response in (
            http.post("/rule-chains", json={"data": _new_route()}),
            http.put(f"/rule-chains/{route_id}", json={"data": _new_route()}),
            http.delete(f"/rule-chains/{route_id}"),
        ):
            assert "routes:write" in _error(response, 403, "INSUFFICIENT_SCOPE")
    # a token asked for with fewer scopes holds only those
    response = httpx.post(
        mgmt_vault.url + TOKEN_PATH,
        data={
            "grant_type": "client_credentials",
            "client_id": mgmt_vault.client_id,
            "client_secret": mgmt_vault.client_secret,
            "scope": "routes:read",
        },
    )
    with _http(mgmt_vault, response.json()["access_token"]) as http:
        assert http.get("/rule-chains").status_code == 200
        _error(http.delete(f"/rule-chains/{route_id}"), 403, "INSUFFICIENT_SCOPE")


def test_tenants_and_credentials(mgmt_vault: Vault) -> None:
    token = mgmt_vault.token()
    bearer = {"Authorization": f"Bearer {token}"}
    url = mgmt_vault.url
    vid = mgmt_vault.vault_id
    # the tenant from the header, a path prefix or a tntxxxxxxxx. host; both: they must agree
    assert httpx.get(f"{url}/rule-chains", headers={**bearer, "VGS-Tenant": vid}).status_code == 200
    assert httpx.get(f"{url}/{vid}/rule-chains", headers=bearer).status_code == 200
    host = {**bearer, "Host": f"{vid}.vault.test"}
    assert httpx.get(f"{url}/rule-chains", headers=host).status_code == 200
    assert (
        httpx.get(f"{url}/{vid}/rule-chains", headers={**bearer, "VGS-Tenant": vid}).status_code
        == 200
    )
    other = mgmt_vault.service.create_vault("other").vault_id
    _error(
        httpx.get(f"{url}/{vid}/rule-chains", headers={**bearer, "VGS-Tenant": other}),
        400,
        "INVALID_REQUEST",
    )
    detail = _error(httpx.get(f"{url}/rule-chains", headers=bearer), 400, "TENANT_REQUIRED")
    assert "VGS-Tenant" in detail
    _error(
        httpx.get(f"{url}/rule-chains", headers={**bearer, "VGS-Tenant": "nope"}),
        400,
        "INVALID_VAULT_ID",
    )
    # a vault the token is not for; a vault that does not exist
    _error(
        httpx.get(f"{url}/rule-chains", headers={**bearer, "VGS-Tenant": other}),
        401,
        "UNAUTHORIZED",
    )
    _error(
        httpx.get(f"{url}/rule-chains", headers={**bearer, "VGS-Tenant": "tntzzzzzzzz"}),
        404,
        "VAULT_NOT_FOUND",
    )
    # no token, a bad token, v1 access credentials (Basic): the management API takes Bearer
    _error(httpx.get(f"{url}/rule-chains", headers={"VGS-Tenant": vid}), 401, "UNAUTHORIZED")
    _error(
        httpx.get(f"{url}/rule-chains", headers={"VGS-Tenant": vid, "Authorization": "Bearer x"}),
        401,
        "UNAUTHORIZED",
    )
    basic = httpx.get(
        f"{url}/rule-chains",
        headers={"VGS-Tenant": vid},
        auth=(mgmt_vault.username, mgmt_vault.password),
    )
    assert "Bearer" in _error(basic, 401, "UNAUTHORIZED")
    # routes are per vault
    with _http(mgmt_vault) as http:
        http.post("/rule-chains", json={"data": _new_route()})
    account, secret = mgmt_vault.service.create_service_account([other])
    other_token = mgmt_vault.token(account.client_id, secret.reveal())
    listed = httpx.get(
        f"{url}/rule-chains",
        headers={"Authorization": f"Bearer {other_token}", "VGS-Tenant": other},
    )
    assert listed.json() == {"data": []}


def test_changes_are_audited_under_the_client_id(mgmt_vault: Vault) -> None:
    with _http(mgmt_vault) as http:
        route_id = http.post("/rule-chains", json={"data": _new_route()}).json()["data"]["id"]
        http.put(f"/rule-chains/{route_id}", json={"data": _new_route()})
        http.delete(f"/rule-chains/{route_id}")
        http.get("/rule-chains")
    events = [
        (e.action, e.detail, e.actor, e.source)
        for e in reversed(mgmt_vault.service.list_audit(vault_id=mgmt_vault.vault_id))
        if e.action.startswith("admin.route.")
    ]
    client = mgmt_vault.client_id
    assert events == [
        ("admin.route.create", route_id, client, "127.0.0.1"),
        ("admin.route.update", route_id, client, "127.0.0.1"),
        ("admin.route.delete", route_id, client, "127.0.0.1"),
    ]


def test_the_sdk_raises_its_client_error_for_a_missing_route(mgmt_vault: Vault) -> None:
    with pytest.raises(ClientError) as caught:
        _sdk(mgmt_vault).routes.retrieve(str(uuid.uuid4()))
    assert caught.value.response.status_code == 404
    assert caught.value.response.body["errors"][0]["code"] == "ROUTE_NOT_FOUND"
