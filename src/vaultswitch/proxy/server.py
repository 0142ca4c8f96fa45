"""Running a proxy edge: a listening socket, an event loop (uvloop when installed), the edge.

- :func:`serve` runs one edge in the foreground until SIGINT / SIGTERM (``vaultswitch proxy
  outbound|inbound serve``); ``on_ready(url)`` gets the bound URL once it accepts
  connections (port 0 = any free port).
- :class:`ProxyServer` runs one edge on its own loop in a background thread (tests, and the
  processes that embed a proxy).

The proxies open the vault's store in-process (the data dir's or ``--database-url``'s): they
need no vault server, and never go through the vault's HTTP layer.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
import threading
from collections.abc import Callable
from typing import Literal, TextIO, cast

from vaultswitch.listening import bind_socket, url_of
from vaultswitch.proxy.ca import LocalCA
from vaultswitch.proxy.edge import Edge
from vaultswitch.proxy.inbound import InboundProxy
from vaultswitch.proxy.outbound import OutboundProxy
from vaultswitch.proxy.runtime import ProxyRuntime
from vaultswitch.proxy.seam import Pipeline, RouteSource
from vaultswitch.proxy.settings import DEFAULT_INBOUND_PORT, DEFAULT_OUTBOUND_PORT, ProxySettings
from vaultswitch.vault.core.service import VaultService

EdgeName = Literal["inbound", "outbound"]


def default_port(edge: EdgeName) -> int:
    return DEFAULT_OUTBOUND_PORT if edge == "outbound" else DEFAULT_INBOUND_PORT


def make_edge(
    edge: EdgeName,
    settings: ProxySettings,
    service: VaultService,
    *,
    ca: LocalCA | None = None,
    pipeline: Pipeline | None = None,
    routes: RouteSource | None = None,
) -> Edge:
    """The inbound or outbound proxy over the vault service (the CA: the data dir's)."""
    if edge == "outbound":
        runtime = ProxyRuntime(settings, service, pipeline=pipeline, routes=routes)
        if ca is None:
            ca = LocalCA.open(service.settings.data_dir, cache_size=settings.leaf_cache_size)
        return OutboundProxy(runtime, ca)
    runtime = ProxyRuntime(settings, service, pipeline=pipeline, routes=routes, unrestricted=True)
    return InboundProxy(runtime)


def new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


async def _run(
    edge: Edge, sock: socket.socket, stop: asyncio.Event, ready: Callable[[], None]
) -> None:
    server = await asyncio.start_server(edge.handle, sock=sock, limit=2**20, backlog=1024)
    try:
        ready()
        await stop.wait()
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 5)
        await edge.runtime.close()


def configure_logging(level: str = "info", stream: TextIO | None = None) -> None:
    """Scrubbed structlog JSON lines on stderr (stdout carries only the bound URL)."""
    from vaultswitch.logs import configure_logging as configure

    configure(level, stream=cast(TextIO, stream or sys.stderr))


def serve(
    edge: Edge, settings: ProxySettings, port: int, *, on_ready: Callable[[str], None] | None = None
) -> None:
    """Run the edge until SIGINT / SIGTERM (blocking); ``on_ready(url)`` once it listens."""
    sock = bind_socket(settings.host, port)
    url = url_of(sock)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        await _run(edge, sock, stop, lambda: on_ready(url) if on_ready else None)

    try:
        with asyncio.Runner(loop_factory=new_loop) as runner:
            runner.run(main())
    finally:
        sock.close()


class ProxyServer:
    """One proxy edge on its own event loop in a background thread."""

    def __init__(self, edge: Edge, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.edge = edge
        self.sock = bind_socket(host, port)
        self.url = url_of(self.sock)
        self.port = int(self.sock.getsockname()[1])
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name=f"proxy-{edge.name}", daemon=True)

    def _main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await _run(self.edge, self.sock, self._stop, self._ready.set)

        try:
            with asyncio.Runner(loop_factory=new_loop) as runner:  # cancels what is left
                runner.run(main())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    def start(self) -> ProxyServer:
        self._thread.start()
        if not self._ready.wait(10) or self._error is not None:
            raise RuntimeError(f"the {self.edge.name} proxy did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout=10)
        self.sock.close()

    def __enter__(self) -> ProxyServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
