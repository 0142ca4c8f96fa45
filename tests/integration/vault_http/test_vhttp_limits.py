"""Limits and hostile input: 413 while streaming, 415, 400 per item, 429, and never a 500."""

from __future__ import annotations

import json
import random
import socket
from collections.abc import Iterator

import httpx
import pytest
from vhttp_support import Vault, make_settings, start_vault

from vaultswitch.vault.core.service import VaultService

CARD = "4111111111111111"
SENTINEL = "4111 1111 1111 1111"  # a value that is not alias-shaped


def test_too_many_items(vault: Vault) -> None:
    with vault.v1() as c:
        r = c.post(
            "/aliases", json={"data": [{"value": f"v{i}", "format": "UUID"} for i in range(21)]}
        )
        assert r.status_code == 400
        assert r.json()["errors"][0]["detail"] == "Too many values (limit: 20)"
        aliases = ",".join(f"tok_{i}" for i in range(21))
        assert c.get("/aliases", params={"aliases": aliases}).status_code == 400
        r = c.post("/aliases/delete", json={"data": [f"tok_{i}" for i in range(21)]})
        assert r.status_code == 400


def test_content_type_required(vault: Vault) -> None:
    with vault.v1() as c:
        body = json.dumps({"data": [{"value": "a", "format": "UUID"}]})
        r = c.post("/aliases", content=body, headers={"Content-Type": "text/plain"})
        assert r.status_code == 415
        assert r.json()["errors"][0]["code"] == "UNSUPPORTED_MEDIA_TYPE"
        r = c.put("/aliases/tok_x", content=b'{"data":{"classifiers":[]}}')
        assert r.status_code == 415


@pytest.fixture
def small_vault(tmp_path: object) -> Iterator[Vault]:
    settings = make_settings(tmp_path, max_body_bytes=64 * 1024, rate_limit_per_minute=5)  # type: ignore[arg-type]
    service = VaultService.open(settings)
    server, vault = start_vault(settings, service)
    try:
        yield vault
    finally:
        server.stop()
        service.close()


def _raw_request(vault: Vault, head: bytes, body: bytes) -> bytes:
    """Send a request on a raw socket without finishing it; return what the server answers."""
    host, port = vault.url.removeprefix("http://").split(":")
    header = httpx.BasicAuth(vault.username, vault.password)._auth_header  # type: ignore[attr-defined]
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(
            head
            + b"Host: x\r\nContent-Type: application/json\r\nAuthorization: "
            + header.encode()
            + b"\r\n\r\n"
            + body
        )
        return s.recv(4096)


def test_body_too_large_is_rejected_while_streaming(small_vault: Vault) -> None:
    # a chunked body that never ends: the server must answer once the limit (64 KiB) is
    # crossed instead of waiting for the rest
    chunk = b"%x\r\n" % (16 * 1024) + b"a" * (16 * 1024) + b"\r\n"
    reply = _raw_request(
        small_vault,
        b"POST /aliases HTTP/1.1\r\nTransfer-Encoding: chunked\r\n",
        b'5\r\n{"a":\r\n' + chunk * 5,
    )
    assert reply.startswith(b"HTTP/1.1 413")
    assert b"PAYLOAD_TOO_LARGE" in reply


def test_declared_length_over_limit_is_413_without_reading(small_vault: Vault) -> None:
    reply = _raw_request(
        small_vault, b"POST /aliases HTTP/1.1\r\nContent-Length: 99999999\r\n", b""
    )
    assert reply.startswith(b"HTTP/1.1 413")


def test_rate_limit(small_vault: Vault) -> None:
    with small_vault.v1() as c:
        statuses = []
        for _ in range(7):
            r = c.get("/aliases/tok_sandbox_x")
            statuses.append(r.status_code)
            last = r
        assert statuses[:5] == [404] * 5
        assert statuses[5:] == [429, 429]
        assert last.headers["x-ratelimit-remaining"] == "0"
        assert 1 <= int(last.headers["retry-after"]) <= 60
        assert last.json()["errors"][0]["code"] == "RATE_LIMITED"
    # another vault has its own budget
    other = small_vault.new_vault(name="b")
    user, pw = small_vault.service.create_access_credentials(other.vault_id)
    r = httpx.get(small_vault.url + "/aliases/tok_x", auth=(user, pw.reveal()))
    assert r.status_code == 404
    assert r.headers["x-ratelimit-remaining"] == "4"


