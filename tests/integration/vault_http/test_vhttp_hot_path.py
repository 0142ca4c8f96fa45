"""The lean create/reveal path: same bytes as the Starlette path, cached vault rows stay
correct when the vault changes, audit rows of a batch are written with its commit."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from vhttp_support import make_settings

from vaultswitch.domain.secret import Secret
from vaultswitch.vault.core import store
from vaultswitch.vault.core.errors import AliasNotFoundError, Forbidden
from vaultswitch.vault.core.models import AuditContext, NewValue
from vaultswitch.vault.core.service import VaultService
from vaultswitch.vault.http.app import create_app
from vaultswitch.vault.http.groupcommit import GroupCommitter

TOKEN_PATH = "/auth/realms/vgs/protocol/openid-connect/token"
PAN = "4111111111111111"


@pytest.fixture
def sqlite_service(tmp_path: Path) -> Iterator[VaultService]:
    service = VaultService.open(make_settings(tmp_path))
    try:
        yield service
    finally:
        service.close()


async def _asgi(
    app: Any,
    method: str,
    path: str,
    headers: list[tuple[bytes, bytes]],
    body: bytes = b"",
    root_path: str = "",
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": root_path + path,
        "raw_path": (root_path + path).encode(),
        "query_string": b"",
        "root_path": root_path,
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    messages: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, send)
    start = messages[0]
    # the trace id and the rate-limit counter differ from request to request
    varying = (b"vgs-request-id", b"x-ratelimit-remaining")
    headers_out = [(k, v) for k, v in start["headers"] if k not in varying]
    assert {k for k, _ in start["headers"]} >= set(varying)
    return start["status"], headers_out, b"".join(m.get("body", b"") for m in messages[1:])


def test_hot_path_answers_exactly_as_the_starlette_route(tmp_path: Path) -> None:
    """root_path set: the request goes through Starlette's Route; not set: the lean path."""
    settings = make_settings(tmp_path)
    service = VaultService.open(settings)
    vault = service.create_vault("hot")
    account, secret = service.create_service_account([vault.vault_id])
    app = create_app(settings, service)
    basic = base64.b64encode(f"{account.client_id}:{secret.reveal()}".encode())

    async def run() -> None:
        status, _, body = await _asgi(
            app,
            "POST",
            TOKEN_PATH,
            [
                (b"authorization", b"Basic " + basic),
                (b"content-type", b"application/x-www-form-urlencoded"),
            ],
            b"grant_type=client_credentials",
        )
        assert status == 200
        auth = (b"authorization", b"Bearer " + json.loads(body)["access_token"].encode())
        json_type = (b"content-type", b"application/json")
        prefix = f"/{vault.vault_id}"
        create = json.dumps(
            {"data": [{"value": PAN, "format": "UUID", "classifiers": ["pan", "x"]}]}
        ).encode()
        # same value twice: the second is deduplicated, so both bodies must be equal
        lean = await _asgi(app, "POST", prefix + "/aliases", [auth, json_type], create)
        routed = await _asgi(
            app, "POST", prefix + "/aliases", [auth, json_type], create, root_path="/base"
        )
        assert lean[0] == routed[0] == 201
        assert lean == routed
        alias = json.loads(lean[2])["data"][0]["aliases"][0]["alias"]
        reveal_lean = await _asgi(app, "GET", f"{prefix}/aliases/{alias}", [auth])
        reveal_routed = await _asgi(
            app, "GET", f"{prefix}/aliases/{alias}", [auth], root_path="/base"
        )
        assert reveal_lean[0] == 200
        assert reveal_lean == reveal_routed
        assert json.loads(reveal_lean[2])["data"][0]["value"] == PAN
        # errors too: missing alias, bad JSON, wrong content type, no credentials
        cases: list[tuple[str, str, list[tuple[bytes, bytes]], bytes]] = [
            ("GET", f"{prefix}/aliases/tok_sandbox_missing", [auth], b""),
            ("POST", prefix + "/aliases", [auth, json_type], b'{"data": ['),
            ("POST", prefix + "/aliases", [auth], create),
            ("POST", prefix + "/aliases", [json_type], create),
            ("POST", prefix + "/aliases", [auth, json_type], b'{"data": [{"value": 1}]}'),
        ]
        for method, path, headers, body in cases:
            lean = await _asgi(app, method, path, headers, body)
            routed = await _asgi(app, method, path, headers, body, root_path="/base")
            assert lean[0] >= 400
            assert lean[0] == routed[0]
            # (the length differs: the error's href names the path, root path included)
            assert [h for h in lean[1] if h[0] != b"content-length"] == [
                h for h in routed[1] if h[0] != b"content-length"
            ]
            lean_error = json.loads(lean[2])
            routed_error = json.loads(routed[2])
            lean_error["errors"][0].pop("href")  # the href names the path as sent
            routed_error["errors"][0].pop("href")
            lean_error.pop("trace_id")
            routed_error.pop("trace_id")
            assert lean_error == routed_error

    try:
        asyncio.run(run())
    finally:
        service.close()


