"""The listening socket of a server (the sandbox processor, the proxies): bound before the
server starts, so port 0 gives a free port whose URL can be printed."""

from __future__ import annotations

import socket


class ServeError(Exception):
    """The server cannot start as configured; ``hint`` says what to change."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def bind_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket on host:port (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ServeError(
            f"cannot listen on {host}:{port} ({exc.strerror or type(exc).__name__})",
            "pick another port with --port (0 = any free port) or stop what is using it; "
            "--host must be an address of this machine (default 127.0.0.1)",
        ) from None
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"
