"""Running the vault server with uvicorn: one process, or several workers on PostgreSQL + Redis."""

from __future__ import annotations

import gc
import os
import sys
from typing import TextIO, cast

import uvicorn
from starlette.types import ASGIApp

from vaultswitch.vault.settings import VaultSettings

APP_FACTORY = "vaultswitch.vault.http.server:app_from_env"

# settings a worker process needs, exported as VAULTSWITCH_* before uvicorn spawns workers
_EXPORTED = (
    "data_dir",
    "database_url",
    "redis_url",
    "redis_prefix",
    "master_key_file",
    "environment",
    "volatile_ttl",
    "rate_limit_per_minute",
    "max_body_bytes",
    "max_items",
    "default_token_lifespan",
    "log_level",
)


class ServeError(Exception):
    """The server cannot start as configured; `hint` says what to change."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


class StderrStream:
    """Writes to whatever sys.stderr is at write time (survives stream swaps in tests)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str = "info", file: TextIO | StderrStream | None = None) -> None:
    """Scrubbed structlog JSON lines (one object per event) on stdout, or on `file`."""
    from vaultswitch.logs import configure_logging as configure

    configure(level, stream=cast(TextIO, file or sys.stdout))


GC_GEN0_THRESHOLD = 10_000


def tune_gc() -> None:
    """Move the start-up heap out of the collector's way and collect young objects less often.

    After start-up the process holds a large, long-lived object graph (SQLAlchemy
    metadata, Starlette, cryptography, ...). Every full collection would walk it
    again; `gc.freeze()` parks it in the permanent generation. Requests allocate
    many short-lived objects (freed by reference counting), so a higher
    generation-0 threshold runs the cycle collector less often.
    """
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)


def check_multi_worker(settings: VaultSettings) -> None:
    """Several workers share state only through PostgreSQL (data) and Redis (limits, VOLATILE)."""
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
            "several worker processes cannot share a SQLite file, in-memory rate limits or "
            "in-memory VOLATILE storage; pass the missing URL(s) or run with --workers 1",
        )


def prepare(settings: VaultSettings) -> None:
    """Run migrations and create the master key and token-signing key once, before workers start."""
    from vaultswitch.vault.core.service import VaultService
    from vaultswitch.vault.http.oauth import TokenIssuer

    service = VaultService.open(settings)
    try:
        TokenIssuer(service)
    finally:
        service.close()


def export_settings(settings: VaultSettings) -> None:
    """Put the effective settings into this process's env so uvicorn's workers read the same."""
    for name in _EXPORTED:
        value = getattr(settings, name)
        if name == "master_key_file":
            value = settings.resolved_master_key_file()
        if value is not None:
            os.environ[f"VAULTSWITCH_{name.upper()}"] = str(value)
    if settings.master_key is not None:
        os.environ["VAULTSWITCH_MASTER_KEY"] = settings.master_key.reveal()


def app_from_env() -> ASGIApp:
    """Import-string factory for uvicorn workers: settings come from `VAULTSWITCH_*` env."""
    from vaultswitch.vault.http.app import create_app

    settings = VaultSettings()
    configure_logging(settings.log_level)
    app = create_app(settings)
    tune_gc()
    return app


def serve(settings: VaultSettings) -> None:
    """Run the server until interrupted (blocking)."""
    check_multi_worker(settings)
    configure_logging(settings.log_level)
    common = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level.lower(),
        "access_log": False,
        "server_header": False,
        "lifespan": "on",
    }
    if settings.workers == 1:
        from vaultswitch.vault.http.app import create_app

        app = create_app(settings)
        tune_gc()
        uvicorn.run(app, **common)  # type: ignore[arg-type]
        return
    prepare(settings)
    export_settings(settings)
    uvicorn.run(APP_FACTORY, factory=True, workers=settings.workers, **common)  # type: ignore[arg-type]
