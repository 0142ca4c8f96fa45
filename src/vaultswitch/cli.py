"""The `vaultswitch` command: `up` (everything on one machine), `explain`, and `vault ...`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from vaultswitch import __version__
from vaultswitch.orchestrator.cli import orchestrator_app
from vaultswitch.processor.cli import processor_app
from vaultswitch.vault.cli import vault_app

app = typer.Typer(
    name="vaultswitch",
    help="Vault-agnostic card storage: a VGS connector and a VGS-compatible vault.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(vault_app, name="vault")
app.add_typer(processor_app, name="processor")
app.add_typer(orchestrator_app, name="orchestrator")
console = Console(stderr=True)


@app.command()
def up(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8220).")] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Data directory (default ./.vaultswitch).")
    ] = None,
) -> None:
    """Start vaultswitch on its embedded defaults: the vault on SQLite, no account needed."""
    from vaultswitch.bootstrap import ensure_default_vault
    from vaultswitch.vault.http.server import ServeError, serve
    from vaultswitch.vault.settings import VaultSettings

    given: dict[str, Any] = {"host": host, "port": port, "data_dir": data_dir}
    settings = VaultSettings(**{k: v for k, v in given.items() if v is not None})
    if settings.workers != 1:
        settings = settings.model_copy(update={"workers": 1})
    boot = ensure_default_vault(settings)
    base = f"http://{settings.host}:{settings.port}"
    table = Table.grid(padding=(0, 2))
    table.add_row("vault id", boot.vault_id)
    table.add_row("vault API (v2)", f"{base}/{boot.vault_id}/aliases")
    table.add_row("connector vault_base_url", f"{base}/{{vault_id}}/")
    table.add_row("connector auth_base_url", f"{base}/")
    table.add_row("data", str(settings.data_dir.resolve()))
    if boot.client_secret is not None:
        table.add_row("client id", boot.client_id or "")
        table.add_row("client secret", boot.client_secret.reveal())
        table.add_row("v1 username", boot.username or "")
        table.add_row("v1 password", (boot.password.reveal() if boot.password else ""))
        note = (
            "First start: these credentials are shown once and stored only hashed. "
            "Create more with `vaultswitch vault service-account --vault "
            f"{boot.vault_id}`."
        )
    else:
        note = (
            "Credentials were shown on the first start. New ones: "
            f"`vaultswitch vault service-account --vault {boot.vault_id}`."
        )
    console.print(Panel(table, title=f"vaultswitch {__version__} — vault on {base}"))
    console.print(note)
    try:
        serve(settings)
    except ServeError as exc:
        console.print(f"[red]cannot start:[/red] {exc}\nhint: {exc.hint}")
        raise typer.Exit(2) from None


@app.command()
def explain(
    code: Annotated[str, typer.Argument(help="An error code, e.g. vault_not_found")],
) -> None:
    """Say what an error code means and how to fix it."""
    from vaultswitch.troubleshooting import find_entries

    entries = find_entries(code)
    if not entries:
        console.print(f"unknown error code {code!r}; see docs/troubleshooting.md")
        raise typer.Exit(1)
    for entry in entries:
        typer.echo(f"{entry.code} (HTTP {entry.status}, {entry.where})")
        typer.echo(f"  {entry.message}\n  hint: {entry.hint}")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
