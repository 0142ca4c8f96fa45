"""A minimal loopback server that answers like VGS, for benchmarks: run it in its own process
so it does not share the GIL with the client being measured.

    python bench/_vgs_stub.py PORT

Raw ASGI on uvicorn (httptools, uvloop when installed): OAuth token endpoint and Vault API v2
``POST /{vault}/aliases`` and ``GET /{vault}/aliases/{alias}``; bearer tokens are checked.
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

TOKEN_PATH = "/auth/realms/vgs/protocol/openid-connect/token"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_tokens: set[str] = set()
_records: dict[str, bytes] = {}
_counter = 0


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _reply(send: Send, status: int, payload: bytes) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"vgs-request-id", secrets.token_hex(16).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


_NOT_AUTHORIZED = json.dumps({"errors": [{"status": 401, "code": "UNAUTHORIZED"}]}).encode()
_NOT_FOUND = json.dumps({"errors": [{"status": 404, "code": "ALIAS_NOT_FOUND"}]}).encode()


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    global _counter
    if scope["type"] != "http":
        return
    path: str = scope["path"]
    method: str = scope["method"]
    body = await _body(receive)
    if path == TOKEN_PATH:
        token = "eyJ" + secrets.token_urlsafe(24)
        _tokens.add(token)
        payload = {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
        await _reply(send, 200, json.dumps(payload).encode())
        return
    auth = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
    if not auth.startswith(b"Bearer ") or auth[7:].decode() not in _tokens:
        await _reply(send, 401, _NOT_AUTHORIZED)
        return
    parts = path.strip("/").split("/")
    if method == "POST" and len(parts) == 2 and parts[1] == "aliases":
        out = []
        for item in json.loads(body)["data"]:
            _counter += 1
            alias = f"tok_sandbox_{_counter:022d}"
            record = {
                "value": item["value"],
                "classifiers": item.get("classifiers", []),
                "aliases": [{"alias": alias, "format": item.get("format", "UUID")}],
                "created_at": "2026-01-01T00:00:00Z",
                "storage": item.get("storage", "PERSISTENT"),
            }
            _records[alias] = json.dumps(record).encode()
            out.append(record)
        await _reply(send, 201, json.dumps({"data": out}).encode())
        return
    if method == "GET" and len(parts) == 3 and parts[1] == "aliases":
        stored = _records.get(parts[2])
        if stored is None:
            await _reply(send, 404, _NOT_FOUND)
            return
        await _reply(send, 200, b'{"data":[' + stored + b"]}")
        return
    await _reply(send, 404, _NOT_FOUND)


def main() -> None:
    import uvicorn

    port = int(sys.argv[1])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_process(port: int | None = None) -> tuple[subprocess.Popen[bytes], int]:
    """Start this server in a child process and wait until it accepts connections."""
    port = port or free_port()
    process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), str(port)])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the VGS stub process exited during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the VGS stub did not start within 20 s")


if __name__ == "__main__":
    main()
