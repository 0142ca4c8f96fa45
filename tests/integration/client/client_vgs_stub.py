"""A small loopback HTTP server that answers like VGS (OAuth token endpoint + Vault API v2
aliases under a ``/{vault_id}/`` path prefix), with counters and scripted faults for tests.

Not a vault: values live in a dict, tokens are random strings. Faults are consumed in order
by the first request whose route matches (``"token"``, ``"create"``, ``"reveal"``,
``"reveal_many"``, ``"delete"``, ``"batch_delete"``, or ``"*"``).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

TOKEN_PATH = "/auth/realms/vgs/protocol/openid-connect/token"


@dataclass
class Fault:
    """What to do instead of (or before) answering normally."""

    route: str
    status: int | None = None  # answer with this status (VGS error shape unless body set)
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # wait before answering (read timeouts)
    close: bool = False  # close the connection without answering
    then_normal: bool = False  # after the delay, answer normally


@dataclass
class Exchange:
    method: str
    path: str
    route: str
    status: int
    authorization: str | None


class VgsStub:
    """Start with :meth:`start`, stop with :meth:`stop`; ``base_url`` is ``http://127.0.0.1:PORT/``."""

    def __init__(
        self,
        accounts: dict[str, str] | None = None,
        vaults: tuple[str, ...] = ("tntabc12345",),
        expires_in: int = 300,
    ) -> None:
        self.accounts = dict(accounts or {"client-id-1": "client-secret-1"})
        self.vaults = set(vaults)
        self.expires_in = expires_in
        self.tokens: dict[str, str] = {}  # token -> client id
        self.issued: list[str] = []  # every token ever issued
        self.records: dict[str, dict[str, Any]] = {}  # alias -> record
        self.counts: Counter[str] = Counter()
        self.exchanges: list[Exchange] = []
        self.faults: list[Fault] = []
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- control -----------------------------------------------------------------------------

    def start(self) -> VgsStub:
        stub = self

        class Handler(_Handler):
            owner = stub

        server = _Server(("127.0.0.1", 0), Handler)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def vault_base_template(self) -> str:
        """Base URL template with the vault id as a path prefix."""
        return f"http://127.0.0.1:{self.port}/{{vault_id}}/"

    def fault(self, route: str, **kwargs: Any) -> None:
        with self.lock:
            self.faults.append(Fault(route, **kwargs))

    def revoke_tokens(self) -> None:
        """Make every token issued so far invalid (the vault will answer 401)."""
        with self.lock:
            self.tokens.clear()

    def routes(self, route: str) -> int:
        return self.counts[route]

    # --- internals used by the handler ------------------------------------------------------

    def take_fault(self, route: str) -> Fault | None:
        with self.lock:
            for index, fault in enumerate(self.faults):
                if fault.route in (route, "*"):
                    return self.faults.pop(index)
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # many concurrent connects in the single-flight tests


def _route(method: str, path: str) -> tuple[str, str | None, str | None]:
    """(route, vault_id, alias) of a request path."""
    if path == TOKEN_PATH:
        return "token", None, None
    parts = [unquote(p) for p in path.strip("/").split("/")]
    if len(parts) >= 2 and parts[1] == "aliases":
        vault = parts[0]
        if len(parts) == 2:
            return ("create" if method == "POST" else "reveal_many"), vault, None
        if len(parts) == 3 and parts[2] == "delete" and method == "POST":
            return "batch_delete", vault, None
        if len(parts) == 3:
            return ("delete" if method == "DELETE" else "reveal"), vault, parts[2]
    return "unknown", None, None


def _error(status: int, code: str, detail: str) -> bytes:
    return json.dumps(
        {
            "errors": [{"status": status, "title": code, "code": code, "detail": detail}],
            "trace_id": secrets.token_hex(8),
        }
    ).encode()


