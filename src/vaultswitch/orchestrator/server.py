"""Running the orchestrator with uvicorn: one process, or several workers on PostgreSQL +
Redis (as the vault does)."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable
from typing import TextIO, cast

import uvicorn

from .settings import ENV_PREFIX, OrchestratorSettings

APP_FACTORY = "vaultswitch.orchestrator.app:app_from_env"

# settings a worker process needs, exported before uvicorn spawns workers
_EXPORTED = (
    "data_dir",
    "database_url",
    "redis_url",
    "redis_prefix",
    "master_key_file",
    "admin_api_key_file",
    "log_level",
    "cell_id",
    "internal_vault_base_url",
    "internal_vault_auth_base_url",
    "internal_vault_id",
    "internal_vault_client_id",
)
_EXPORTED_SECRETS = ("master_key", "admin_api_key", "internal_vault_client_secret")


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
    """Put the effective settings into the environment so uvicorn's workers read the same."""
    for name in _EXPORTED:
        value = getattr(settings, name)
        if name == "master_key_file":
            value = settings.resolved_master_key_file()
        elif name == "admin_api_key_file":
            value = settings.resolved_admin_api_key_file()
        if value is not None:
            os.environ[f"{ENV_PREFIX}{name.upper()}"] = str(value)
    for name in _EXPORTED_SECRETS:
        secret = getattr(settings, name)
        if secret is not None:
            os.environ[f"{ENV_PREFIX}{name.upper()}"] = secret.reveal()


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
