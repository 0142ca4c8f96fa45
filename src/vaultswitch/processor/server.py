"""Running the sandbox processor with uvicorn: one process (its state is in memory).

The socket is bound before uvicorn starts, so port 0 means any free port and the
bound URL is known; ``on_ready`` receives it once the server accepts requests.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from typing import TextIO, cast

import uvicorn

from vaultswitch.listening import ServeError, bind_socket, url_of
from vaultswitch.processor.settings import ProcessorSettings


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._on_ready()


def configure_logging(level: str = "info", stream: TextIO | None = None) -> None:
    """Scrubbed structlog JSON lines on stderr (stdout carries only the bound URL)."""
    from vaultswitch.logs import configure_logging as configure

    configure(level, stream=cast(TextIO, stream or sys.stderr))


def serve(settings: ProcessorSettings, *, on_ready: Callable[[str], None] | None = None) -> None:
    """Run the processor until interrupted (blocking); ``on_ready(url)`` once it listens."""
    from vaultswitch.processor.app import create_app

    try:
        app = create_app(settings)
    except ValueError as exc:
        raise ServeError(
            str(exc), "pass --api-key KEY or set VAULTSWITCH_PROCESSOR_API_KEY"
        ) from None
    configure_logging(settings.log_level)
    sock = bind_socket(settings.host, settings.port)
    url = url_of(sock)
    config = uvicorn.Config(
        app,
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's loggers go through the set-up above
        access_log=False,  # the app writes its own request lines
        server_header=False,
        lifespan="off",
        timeout_graceful_shutdown=5,
    )
    server = _Server(config, lambda: on_ready(url) if on_ready else None)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    if not server.started:
        raise ServeError(
            f"the processor did not start on {url}",
            "see the log lines above; try another --port (0 = any free port)",
        )
