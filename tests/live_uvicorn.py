"""uvicorn serving an ASGI app on 127.0.0.1:<free port> in a background thread, over plain
HTTP or TLS; shared by the integration tests (tests/ is on sys.path via the root conftest)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn


class LiveServer:
    """Start with :meth:`start`, stop with :meth:`stop`; ``url`` is set from construction."""

    def __init__(
        self, app: Any, *, certfile: Path | None = None, keyfile: Path | None = None
    ) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        scheme = "https" if certfile else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        tls: dict[str, Any] = {}
        if certfile is not None:
            tls = {"ssl_certfile": str(certfile), "ssl_keyfile": str(keyfile)}
        config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False, **tls)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