MALFORMED: list[tuple[str, bytes, str]] = [
    ("not json", b"{data:", "MALFORMED_JSON"),
    ("empty", b"", "MALFORMED_JSON"),
    ("array body", b"[]", "request body must be a JSON object"),
    ("data string", b'{"data":"x"}', "data must be an array"),
    ("value number", b'{"data":[{"value":1,"format":"UUID"}]}', "data[0].value must be a string"),
    (
        "unknown format",
        b'{"data":[{"value":"a","format":"UUID"},{"value":"b","format":"X"}]}',
        "data[1].format",
    ),
    ("null format", b'{"data":[{"value":"a","format":null}]}', "data[0].format"),
    (
        "bad storage",
        b'{"data":[{"value":"a","format":"UUID","storage":"disk"}]}',
        "data[0].storage",
    ),
    ("bad luhn input", b'{"data":[{"value":"abc","format":"FPE_SIX_T_FOUR"}]}', "data[0].value"),
    ("sql alias", b'{"data":[{"alias":"x\' OR 1=1 --","format":"UUID"}]}', "data[0].alias"),
    (
        "classifier html",
        b'{"data":[{"value":"a","format":"UUID","classifiers":["<b>"]}]}',
        "data[0].classifiers[0]",
    ),
    ("NaN", b'{"data":[{"value":NaN,"format":"UUID"}]}', "MALFORMED_JSON"),
    ("deep", b"[" * 50_000 + b"]" * 50_000, "MALFORMED_JSON"),
    ("bad utf8", b'{"data":[{"value":"\xff","format":"UUID"}]}', "MALFORMED_JSON"),
]


@pytest.mark.parametrize(("name", "body", "expected"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_create_is_400_and_nothing_stored(
    vault: Vault, name: str, body: bytes, expected: str
) -> None:
    with vault.v1() as c:
        r = c.post("/aliases", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    err = r.json()["errors"][0]
    assert expected in err["detail"] or expected == err["code"]
    # the good first item of a bad batch is not stored either
    rows = [
        e for e in vault.service.list_audit(vault_id=vault.vault_id) if e.action.startswith("alias")
    ]
    assert rows == [] or all(e.outcome != "success" for e in rows)


def test_bad_path_and_query_inputs(vault: Vault) -> None:
    with vault.v1() as c:
        for path in (
            "/aliases/%00",
            "/aliases/" + "a" * 300,
            "/aliases/tok%20x",
        ):
            r = c.get(path)
            assert r.status_code == 400, path
            assert r.json()["errors"][0]["code"] == "INVALID_ALIAS"
        # an alias containing "/" cannot match the route at all
        assert c.get("/aliases/..%2F..%2Fetc").json()["errors"][0]["code"] == "NOT_FOUND"
        assert c.get("/aliases").status_code == 400
        assert c.get("/aliases/tok_x", params={"storage": "ram"}).status_code == 400
        r = c.put("/aliases/tok_x", json={"data": {"classifiers": "x"}})
        assert r.status_code == 400


def _fuzz_values(rng: random.Random) -> object:
    choices: list[object] = [
        None,
        True,
        0,
        -1,
        1.5,
        10**30,
        "",
        "x" * 1000,
        "\u0000",
        "tok_\u202e",
        [],
        {},
        [[]],
        {"a": {}},
        "UUID",
        "VOLATILE",
        "'\"; DROP TABLE",
        "${jndi:ldap://x}",
        "<script>",
        "%s%n",
        SENTINEL,
    ]
    return rng.choice(choices)


def test_fuzz_never_500(vault: Vault) -> None:
    rng = random.Random(1234)
    keys = ["data", "value", "format", "classifiers", "storage", "alias", "x"]
    with vault.v1() as c:
        for _ in range(300):
            item = {rng.choice(keys): _fuzz_values(rng) for _ in range(rng.randint(0, 4))}
            if rng.random() < 0.5:
                item.setdefault("format", rng.choice(["UUID", "FPE_T_FOUR", "PFPT", "CUSTOM"]))
            body: object = {"data": [item]} if rng.random() < 0.8 else item
            method = rng.choice(["post_create", "put", "batch", "get"])
            if method == "post_create":
                r = c.post("/aliases", json=body)
            elif method == "put":
                r = c.put(f"/aliases/tok_{rng.randint(0, 9)}", json={"data": body})
            elif method == "batch":
                r = c.post(
                    "/aliases/delete",
                    json={"data": [_fuzz_values(rng)], "storage": _fuzz_values(rng)},
                )
            else:
                r = c.get("/aliases", params={"aliases": str(_fuzz_values(rng))})
            assert r.status_code < 500, (method, r.text)
            if r.status_code >= 400:
                assert SENTINEL not in json.dumps(r.json()["errors"])
