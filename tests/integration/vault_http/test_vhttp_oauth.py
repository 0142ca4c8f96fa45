"""OAuth2 client-credentials token endpoint: success shapes, JWT claims, Keycloak errors, audit."""

from __future__ import annotations

import base64

import httpx
import jwt
import pytest
from vhttp_support import TOKEN_PATH, Vault


def test_token_with_form_fields(vault: Vault) -> None:
    r = httpx.post(
        vault.url + TOKEN_PATH,
        data={
            "grant_type": "client_credentials",
            "client_id": vault.client_id,
            "client_secret": vault.client_secret,
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {
        "access_token",
        "expires_in",
        "refresh_expires_in",
        "token_type",
        "not-before-policy",
        "scope",
    }
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["refresh_expires_in"] == 0
    assert body["scope"] == "aliases:read aliases:write aliases:delete routes:read routes:write"
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["vgs-request-id"]
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["azp"] == vault.client_id
    assert claims["exp"] - claims["iat"] == 300
    assert claims["vaults"] == [vault.vault_id]
    assert claims["scope"] == body["scope"]
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "RS256"


def test_token_with_basic_auth_and_tenant_prefix(vault: Vault) -> None:
    r = httpx.post(
        f"{vault.url}/{vault.vault_id}{TOKEN_PATH}",
        data={"grant_type": "client_credentials"},
        auth=(vault.client_id, vault.client_secret),
    )
    assert r.status_code == 200, r.text


def test_token_signature_verifies_with_published_jwks(vault: Vault) -> None:
    token = vault.token()
    jwks = httpx.get(vault.url + "/auth/realms/vgs/protocol/openid-connect/certs").json()
    key = jwt.PyJWKSet.from_dict(jwks).keys[0].key
    claims = jwt.decode(token, key, algorithms=["RS256"], options={"verify_iss": False})
    assert claims["sub"] == vault.client_id


def test_custom_lifespan_and_requested_scope(vault: Vault) -> None:
    account, secret = vault.service.create_service_account(
        [vault.vault_id], ["aliases:read", "aliases:write"], token_lifespan=60
    )
    r = httpx.post(
        vault.url + TOKEN_PATH,
        data={
            "grant_type": "client_credentials",
            "client_id": account.client_id,
            "client_secret": secret.reveal(),
            "scope": "aliases:read",
        },
    )
    assert r.status_code == 200
    assert r.json()["expires_in"] == 60
    assert r.json()["scope"] == "aliases:read"
    r = httpx.post(
        vault.url + TOKEN_PATH,
        data={
            "grant_type": "client_credentials",
            "client_id": account.client_id,
            "client_secret": secret.reveal(),
            "scope": "aliases:delete",
        },
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_scope"


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"client_id": "ID", "client_secret": "SECRET"}, 400, "invalid_request"),
        (
            {"grant_type": "password", "client_id": "ID", "client_secret": "SECRET"},
            400,
            "unsupported_grant_type",
        ),
        ({"grant_type": "client_credentials", "client_secret": "SECRET"}, 400, "invalid_request"),
        ({"grant_type": "client_credentials", "client_id": "ID"}, 400, "invalid_request"),
        (
            {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"},
            401,
            "invalid_client",
        ),
        (
            {"grant_type": "client_credentials", "client_id": "ID", "client_secret": "wrong"},
            401,
            "invalid_client",
        ),
    ],
)
def test_token_errors_are_keycloak_shaped(
    vault: Vault, form: dict[str, str], status: int, error: str
) -> None:
    form = {
        k: (vault.client_id if v == "ID" else vault.client_secret if v == "SECRET" else v)
        for k, v in form.items()
    }
    r = httpx.post(vault.url + TOKEN_PATH, data=form)
    assert r.status_code == status
    body = r.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == error
    assert vault.client_secret not in r.text


def test_wrong_content_type_and_method(vault: Vault) -> None:
    r = httpx.post(vault.url + TOKEN_PATH, json={"grant_type": "client_credentials"})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"
    r = httpx.get(vault.url + TOKEN_PATH)
    assert r.status_code == 405


def test_bad_basic_header_is_invalid_client(vault: Vault) -> None:
    bogus = base64.b64encode(f"{vault.client_id}:nope".encode()).decode()
    r = httpx.post(
        vault.url + TOKEN_PATH,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {bogus}"},
    )
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    assert "Basic" in r.headers["www-authenticate"]


def test_token_issue_and_failure_are_audited(vault: Vault) -> None:
    vault.token()
    httpx.post(
        vault.url + TOKEN_PATH,
        data={
            "grant_type": "client_credentials",
            "client_id": vault.client_id,
            "client_secret": "x",
        },
    )
    rows = vault.service.list_audit(action="token.issue")
    outcomes = sorted((e.outcome, e.actor) for e in rows)
    assert ("success", vault.client_id) in outcomes
    assert ("failure", vault.client_id) in outcomes
    assert all(e.trace_id for e in rows)
    assert all(e.detail != "x" for e in rows)
