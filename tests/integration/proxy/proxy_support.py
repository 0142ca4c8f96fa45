"""Shared pieces of the proxy server tests (imported by module name): a real SQLite vault
core with a vault, an alias and access credentials; a loopback HTTPS upstream with its own
test CA (trustme) that records what it receives; the proxies on their own loops."""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme

from live_uvicorn import LiveServer
from vaultswitch.domain.secret import Secret
from vaultswitch.proxy.ca import LocalCA
from vaultswitch.proxy.server import ProxyServer, make_edge
from vaultswitch.proxy.settings import ProxySettings
from vaultswitch.vault.core.models import AuditContext, NewValue
from vaultswitch.vault.core.service import VaultService
from vaultswitch.vault.settings import VaultSettings

CARD = "4111111111111111"
OTHER_CARD = "5555555555554444"
CTX = AuditContext("ACproxytest", "127.0.0.1", "trace-proxy")


@dataclass
class Vault:
    service: VaultService
    vault_id: str
    username: str
    password: str
    data_dir: Path
    master_key: str

    def alias(self, value: str, fmt: str = "UUID") -> str:
        (record,) = self.service.create_aliases(self.vault_id, [NewValue(Secret(value), fmt)], CTX)
        return record.aliases[0].alias

    def routes(self, *documents: dict[str, Any]) -> None:
        """Store route attributes (as `vaultswitch routes apply` would)."""
        self.service.apply_routes(self.vault_id, [(None, d) for d in documents], CTX)

    def proxy_url(self, proxy: ProxyServer, *, password: str | None = None) -> str:
        return f"http://{self.username}:{password or self.password}@127.0.0.1:{proxy.port}"

    def basic(self, password: str | None = None) -> str:
        raw = f"{self.username}:{password or self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[Vault]:
    """A vault on SQLite in the test's data dir."""
    yield from _vault(tmp_path, None)


@pytest.fixture
def pg_vault(tmp_path: Path, postgres_url: str) -> Iterator[Vault]:
    """A vault on a fresh PostgreSQL database."""
    yield from _vault(tmp_path, postgres_url)


def _vault(tmp_path: Path, database_url: str | None) -> Iterator[Vault]:
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    settings = VaultSettings(
        data_dir=tmp_path / "data", database_url=database_url, master_key=Secret(key)
    )
    service = VaultService.open(settings)
    try:
        info = service.create_vault("proxy tests")
        username, password = service.create_access_credentials(info.vault_id)
        yield Vault(service, info.vault_id, username, password.reveal(), settings.data_dir, key)
    finally:
        service.close()


# ---------------------------------------------------------------- the recording upstream


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    client_port: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Recorder:
    """An ASGI app that keeps every request it gets and answers as the path says:

    - ``/big?size=N``: N bytes (in 64 KiB chunks, no Content-Length);
    - ``/card``: ``{"card": {"number": <the query's number>}}`` (for RESPONSE entries);
    - anything else: ``{"ok": true, "path": ...}``.
    """

    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        query = scope["query_string"].decode()
        seen = Received(
            scope["method"],
            scope["path"],
            query,
            {k.decode().lower(): v.decode() for k, v in scope["headers"]},
            b"".join(chunks),
            scope["client"][1],
        )
        with self.lock:
            self.received.append(seen)
        if scope["path"] == "/big":
            size = int(query.split("=", 1)[1])
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/octet-stream")],
                }
            )
            sent = 0
            while sent < size:
                part = min(65536, size - sent)
                await send({"type": "http.response.body", "body": b"x" * part, "more_body": True})
                sent += part
            await send({"type": "http.response.body", "body": b""})
            return
        if scope["path"] == "/card":
            body = json.dumps({"card": {"number": query.split("=", 1)[1]}}).encode()
        else:
            body = json.dumps({"ok": True, "path": scope["path"], "size": len(seen.body)}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 201,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def last(self) -> Received:
        with self.lock:
            return self.received[-1]


@dataclass
class Upstream:
    recorder: Recorder
    server: LiveServer
    ca: trustme.CA
    ca_file: Path

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[Upstream]:
    """An HTTPS upstream on 127.0.0.1 with a certificate of its own test CA."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile, ca_file = (
        tmp_path / "upstream.pem",
        tmp_path / "upstream.key",
        tmp_path / "upstream-ca.pem",
    )
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    ca.cert_pem.write_to_path(str(ca_file))
    recorder = Recorder()
    server = LiveServer(recorder, certfile=certfile, keyfile=keyfile).start()
    try:
        yield Upstream(recorder, server, ca, ca_file)
    finally:
        server.stop()


@pytest.fixture
def plain_upstream() -> Iterator[Upstream]:
    """The same recorder over plain HTTP."""
    recorder = Recorder()
    server = LiveServer(recorder).start()
    try:
        yield Upstream(recorder, server, None, Path())  # type: ignore[arg-type]
    finally:
        server.stop()


# ---------------------------------------------------------------- the proxies


def proxy_settings(upstream: Upstream | None = None, **kw: Any) -> ProxySettings:
    if upstream is not None and upstream.ca is not None:
        kw.setdefault("upstream_ca_file", upstream.ca_file)
    kw.setdefault("routes_refresh_seconds", 0)
    return ProxySettings(**kw)


def start_proxy(edge: str, vault: Vault, settings: ProxySettings) -> ProxyServer:
    ca = LocalCA.open(vault.data_dir) if edge == "outbound" else None
    proxy = make_edge(edge, settings, vault.service, ca=ca)  # type: ignore[arg-type]
    return ProxyServer(proxy).start()


def proxy_ca_file(vault: Vault) -> Path:
    from vaultswitch.proxy.ca import CA_CERT_FILE

    return vault.data_dir / CA_CERT_FILE


JSON_ONLY = [
    {
        "expression": {
            "field": "ContentType",
            "type": "string",
            "operator": "equals",
            "values": ["application/json"],
        }
    }
]


def enrich_route(
    host: str = r"127\.0\.0\.1", path: str = "$.card.number", rules: list[Any] | None = None
) -> dict[str, Any]:
    """An outbound route revealing ``path`` in request bodies to ``host`` (JSON ones only
    by default)."""
    return {
        "destination_override_endpoint": "*",
        "host_endpoint": host,
        "protocol": "http",
        "source_endpoint": "*",
        "tags": {"name": "reveal-card"},
        "entries": [
            {
                "phase": "REQUEST",
                "operation": "ENRICH",
                "token_manager": "PERSISTENT",
                "public_token_generator": "UUID",
                "transformer": "JSON_PATH",
                "transformer_config": [path],
                "targets": ["body"],
                "classifiers": {},
                "config": {"condition": "AND", "rules": JSON_ONLY if rules is None else rules},
            }
        ],
    }


def redact_route(destination: str, *, phase: str = "REQUEST") -> dict[str, Any]:
    """An inbound route to ``destination`` redacting ``$.card.number`` (PAN_ALIAS...)."""
    return {
        "destination_override_endpoint": destination,
        "host_endpoint": "*",
        "protocol": "http",
        "source_endpoint": "*",
        "tags": {"name": "redact-card"},
        "entries": [
            {
                "phase": phase,
                "operation": "REDACT",
                "token_manager": "PERSISTENT",
                "public_token_generator": "UUID",
                "transformer": "JSON_PATH",
                "transformer_config": ["$.card.number"],
                "targets": ["body"],
                "classifiers": {},
                "config": {"condition": "AND", "rules": []},
            }
        ],
    }
