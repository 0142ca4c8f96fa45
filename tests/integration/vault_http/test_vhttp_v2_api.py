"""Vault API v2 over real HTTP: every endpoint, tenant routing, scopes, storage, errors."""

from __future__ import annotations

import httpx
import jwt
import pytest
from vhttp_support import Vault

CARD = "4111111111111111"


def _create(client: httpx.Client, *items: dict[str, object]) -> httpx.Response:
    return client.post("/aliases", json={"data": list(items)})


def _assert_vgs_error(r: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"errors", "trace_id"}
    err = body["errors"][0]
    assert set(err) == {"status", "title", "code", "detail", "href"}
    assert err["status"] == status
    assert err["code"] == code
    assert body["trace_id"] == r.headers["vgs-request-id"]
    assert CARD not in r.text
    return err  # type: ignore[no-any-return]


@pytest.mark.parametrize("by", ["path", "host"])
def test_full_alias_lifecycle(vault: Vault, by: str) -> None:
    with vault.v2(by=by) as c:
        r = _create(
            c,
            {"value": CARD, "format": "FPE_SIX_T_FOUR", "classifiers": ["pan"]},
            {"value": "123", "format": "UUID", "storage": "VOLATILE"},
        )
        assert r.status_code == 201, r.text
        assert r.headers["x-ratelimit-remaining"] == str(vault.settings.rate_limit_per_minute - 1)
        data = r.json()["data"]
        assert len(data) == 2
        assert data[0]["value"] == CARD
        assert data[0]["classifiers"] == ["pan"]
        assert data[0]["storage"] == "PERSISTENT"
        assert data[0]["created_at"].endswith("Z")
        alias = data[0]["aliases"][0]["alias"]
        assert data[0]["aliases"][0]["format"] == "FPE_SIX_T_FOUR"
        assert alias[:6] == CARD[:6]
        assert alias[-4:] == CARD[-4:]
        assert len(alias) == 16
        volatile = data[1]["aliases"][0]["alias"]
        assert volatile.startswith("tok_sandbox_")
        assert data[1]["storage"] == "VOLATILE"

        # reference form adds a second alias (another format) to the same record
        r = _create(c, {"alias": alias, "format": "UUID"})
        assert r.status_code == 201, r.text
        formats = {a["format"]: a["alias"] for a in r.json()["data"][0]["aliases"]}
        assert set(formats) == {"FPE_SIX_T_FOUR", "UUID"}
        uuid_alias = formats["UUID"]

        r = c.get(f"/aliases/{alias}")
        assert r.status_code == 200
        assert r.json()["data"][0]["value"] == CARD
        assert len(r.json()["data"]) == 1

        r = c.get("/aliases", params={"aliases": f"{alias},{uuid_alias}"})
        assert r.status_code == 200
        assert set(r.json()["data"]) == {alias, uuid_alias}
        assert r.json()["data"][uuid_alias]["value"] == CARD
        r = c.get("/aliases", params={"q": alias})  # legacy parameter
        assert r.status_code == 200

        # storage must match: the VOLATILE alias is not found as PERSISTENT
        _assert_vgs_error(c.get(f"/aliases/{volatile}"), 404, "ALIAS_NOT_FOUND")
        r = c.get(f"/aliases/{volatile}", params={"storage": "VOLATILE"})
        assert r.status_code == 200
        assert r.json()["data"][0]["value"] == "123"

        r = c.put(f"/aliases/{alias}", json={"data": {"classifiers": ["secure"]}})
        assert r.status_code == 204
        assert r.content == b""
        assert c.get(f"/aliases/{alias}").json()["data"][0]["classifiers"] == ["secure"]

        r = c.delete(f"/aliases/{alias}")
        assert r.status_code == 204
        _assert_vgs_error(c.get(f"/aliases/{alias}"), 404, "ALIAS_NOT_FOUND")
        assert c.get(f"/aliases/{uuid_alias}").json()["data"][0]["value"] == CARD  # value kept
        _assert_vgs_error(c.delete(f"/aliases/{alias}"), 404, "ALIAS_NOT_FOUND")

        r = c.post("/aliases/delete", json={"data": [uuid_alias]})
        assert r.status_code == 204
        _assert_vgs_error(c.get(f"/aliases/{uuid_alias}"), 404, "ALIAS_NOT_FOUND")
        r = c.post("/aliases/delete", json={"data": [volatile], "storage": "VOLATILE"})
        assert r.status_code == 204


def test_fingerprinting_returns_the_same_alias(vault: Vault) -> None:
    with vault.v2() as c:
        a = _create(c, {"value": CARD, "format": "UUID"}).json()["data"][0]["aliases"][0]["alias"]
        b = _create(c, {"value": CARD, "format": "UUID"}).json()["data"][0]["aliases"][0]["alias"]
    assert a == b


def test_batch_delete_is_all_or_nothing(vault: Vault) -> None:
    with vault.v2() as c:
        alias = _create(c, {"value": "v1", "format": "UUID"}).json()["data"][0]["aliases"][0][
            "alias"
        ]
        r = c.post("/aliases/delete", json={"data": [alias, "tok_sandbox_missing"]})
        _assert_vgs_error(r, 404, "ALIAS_NOT_FOUND")
        assert c.get(f"/aliases/{alias}").status_code == 200


