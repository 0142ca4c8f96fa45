"""Running the orchestrator with uvicorn: one process, or several workers on PostgreSQL +
Redis (as the vault does)."""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Callable
from typing import TextIO, cast

import uvicorn

from vaultswitch.domain.secret import Secret

from .settings import ENV_PREFIX, OrchestratorSettings

APP_FACTORY = "vaultswitch.orchestrator.app:app_from_env"

#: settings only the parent process uses (it binds the socket and starts the workers); a
#: worker process reads every other one from the environment the parent exports
_PARENT_ONLY = frozenset({"host", "port", "workers"})


class ServeError(Exception):
    """The server cannot start as configured; ``hint`` says what to change."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def configure_logging(level: str = "info", file: TextIO | None = None) -> None:
    """Scrubbed structlog JSON lines on stdout (or ``file``)."""
    from vaultswitch.logs import configure_logging as configure

    configure(level, stream=cast(TextIO, file or sys.stdout))


def check_multi_worker(settings: OrchestratorSettings) -> None:
    """Several workers share state only through PostgreSQL (data) and Redis (tokens)."""
    if settings.workers < 1:
        raise ServeError("--workers must be at least 1", "use --workers 1 (default) or more")
    if settings.workers == 1:
        return
    missing = []
    if not settings.resolved_database_url().startswith("postgresql"):
        missing.append("PostgreSQL (--database-url postgresql://...)")
    if not settings.redis_url:
        missing.append("Redis (--redis-url redis://...)")
    if missing:
        raise ServeError(
            f"--workers {settings.workers} needs " + " and ".join(missing),
            "several worker processes cannot share a SQLite file or an in-memory token "
            "cache; pass the missing URL(s) or run with --workers 1",
        )


def export_settings(settings: OrchestratorSettings) -> None:
    """Put the effective settings into the environment so uvicorn's workers read the same
    (every setting, so that one given to serve() is never lost in a worker)."""
    for name in OrchestratorSettings.model_fields:
        if name in _PARENT_ONLY:
            continue
        value = getattr(settings, name)
        if name == "master_key_file":
            value = settings.resolved_master_key_file()
        elif name == "admin_api_key_file":
            value = settings.resolved_admin_api_key_file()
        if value is None:
            continue
        if isinstance(value, Secret):
            text = value.reveal()
        elif isinstance(value, list | tuple | dict):
            text = json.dumps(value)  # how pydantic-settings reads complex values
        else:
            text = str(value)
        os.environ[f"{ENV_PREFIX}{name.upper()}"] = text


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket (port 0 = any free port; read it back from getsockname())."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(settings: OrchestratorSettings, *, on_bound: Callable[[int], None] | None = None) -> None:
    """Run until interrupted (blocking). Port 0 binds a free port and logs it."""
    check_multi_worker(settings)
    configure_logging(settings.log_level)
    import structlog

    from .app import create_app, open_context

    log = structlog.get_logger("vaultswitch.orchestrator")
    sock = bind_socket(settings.host, settings.port)
    port = sock.getsockname()[1]
    log.info(
        "orchestrator.listening", url=f"http://{settings.host}:{port}", workers=settings.workers
    )
    if on_bound is not None:
        on_bound(port)
    common = {
        "log_level": settings.log_level.lower(),
        "access_log": False,
        "server_header": False,
        "lifespan": "on",
    }
    if settings.workers == 1:
        app = create_app(settings)
        server = uvicorn.Server(uvicorn.Config(app, **common))  # type: ignore[arg-type]
        server.run(sockets=[sock])
        return
    open_context(settings).db.close()  # migrate and create the key files once, before workers
    export_settings(settings)
    config = uvicorn.Config(APP_FACTORY, factory=True, workers=settings.workers, **common)  # type: ignore[arg-type]
    from uvicorn.supervisors import Multiprocess

    Multiprocess(config, sockets=[sock]).run()