class _Handler(BaseHTTPRequestHandler):
    owner: VgsStub
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        stub = self.owner
        split = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        route, vault, alias = _route(self.command, split.path)
        with stub.lock:
            stub.counts[route] += 1
        fault = stub.take_fault(route)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.close:
                self._record(route, 0)
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            if not fault.then_normal:
                status = fault.status or 500
                payload = (
                    fault.body if fault.body is not None else _error(status, "FAULT", "scripted")
                )
                self._send(route, status, payload, fault.headers)
                return
        if route == "token":
            self._token(body)
            return
        if route == "unknown" or vault is None:
            self._send(route, 404, _error(404, "NOT_FOUND", "no such endpoint"))
            return
        auth = self.headers.get("authorization") or ""
        with stub.lock:
            valid = auth.startswith("Bearer ") and auth[7:] in stub.tokens
        if not valid:
            self._send(route, 401, _error(401, "UNAUTHORIZED", "invalid or expired token"))
            return
        if vault not in stub.vaults:
            self._send(route, 404, _error(404, "VAULT_NOT_FOUND", "no such vault"))
            return
        self._vault(route, alias, body, split.query)

    def _token(self, body: bytes) -> None:
        stub = self.owner
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        client_id = form.get("client_id", "")
        if form.get("grant_type") != "client_credentials":
            payload = {"error": "unsupported_grant_type", "error_description": "bad grant"}
            self._send("token", 400, json.dumps(payload).encode())
            return
        if stub.accounts.get(client_id) != form.get("client_secret"):
            payload = {
                "error": "invalid_client",
                "error_description": "Invalid client or Invalid client credentials",
            }
            self._send("token", 401, json.dumps(payload).encode())
            return
        token = "eyJ" + secrets.token_urlsafe(24)
        with stub.lock:
            stub.tokens[token] = client_id
            stub.issued.append(token)
        payload = {
            "access_token": token,
            "expires_in": stub.expires_in,
            "refresh_expires_in": 0,
            "token_type": "Bearer",
            "not-before-policy": 0,
            "scope": "aliases:read aliases:write aliases:delete",
        }
        self._send("token", 200, json.dumps(payload).encode())

    def _vault(self, route: str, alias: str | None, body: bytes, query: str) -> None:
        stub = self.owner
        if route == "create":
            try:
                items = json.loads(body)["data"]
            except (ValueError, KeyError, TypeError):
                self._send(route, 400, _error(400, "INVALID_REQUEST", "bad body"))
                return
            out = []
            for item in items:
                new_alias = "tok_sandbox_" + secrets.token_hex(11)
                record = {
                    "value": item["value"],
                    "classifiers": item.get("classifiers", []),
                    "aliases": [{"alias": new_alias, "format": item.get("format", "UUID")}],
                    "created_at": "2026-01-01T00:00:00Z",
                    "storage": item.get("storage", "PERSISTENT"),
                }
                with stub.lock:
                    stub.records[new_alias] = record
                out.append(record)
            self._send(route, 201, json.dumps({"data": out}).encode())
        elif route == "reveal":
            record = stub.records.get(alias or "")
            if record is None:
                self._send(route, 404, _error(404, "ALIAS_NOT_FOUND", "no such alias"))
                return
            self._send(route, 200, json.dumps({"data": [record]}).encode())
        elif route == "reveal_many":
            wanted = parse_qs(query).get("aliases", [""])[0].split(",")
            found = {a: stub.records[a] for a in wanted if a in stub.records}
            if len(found) != len(wanted):
                self._send(route, 404, _error(404, "ALIAS_NOT_FOUND", "no such alias"))
                return
            self._send(route, 200, json.dumps({"data": found}).encode())
        elif route == "delete":
            with stub.lock:
                gone = stub.records.pop(alias or "", None)
            if gone is None:
                self._send(route, 404, _error(404, "ALIAS_NOT_FOUND", "no such alias"))
                return
            self._send(route, 204, b"")
        elif route == "batch_delete":
            for name in json.loads(body).get("data", []):
                with stub.lock:
                    stub.records.pop(name, None)
            self._send(route, 204, b"")

    def _send(
        self, route: str, status: int, payload: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self._record(route, status)
        self.send_response(status)
        self.send_header("vgs-request-id", secrets.token_hex(16))
        if payload:
            self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        # headers and body in one write
        self._headers_buffer.append(b"\r\n" + payload)
        self.flush_headers()

    def _record(self, route: str, status: int) -> None:
        with self.owner.lock:
            self.owner.exchanges.append(
                Exchange(
                    self.command,
                    urlsplit(self.path).path,
                    route,
                    status,
                    self.headers.get("authorization"),
                )
            )
