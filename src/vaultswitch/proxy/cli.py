"""`vaultswitch routes ...`: a vault's VGS routes, on the vault's store in-process.

What `vgs get routes`, `vgs apply routes` and `vgs delete routes` do against VGS:

- ``apply -f FILE --vault ID``: every route of the document (YAML or JSON, ``version: 1`` +
  ``data:``) is written, all or none: a route with an id replaces that route (or is created
  with that id), one without is created with a new id. Prints JSON.
- ``get --vault ID``: the vault's routes as the YAML document ``apply`` takes back unchanged.
- ``delete ID --vault ID``: deletes one route. Prints JSON.

Like ``vaultswitch vault ...`` commands: ``--data-dir`` / ``--database-url``, errors as JSON
``{"error", "detail", "hint"}`` on stderr (exit 1), NO_VAULT_DATA on a wrong data dir (nothing
is created), changes audited under ``cli:<OS account>``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vaultswitch.troubleshooting import runnable_hint, server_hint

if TYPE_CHECKING:
    from vaultswitch.vault.core.service import VaultService
    from vaultswitch.vault.settings import VaultSettings

routes_app = typer.Typer(
    name="routes",
    help="A vault's VGS routes (as `vgs get|apply|delete routes`), on the vault's store.",
    no_args_is_help=True,
    add_completion=False,
)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory (env VAULTSWITCH_DATA_DIR).")
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="SQLAlchemy URL (env VAULTSWITCH_DATABASE_URL)."),
]
VaultOpt = Annotated[str, typer.Option("--vault", help="Vault id (tntxxxxxxxx).")]


class _Stderr:
    """Writes to whatever sys.stderr is at write time (stdout carries the result)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _settings(data_dir: Path | None, database_url: str | None) -> VaultSettings:
    from vaultswitch.vault.settings import VaultSettings

    given: dict[str, Any] = {"data_dir": data_dir, "database_url": database_url}
    return VaultSettings(**{k: v for k, v in given.items() if v is not None})


def _fail(code: str, detail: str, settings: VaultSettings | None = None) -> typer.Exit:
    """Print the JSON error; the hint's commands carry the data dir of settings."""
    body: dict[str, str] = {"error": code, "detail": detail}
    hint = server_hint(code)
    if hint:
        body["hint"] = runnable_hint(hint, settings.data_dir_flag()) if settings else hint
    typer.echo(json.dumps(body), err=True)
    return typer.Exit(1)


@contextmanager
def _service(data_dir: Path | None, database_url: str | None) -> Iterator[VaultService]:
    """The vault service on an existing store (NO_VAULT_DATA otherwise; nothing created)."""
    from typing import TextIO, cast

    from vaultswitch.logs import configure_logging
    from vaultswitch.vault.core.errors import VaultApiError
    from vaultswitch.vault.core.service import VaultService

    settings = _settings(data_dir, database_url)
    configure_logging(settings.log_level, stream=cast(TextIO, _Stderr()))
    try:
        service = VaultService.open(settings, existing=True)
    except VaultApiError as exc:
        raise _fail(exc.code, exc.detail, settings) from None
    try:
        yield service
    except VaultApiError as exc:
        raise _fail(exc.code, exc.detail, settings) from None
    finally:
        service.close()


def _ctx() -> Any:
    from vaultswitch.vault.cli import os_account
    from vaultswitch.vault.core.models import AuditContext

    return AuditContext("cli:" + os_account(), "cli")


def _read(file: str) -> str:
    """The text of ``--file`` (``-``: stdin); a file that cannot be read is a usage error."""
    from vaultswitch.proxy.routes import RouteError

    try:
        raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        reason = "does not exist" if isinstance(exc, FileNotFoundError) else "cannot be read"
        raise typer.BadParameter(f"file {file!r} {reason}", param_hint="'--file' / '-f'") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RouteError("document", "not UTF-8 text") from None


@routes_app.command("apply")
def apply(
    file: Annotated[
        str,
        typer.Option(
            "--file",
            "-f",
            metavar="FILE",
            help="The route document (YAML or JSON, as `vgs get routes` or `routes get` "
            "print it); - reads stdin.",
        ),
    ],
    vault: VaultOpt,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create or update the routes of a document (all or none): a route with an id is
    updated (or created with that id), one without is created."""
    from vaultswitch.proxy.routes import RouteError, load_document, with_entry_ids

    try:
        document = load_document(_read(file))
    except RouteError as exc:
        raise _fail(exc.code, exc.detail, _settings(data_dir, database_url)) from None
    routes = [with_entry_ids(route) for route in document.routes]
    changes = [(route.id, route.attributes(server_fields=False)) for route in routes]
    with _service(data_dir, database_url) as service:
        results = service.apply_routes(vault, changes, _ctx())
    applied = [
        {
            "id": stored.route_id,
            "action": "created" if created else "updated",
            "name": route.name,
        }
        for route, (stored, created) in zip(routes, results, strict=True)
    ]
    typer.echo(
        json.dumps(
            {
                "vault_id": vault,
                "created": sum(1 for a in applied if a["action"] == "created"),
                "updated": sum(1 for a in applied if a["action"] == "updated"),
                "routes": applied,
            },
            indent=2,
        )
    )


@routes_app.command("get")
def get(vault: VaultOpt, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Print the vault's routes as a YAML document (`routes apply -f` takes it back)."""
    from vaultswitch.proxy.routes import RouteDocument, dump_yaml, parse_stored

    with _service(data_dir, database_url) as service:
        stored = service.list_routes(vault)
    document = RouteDocument(
        tuple(parse_stored(s.route_id, s.document, s.created_at, s.updated_at) for s in stored)
    )
    typer.echo(dump_yaml(document), nl=False)


@routes_app.command("delete")
def delete(
    route_id: Annotated[str, typer.Argument(metavar="ID", help="The route id (a UUID).")],
    vault: VaultOpt,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Delete a route of a vault."""
    from vaultswitch.vault.core.routes import check_route_id

    with _service(data_dir, database_url) as service:
        canonical = check_route_id(route_id)
        service.delete_route(vault, canonical, _ctx())
    typer.echo(json.dumps({"id": canonical, "vault_id": vault, "deleted": True}, indent=2))
