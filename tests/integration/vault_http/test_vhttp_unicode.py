"""Text that cannot be encoded (lone UTF-16 surrogates), NULs and stray bytes, wherever a
request carries text: a 400/401 naming the field in the endpoint's error shape, never a 500,
never the submitted value in the body."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from vhttp_support import TOKEN_PATH, Vault, make_settings, start_vault

from vaultswitch.vault.core.service import VaultService

JSON = {"content-type": "application/json"}
FORM = {"content-type": "application/x-www-form-urlencoded"}
# A JSON escape for a lone high surrogate, and the raw bytes UTF-8 "surrogatepass" gives it.
ESCAPED = b"\\ud800"
RAW = b"\xed\xa0\x80"


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vault]:
    """One server for the module: every test here only reads or fails to write."""
    settings = make_settings(tmp_path_factory.mktemp("vault"))
    service = VaultService.open(settings)
    server, v = start_vault(settings, service)
    try:
        yield v
    finally:
        server.stop()
        service.close()


def _vgs_error(r: httpx.Response, status: int, code: str, field: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"errors", "trace_id"}
    err = body["errors"][0]
    assert err["status"] == status
    assert err["code"] == code
    assert field in err["detail"]
    return err  # type: ignore[no-any-return]


def _no_echo(r: httpx.Response, *marks: str) -> None:
    for mark in ("\\ud800", "\ufffd", "\\udc80", *marks):
        assert mark not in r.text


@pytest.mark.parametrize("surrogate", [ESCAPED, RAW], ids=["json-escape", "raw-bytes"])
@pytest.mark.parametrize("api", ["v1", "v2"])
def test_surrogate_in_a_value_is_a_400_naming_the_field(
    vault: Vault, surrogate: bytes, api: str
) -> None:
    body = b'{"data":[{"value":"secret-' + surrogate + b'-tail","format":"UUID"}]}'
    client = vault.v1() if api == "v1" else vault.v2()
    with client as c:
        r = c.post("/aliases", content=body, headers=JSON)
    err = _vgs_error(r, 400, "INVALID_VALUE", "data[0].value")
    assert "surrogate" in err["detail"]
    _no_echo(r, "secret-", "-tail")


def test_surrogate_in_a_later_item_names_that_item_and_stores_nothing(vault: Vault) -> None:
    body = (
        b'{"data":[{"value":"4111111111111111","format":"FPE_SIX_T_FOUR"},'
        b'{"value":"ok","format":"UUID","storage":"VOLATILE"},'
        b'{"value":"x' + ESCAPED + b'","format":"RAW_UUID","classifiers":["pan"]}]}'
    )
    before = vault.service.list_audit(vault_id=vault.vault_id, action="alias.create")
    with vault.v2() as c:
        r = c.post("/aliases", content=body, headers=JSON)
    _vgs_error(r, 400, "INVALID_VALUE", "data[2].value")
    _no_echo(r, "4111111111111111")
    assert vault.service.list_audit(vault_id=vault.vault_id, action="alias.create") == before


def test_a_value_with_valid_astral_characters_and_nul_is_stored(vault: Vault) -> None:
    """Only what cannot be encoded is refused: a surrogate *pair* is an ordinary character."""
    body = b'{"data":[{"value":"\\ud83d\\ude00 \\u0000 \xf0\x9f\x98\x80","format":"UUID"}]}'
    with vault.v2() as c:
        r = c.post("/aliases", content=body, headers=JSON)
        assert r.status_code == 201, r.text
        alias = r.json()["data"][0]["aliases"][0]["alias"]
        r = c.get(f"/aliases/{alias}")
    assert r.json()["data"][0]["value"] == "\U0001f600 \x00 \U0001f600"


BODY_FIELDS: list[tuple[str, str, bytes, str, str]] = [
    # (method, path, body, field named, code)
    ("POST", "/aliases", b'{"data":[{"value":"a","format":"UUID","classifiers":["%s"]}]}',
     "data[0].classifiers[0]", "INVALID_CLASSIFIER"),
    ("POST", "/aliases", b'{"data":[{"value":"a","format":"UUID","storage":"%s"}]}',
     "data[0].storage", "INVALID_STORAGE"),
    ("POST", "/aliases", b'{"data":[{"value":"a","format":"%s"}]}',
     "data[0].format", "INVALID_FORMAT"),
    ("POST", "/aliases", b'{"data":[{"alias":"%s","format":"UUID"}]}',
     "data[0].alias", "INVALID_ALIAS"),
    ("POST", "/aliases", b'{"data":[{"value":"a","format":"UUID","%s":1}]}',
     "data[0]", "UNKNOWN_FIELD"),
    ("PUT", "/aliases/tok_sandbox_abc", b'{"data":{"classifiers":["%s"]}}',
     "data.classifiers[0]", "INVALID_CLASSIFIER"),
    ("POST", "/aliases/delete", b'{"data":["%s"]}', "data[0]", "INVALID_ALIAS"),
    ("POST", "/aliases/delete", b'{"data":["tok_sandbox_abc"],"storage":"%s"}',
     "storage", "INVALID_STORAGE"),
]  # fmt: skip


@pytest.mark.parametrize("surrogate", [ESCAPED, RAW], ids=["json-escape", "raw-bytes"])
@pytest.mark.parametrize(("method", "path", "template", "field", "code"), BODY_FIELDS)
def test_surrogate_in_any_body_field_is_a_400_naming_it(
    vault: Vault, surrogate: bytes, method: str, path: str, template: bytes, field: str, code: str
) -> None:
    with vault.v2() as c:
        r = c.request(method, path, content=template.replace(b"%s", surrogate), headers=JSON)
    _vgs_error(r, 400, code, field)


@pytest.mark.parametrize(
    ("path", "params", "field", "code"),
    [
        ("/aliases/%ED%A0%80", "", "alias", "INVALID_ALIAS"),
        ("/aliases/abc%00def", "", "alias", "INVALID_ALIAS"),
        ("/aliases", "aliases=%ED%A0%80", "aliases[0]", "INVALID_ALIAS"),
        ("/aliases", "q=tok_sandbox_abc,%ED%A0%80", "aliases[1]", "INVALID_ALIAS"),
        ("/aliases", "aliases=tok_sandbox_abc&storage=%ED%A0%80", "storage", "INVALID_STORAGE"),
        ("/aliases/tok_sandbox_abc", "storage=%00", "storage", "INVALID_STORAGE"),
    ],
)
def test_bad_text_in_path_and_query_is_a_400(
    vault: Vault, path: str, params: str, field: str, code: str
) -> None:
    url = f"{vault.url}/{vault.vault_id}{path}" + (f"?{params}" if params else "")
    r = httpx.get(url, headers={"Authorization": f"Bearer {vault.token()}"})
    _vgs_error(r, 400, code, field)


@pytest.mark.parametrize(
    "authorization",
    [
        b"Basic " + base64.b64encode("\ud800:x".encode("utf-8", "surrogatepass")),
        b"Basic " + base64.b64encode(b"user\x00:pass\x00"),
        b"Basic " + RAW,
        b"Bearer " + RAW,
        b"Bearer \xff\xfe" + RAW,
    ],
)
def test_bad_bytes_in_the_authorization_header_are_a_401(
    vault: Vault, authorization: bytes
) -> None:
    r = httpx.post(
        vault.url + "/aliases",
        content=b'{"data":[{"value":"a","format":"UUID"}]}',
        headers={"content-type": "application/json", "authorization": authorization},
    )
    err = _vgs_error(r, 401, "UNAUTHORIZED", "")
    assert "*" not in err["detail"]  # readable: not mistaken for a credential and masked


def test_bad_bytes_in_host_and_content_type_headers(vault: Vault) -> None:
    token = vault.token()
    r = httpx.post(
        vault.url + "/aliases",
        content=b'{"data":[{"value":"a","format":"UUID"}]}',
        headers={"content-type": b"application/json" + RAW, "authorization": f"Bearer {token}"},
    )
    assert r.status_code == 404, r.text  # no vault id: neither host nor path names one
    r = httpx.post(
        f"{vault.url}/{vault.vault_id}/aliases",
        content=b'{"data":[{"value":"a","format":"UUID"}]}',
        headers={"content-type": b"application/json" + RAW, "authorization": f"Bearer {token}"},
    )
    _vgs_error(r, 415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type")
    r = httpx.post(
        vault.url + "/aliases",
        content=b'{"data":[{"value":"a","format":"UUID"}]}',
        headers={"content-type": "application/json", "host": b"tnt" + RAW + b".example"},
        auth=(vault.username, vault.password),
    )
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    "form",
    [
        b"grant_type=client_credentials&client_id=%ED%A0%80&client_secret=s3cr3t-value",
        b"grant_type=client_credentials&client_id=" + RAW + b"&client_secret=s3cr3t-value",
        b"grant_type=client_credentials&client_id=abc%00def&client_secret=s3cr3t-value",
        b"grant_type=client_credentials&client_id=CLIENT&client_secret=s3cr3t-value%ED%A0%80",
        b"grant_type=client_credentials&client_id=CLIENT&client_secret=s3cr3t-value%00",
        b"grant_type=client_credentials%ED%A0%80&client_id=CLIENT&client_secret=s3cr3t-value",
        b"grant_type=client_credentials&client_id=CLIENT&client_secret=s3cr3t-value&scope=%ED%A0",
    ],
)
def test_bad_text_in_the_token_form_is_an_oauth_error(vault: Vault, form: bytes) -> None:
    r = httpx.post(
        vault.url + TOKEN_PATH,
        content=form.replace(b"CLIENT", vault.client_id.encode()),
        headers=FORM,
    )
    assert r.status_code in (400, 401), r.text
    body = r.json()
    assert set(body) == {"error", "error_description"}
    assert "s3cr3t" not in r.text


@pytest.mark.parametrize(
    "basic",
    [
        "\ud800:s3cr3t-value".encode("utf-8", "surrogatepass"),
        b"\xed\xa0\x80:s3cr3t-value",
        b"abc%00:s3cr3t-value",
        b"CLIENT:s3cr3t-value%ED%A0%80",
    ],
)
def test_bad_text_in_token_basic_credentials_is_an_oauth_error(vault: Vault, basic: bytes) -> None:
    encoded = base64.b64encode(basic.replace(b"CLIENT", vault.client_id.encode()))
    r = httpx.post(
        vault.url + TOKEN_PATH,
        content=b"grant_type=client_credentials",
        headers={**FORM, "authorization": b"Basic " + encoded},
    )
    assert r.status_code in (400, 401), r.text
    assert set(r.json()) == {"error", "error_description"}
    assert "s3cr3t" not in r.text


@pytest.mark.postgres
def test_nul_in_a_client_id_or_username_is_a_401_on_postgresql(
    tmp_path: Path, postgres_url: str
) -> None:
    """PostgreSQL text cannot hold NUL: such an id matches no account and is never queried."""
    settings = make_settings(tmp_path, database_url=postgres_url)
    service = VaultService.open(settings)
    server, v = start_vault(settings, service)
    try:
        r = httpx.post(
            v.url + TOKEN_PATH,
            content=b"grant_type=client_credentials&client_id=AC%00x&client_secret=s3cr3t-value",
            headers=FORM,
        )
        assert r.status_code == 401, r.text
        assert r.json()["error"] == "invalid_client"
        basic = base64.b64encode(v.username.encode() + b"\x00:" + v.password.encode())
        r = httpx.post(
            v.url + "/aliases",
            content=b'{"data":[{"value":"a","format":"UUID"}]}',
            headers={**JSON, "authorization": b"Basic " + basic},
        )
        _vgs_error(r, 401, "UNAUTHORIZED", "invalid vault access credentials")
        assert v.password not in r.text
    finally:
        server.stop()
        service.close()