def test_cached_vault_rows_follow_changes_from_other_connections(
    sqlite_service: VaultService, tmp_path: Path
) -> None:
    vault = sqlite_service.create_vault("cached")
    ctx = AuditContext("test")
    created = sqlite_service.create_aliases(vault.vault_id, [NewValue(Secret(PAN), "UUID")], ctx)
    alias = created[0].aliases[0].alias
    batcher = GroupCommitter(sqlite_service)
    other = VaultService.open(make_settings(tmp_path))  # e.g. the admin CLI in another process

    async def reveal() -> object:
        call = batcher.call(sqlite_service.reveal, vault.vault_id, [alias], "PERSISTENT", ctx)
        return (await asyncio.gather(call, return_exceptions=True))[0]

    try:
        assert isinstance(asyncio.run(reveal()), dict)  # caches the vault row
        other.set_reveal(vault.vault_id, False)
        refused = asyncio.run(reveal())
        assert isinstance(refused, Forbidden)
        assert refused.code == "REVEAL_DISABLED"
        sqlite_service.set_reveal(vault.vault_id, True)  # through this service: cache cleared
        assert isinstance(asyncio.run(reveal()), dict)
    finally:
        batcher.close()
        other.close()


def test_a_batch_writes_audit_rows_of_its_successful_calls_only(
    sqlite_service: VaultService,
) -> None:
    vault = sqlite_service.create_vault("audited")
    ctx = AuditContext("test", "127.0.0.1", "trace-1")
    created = sqlite_service.create_aliases(vault.vault_id, [NewValue(Secret(PAN), "UUID")], ctx)
    alias = created[0].aliases[0].alias
    batcher = GroupCommitter(sqlite_service)

    async def run() -> list[object]:
        calls = [
            batcher.call(sqlite_service.reveal, vault.vault_id, [alias], "PERSISTENT", ctx),
            batcher.call(
                sqlite_service.reveal, vault.vault_id, ["tok_sandbox_nope"], "PERSISTENT", ctx
            ),
            batcher.call(sqlite_service.reveal, vault.vault_id, [alias], "PERSISTENT", ctx),
            batcher.call(
                sqlite_service.create_aliases,
                vault.vault_id,
                [NewValue(Secret("another value"), "UUID", ("tag",))],
                ctx,
            ),
        ]
        return list(await asyncio.gather(*calls, return_exceptions=True))

    try:
        results = asyncio.run(run())
    finally:
        batcher.close()
    assert batcher.batches == 1
    assert isinstance(results[1], AliasNotFoundError)
    with sqlite_service.engine.connect() as conn:
        rows = conn.execute(sa.select(store.audit_log).order_by(store.audit_log.c.id)).all()
    reveals = [r for r in rows if r.action == "alias.reveal"]
    assert [r.alias for r in reveals] == [alias, alias]
    assert all(r.trace_id == "trace-1" and r.source == "127.0.0.1" for r in reveals)
    assert all(r.detail == "PERSISTENT" and r.outcome == "success" for r in reveals)
    creates = [r for r in rows if r.action == "alias.create"]
    assert len(creates) == 2
    assert creates[-1].detail == "created format=UUID storage=PERSISTENT"
    assert store.as_utc(creates[-1].at) is not None