def test_reveal_many_with_a_missing_alias_is_404(vault: Vault) -> None:
    with vault.v2() as c:
        alias = _create(c, {"value": "v1", "format": "UUID"}).json()["data"][0]["aliases"][0][
            "alias"
        ]
        err = _assert_vgs_error(
            c.get("/aliases", params={"aliases": f"{alias},tok_sandbox_nope"}),
            404,
            "ALIAS_NOT_FOUND",
        )
        assert "tok_sandbox_nope" in str(err["detail"])


def test_scopes_are_enforced(vault: Vault) -> None:
    account, secret = vault.service.create_service_account([vault.vault_id], ["aliases:write"])
    token = vault.token(account.client_id, secret.reveal())
    with vault.v2(token) as c:
        r = _create(c, {"value": "x1", "format": "UUID"})
        assert r.status_code == 201
        alias = r.json()["data"][0]["aliases"][0]["alias"]
        _assert_vgs_error(c.get(f"/aliases/{alias}"), 403, "INSUFFICIENT_SCOPE")
        _assert_vgs_error(c.get("/aliases", params={"aliases": alias}), 403, "INSUFFICIENT_SCOPE")
        _assert_vgs_error(c.delete(f"/aliases/{alias}"), 403, "INSUFFICIENT_SCOPE")
        _assert_vgs_error(
            c.post("/aliases/delete", json={"data": [alias]}), 403, "INSUFFICIENT_SCOPE"
        )
        assert c.put(f"/aliases/{alias}", json={"data": {"classifiers": []}}).status_code == 204
    account, secret = vault.service.create_service_account([vault.vault_id], ["aliases:read"])
    with vault.v2(vault.token(account.client_id, secret.reveal())) as c:
        _assert_vgs_error(_create(c, {"value": "x1", "format": "UUID"}), 403, "INSUFFICIENT_SCOPE")
        assert c.get(f"/aliases/{alias}").status_code == 200


def test_reveal_disabled_is_403(vault: Vault) -> None:
    info = vault.new_vault(name="closed", reveal_enabled=False)
    account, secret = vault.service.create_service_account([info.vault_id])
    token = vault.token(account.client_id, secret.reveal())
    with httpx.Client(
        base_url=f"{vault.url}/{info.vault_id}", headers={"Authorization": f"Bearer {token}"}
    ) as c:
        alias = _create(c, {"value": "x", "format": "UUID"}).json()["data"][0]["aliases"][0][
            "alias"
        ]
        _assert_vgs_error(c.get(f"/aliases/{alias}"), 403, "REVEAL_DISABLED")


def test_token_for_another_vault_is_401_and_unknown_vault_404(vault: Vault) -> None:
    other = vault.new_vault(name="other")
    token = vault.token()
    with httpx.Client(
        base_url=f"{vault.url}/{other.vault_id}", headers={"Authorization": f"Bearer {token}"}
    ) as c:
        _assert_vgs_error(c.get("/aliases/tok_sandbox_x"), 401, "UNAUTHORIZED")
    with httpx.Client(
        base_url=f"{vault.url}/tntzzzzzzzz", headers={"Authorization": f"Bearer {token}"}
    ) as c:
        err = _assert_vgs_error(c.get("/aliases/tok_sandbox_x"), 404, "VAULT_NOT_FOUND")
        assert err["detail"] == "vault not found"
    r = httpx.get(f"{vault.url}/tntzzzzzzzz/aliases/tok_x")
    _assert_vgs_error(r, 404, "VAULT_NOT_FOUND")
    # a bearer token with no vault in host or path
    r = httpx.get(f"{vault.url}/aliases/tok_x", headers={"Authorization": f"Bearer {token}"})
    _assert_vgs_error(r, 404, "VAULT_NOT_FOUND")


def test_bad_tokens_are_401(vault: Vault) -> None:
    token = vault.token()
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode({**claims, "scope": "aliases:read"}, "k" * 32, algorithm="HS256")
    for bad in ("garbage", forged, token[:-4] + "AAAA"):
        with vault.v2(bad) as c:
            _assert_vgs_error(c.get("/aliases/tok_x"), 401, "UNAUTHORIZED")
    r = httpx.get(f"{vault.url}/{vault.vault_id}/aliases/tok_x")
    _assert_vgs_error(r, 401, "UNAUTHORIZED")
    r = httpx.get(
        f"{vault.url}/{vault.vault_id}/aliases/tok_x", headers={"Authorization": "Digest abc"}
    )
    _assert_vgs_error(r, 401, "UNAUTHORIZED")


def test_health_ready_and_unknown_route(vault: Vault) -> None:
    r = httpx.get(vault.url + "/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert r.headers["vgs-request-id"]
    assert r.headers["x-ratelimit-remaining"]
    r = httpx.get(vault.url + "/ready")
    assert r.status_code == 200
    assert r.json()["status"] == "ready"
    _assert_vgs_error(httpx.get(vault.url + "/nope"), 404, "NOT_FOUND")
    with vault.v2() as c:
        _assert_vgs_error(c.patch("/aliases/tok_x"), 405, "METHOD_NOT_ALLOWED")
        _assert_vgs_error(c.delete("/aliases"), 405, "METHOD_NOT_ALLOWED")


def test_audit_rows_for_api_calls(vault: Vault) -> None:
    with vault.v2() as c:
        r = _create(c, {"value": "audited", "format": "UUID"})
        trace = r.headers["vgs-request-id"]
    rows = [e for e in vault.service.list_audit(vault_id=vault.vault_id) if e.trace_id == trace]
    assert rows
    assert rows[0].actor == vault.client_id
    assert rows[0].source == "127.0.0.1"
