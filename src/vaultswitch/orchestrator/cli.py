"""`vaultswitch orchestrator ...`: run the orchestrator server, migrate its database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from .settings import OrchestratorSettings

orchestrator_app = typer.Typer(
    name="orchestrator",
    help="Run the Hyperswitch-shaped orchestrator (merchants, profiles, connector accounts).",
    no_args_is_help=True,
    add_completion=False,
)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (env VAULTSWITCH_ORCHESTRATOR_DATA_DIR)."),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="SQLAlchemy URL (env VAULTSWITCH_ORCHESTRATOR_DATABASE_URL)."
    ),
]


def _settings(**given: Any) -> OrchestratorSettings:
    """Settings with CLI flags taking precedence (None means: not given)."""
    return OrchestratorSettings(**{k: v for k, v in given.items() if v is not None})


def _fail(code: str, detail: str, hint: str, exit_code: int = 2) -> typer.Exit:
    typer.echo(json.dumps({"error": code, "detail": detail, "hint": hint}), err=True)
    return typer.Exit(exit_code)


@orchestrator_app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (default 8221; 0 = any free port).")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    redis_url: Annotated[
        str | None,
        typer.Option("--redis-url", help="Redis URL (env VAULTSWITCH_ORCHESTRATOR_REDIS_URL)."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes; >1 needs PostgreSQL and Redis.")
    ] = None,
    log_level: Annotated[str | None, typer.Option("--log-level")] = None,
) -> None:
    """Run the orchestrator API server (OpenAPI at /openapi.json, docs at /docs)."""
    from .server import ServeError
    from .server import serve as run

    settings = _settings(
        host=host,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        redis_url=redis_url,
        workers=workers,
        log_level=log_level,
    )
    try:
        run(settings)
    except ServeError as exc:
        raise _fail("CANNOT_START", str(exc), exc.hint) from None


@orchestrator_app.command()
def migrate(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Bring the orchestrator database schema to the newest version."""
    from .db import Database

    settings = _settings(data_dir=data_dir, database_url=database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url())
    try:
        db.migrate()
    finally:
        db.close()
    typer.echo(json.dumps({"migrated": True, "database": db.engine.url.render_as_string()}))
