"""Every route answers every method: the allowed ones work, OPTIONS lists them, anything
else is a 405 with `Allow`, in the endpoint's error shape; never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from vhttp_support import TOKEN_PATH, Vault, make_settings, start_vault

from vaultswitch.vault.core.service import VaultService

CERTS_PATH = "/auth/realms/vgs/protocol/openid-connect/certs"
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"]

# path -> the methods it serves (OPTIONS is always served as well)
ROUTES: dict[str, tuple[str, ...]] = {
    "/health": ("GET", "HEAD"),
    "/ready": ("GET", "HEAD"),
    CERTS_PATH: ("GET", "HEAD"),
    TOKEN_PATH: ("POST",),
    "/aliases": ("GET", "POST"),
    "/aliases/delete": ("POST",),
    "/aliases/tok_sandbox_nosuchalias": ("GET", "PUT", "DELETE"),
}


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vault]:
    settings = make_settings(tmp_path_factory.mktemp("vault"))
    service = VaultService.open(settings)
    server, v = start_vault(settings, service)
    try:
        yield v
    finally:
        server.stop()
        service.close()


@pytest.fixture(scope="module")
def token(vault: Vault) -> str:
    return vault.token()


def _allow(header: str) -> set[str]:
    return {m.strip() for m in header.split(",")}


def _cases() -> Iterator[tuple[str, str, str]]:
    for path in ROUTES:
        for method in METHODS:
            for prefix in ("", "tenant"):
                yield path, method, prefix


@pytest.mark.parametrize(("path", "method", "prefix"), list(_cases()))
def test_every_method_on_every_route(
    vault: Vault, token: str, path: str, method: str, prefix: str
) -> None:
    base = f"{vault.url}/{vault.vault_id}" if prefix else vault.url
    headers = {"Authorization": f"Bearer {token}"}
    r = httpx.request(method, base + path, headers=headers)
    assert r.status_code < 500, r.text
    served = ROUTES[path]
    allowed = {*served, "OPTIONS"}
    if method == "OPTIONS":
        assert r.status_code == 204
        assert _allow(r.headers["allow"]) == allowed
        assert r.content == b""
        return
    if method in served:
        assert r.status_code != 405, r.text
        return
    assert r.status_code == 405, r.text
    assert _allow(r.headers["allow"]) == allowed
    assert r.headers["vgs-request-id"]
    if method == "HEAD":
        assert r.content == b""
        return
    body = r.json()
    if path == TOKEN_PATH:
        assert body["error"] == "invalid_request"
        assert method in body["error_description"]
        return
    err = body["errors"][0]
    assert (err["status"], err["code"], err["title"]) == (
        405,
        "METHOD_NOT_ALLOWED",
        "Method not allowed",
    )
    assert method in err["detail"]
    assert body["trace_id"] == r.headers["vgs-request-id"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_batch_delete_path_is_not_an_alias(vault: Vault, method: str) -> None:
    """`/aliases/delete` is the batch endpoint (POST): other methods are refused, not routed
    to /aliases/{alias} (they used to fail there with a 500 KeyError)."""
    with vault.v2() as c:
        r = c.request(method, "/aliases/delete", json={"data": {"classifiers": []}})
    assert r.status_code == 405, r.text
    assert _allow(r.headers["allow"]) == {"POST", "OPTIONS"}
    assert r.json()["errors"][0]["code"] == "METHOD_NOT_ALLOWED"
    with vault.v1() as c:
        r = c.request(method, "/aliases/delete")
    assert r.status_code == 405, r.text


def test_options_needs_no_credentials_and_reveals_nothing(vault: Vault) -> None:
    r = httpx.options(f"{vault.url}/aliases/tok_sandbox_nosuchalias")
    assert r.status_code == 204
    assert "x-ratelimit-remaining" in r.headers
    assert r.content == b""


def test_head_on_health_is_get_without_a_body(vault: Vault) -> None:
    get = httpx.get(vault.url + "/health")
    head = httpx.head(vault.url + "/health")
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]


def test_unknown_route_is_404_for_every_method(vault: Vault) -> None:
    for method in METHODS:
        r = httpx.request(method, vault.url + "/no/such/route")
        assert r.status_code == 404, (method, r.text)
        if method != "HEAD":
            assert r.json()["errors"][0]["code"] == "NOT_FOUND"
