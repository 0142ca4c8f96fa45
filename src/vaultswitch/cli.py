"""The `vaultswitch` command: `up` (everything on one machine), `explain`, and `vault ...`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from vaultswitch import __version__
from vaultswitch.orchestrator.cli import orchestrator_app
from vaultswitch.processor.cli import processor_app
from vaultswitch.proxy.cli import routes_app
from vaultswitch.proxy.server_cli import proxy_server_app
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
app.add_typer(routes_app, name="routes")
app.add_typer(proxy_server_app, name="proxy")
console = Console(stderr=True)

# the options of every command that talks to a running orchestrator (ops/target.py)
UpDataDir = Annotated[
    Path, typer.Option("--data-dir", help="Data directory of `up` (default ./.vaultswitch).")
]
OrchestratorUrl = Annotated[
    str | None,
    typer.Option("--orchestrator-url", help="Env VAULTSWITCH_ORCHESTRATOR_URL; else up.json."),
]
ApiKey = Annotated[
    str | None, typer.Option("--api-key", help="Env VAULTSWITCH_API_KEY; else up.json.")
]


PortOpt = "Port of the {} (default {}; 0 = any free port)."


@app.command()
def up(
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Data directory (default ./.vaultswitch).")
    ] = Path(".vaultswitch"),
    host: Annotated[str, typer.Option(help="Bind address of every server.")] = "127.0.0.1",
    vault_port: Annotated[
        int, typer.Option("--vault-port", "--port", help=PortOpt.format("vault", 8220))
    ] = 8220,
    orchestrator_port: Annotated[
        int, typer.Option("--orchestrator-port", help=PortOpt.format("orchestrator", 8221))
    ] = 8221,
    processor_port: Annotated[
        int, typer.Option("--processor-port", help=PortOpt.format("sandbox processor", 8230))
    ] = 8230,
) -> None:
    """Start the whole system on embedded defaults: the vault, the orchestrator and the
    sandbox processor (SQLite, no account). The first run sets up a merchant with VGS
    activated against the local vault; `up.json` in the data dir holds every URL and key."""
    from vaultswitch.up.command import UpOptions, run_up

    for name, port in (
        ("--vault-port", vault_port),
        ("--orchestrator-port", orchestrator_port),
        ("--processor-port", processor_port),
    ):
        if not 0 <= port <= 65535:
            console.print(f"[red]{name} must be from 0 to 65535 (0 = any free port)[/red]")
            raise typer.Exit(2)
    options = UpOptions(data_dir, host, vault_port, orchestrator_port, processor_port)
    code = run_up(options, console)
    if code:
        raise typer.Exit(code)


@app.command()
def demo(
    data_dir: UpDataDir = Path(".vaultswitch"),
    orchestrator_url: OrchestratorUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Run the whole story against a running `up`: save a card, list it masked, pay,
    pay with a decline card, delete the card."""
    from vaultswitch.ops.demo import run_demo
    from vaultswitch.ops.target import TargetError, resolve_target

    try:
        target = resolve_target(orchestrator_url, api_key, data_dir)
    except TargetError as exc:
        console.print(f"[red]{exc}[/red]\nhint: {exc.hint}")
        raise typer.Exit(2) from None
    code = run_demo(target, Console())
    if code:
        raise typer.Exit(code)


@app.command()
def doctor(
    account_id: Annotated[
        str | None,
        typer.Argument(
            help="A vault connector account of the orchestrator (default: vault_connector_id "
            "of up.json). Leave out with raw credentials."
        ),
    ] = None,
    client_id: Annotated[
        str | None, typer.Option("--client-id", help="Raw credentials: the client ID.")
    ] = None,
    client_secret: Annotated[
        str | None,
        typer.Option(
            "--client-secret",
            envvar="VAULTSWITCH_CLIENT_SECRET",
            show_envvar=True,
            help="Raw credentials: the client secret. Better set VAULTSWITCH_CLIENT_SECRET, "
            "so it is not on the command line; it is never printed.",
        ),
    ] = None,
    vault_id: Annotated[
        str | None, typer.Option("--vault-id", help="Raw credentials: the vault ID (tnt...).")
    ] = None,
    environment: Annotated[
        str | None,
        typer.Option("--environment", help="Raw credentials: sandbox (default) or live."),
    ] = None,
    vault_base_url: Annotated[
        str | None,
        typer.Option(
            "--vault-base-url", help="Raw credentials: e.g. http://HOST:PORT/{vault_id}/."
        ),
    ] = None,
    auth_base_url: Annotated[
        str | None, typer.Option("--auth-base-url", help="Raw credentials: the auth host URL.")
    ] = None,
    write: Annotated[
        bool, typer.Option("--write", help="Also insert, reveal and delete a throwaway value.")
    ] = False,
    alias: Annotated[
        str | None, typer.Option("--alias", help="Also check that this alias exists.")
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option("--storage", help="Storage --alias is read with: PERSISTENT or VOLATILE."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"ok", "checks": [...]} for scripts.')
    ] = False,
    ca_file: Annotated[
        Path | None,
        typer.Option("--ca-file", help="Raw credentials: CA bundle to trust for https URLs."),
    ] = None,
    data_dir: UpDataDir = Path(".vaultswitch"),
    orchestrator_url: OrchestratorUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Check a vault connection step by step (DNS, TCP, TLS, token, scopes, vault ID, clock;
    with --write a round trip; with --alias an alias), each with its fix. Exit status 0 only
    when every check passed, 1 otherwise, 2 for a usage error."""
    from vaultswitch.domain.secret import Secret
    from vaultswitch.ops.doctor import DoctorArgs, RawAccount, run_doctor_command

    raw = RawAccount(
        client_id,
        Secret(client_secret) if client_secret else None,
        vault_id,
        environment,
        vault_base_url,
        auth_base_url,
    )
    args = DoctorArgs(
        account_id,
        raw,
        write,
        alias,
        storage,
        as_json,
        ca_file,
        data_dir,
        orchestrator_url,
        api_key,
    )
    code = run_doctor_command(args, Console(), console)
    if code:
        raise typer.Exit(code)


@app.command("import")
def import_cards(
    file: Annotated[
        Path, typer.Argument(help="CSV (with a header line) or JSON lines file of aliases.")
    ],
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=64, help="Batches of 20 rows in flight.")
    ] = 4,
    profile_id: Annotated[
        str | None,
        typer.Option(
            "--profile-id",
            help="Profile whose vault holds the cards (default: the merchant's default profile).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the counts per status as JSON.")
    ] = False,
    fpe_aliases: Annotated[
        bool,
        typer.Option(
            "--fpe-aliases",
            help="The aliases are format-preserving and may look like card numbers (without "
            "this, such a value is refused as a raw card number and never sent).",
        ),
    ] = False,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show the progress bar.")
    ] = True,
    data_dir: UpDataDir = Path(".vaultswitch"),
    orchestrator_url: OrchestratorUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Import cards already in the vault (by alias) as payment methods, for customers found
    or created by their reference. Resumable: run the same command again after an
    interruption. Writes FILE.report.csv; never prints or writes a card number."""
    from vaultswitch.ops.import_command import run_import_command

    code = run_import_command(
        file,
        concurrency=concurrency,
        profile_id=profile_id,
        as_json=as_json,
        fpe_aliases=fpe_aliases,
        progress=progress,
        data_dir=data_dir,
        orchestrator_url=orchestrator_url,
        api_key=api_key,
    )
    if code:
        raise typer.Exit(code)


class TokenMode(StrEnum):
    """How `migrate` stores the cards in the target vault."""

    KEEP = "keep"
    SINGLE = "single"
    MULTI = "multi"


@app.command()
def migrate(
    from_account: Annotated[
        str,
        typer.Option(
            "--from",
            help='Vault connector account the cards are in ("internal": the internal vault).',
        ),
    ],
    to_account: Annotated[
        str, typer.Option("--to", help="Vault connector account to move them to.")
    ],
    customer: Annotated[
        str | None, typer.Option("--customer", help="Only this customer's payment methods.")
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, help="At most this many payment methods in all."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Read and check every card; change nothing anywhere."),
    ] = False,
    token_mode: Annotated[
        TokenMode,
        typer.Option(
            "--token-mode",
            help="keep (each payment method's shape), single or multi (tokens in the target).",
        ),
    ] = TokenMode.KEEP,
    verify: Annotated[
        bool,
        typer.Option("--verify", help="Then compare the fingerprints of both copies of each."),
    ] = False,
    delete_source: Annotated[
        bool,
        typer.Option(
            "--delete-source",
            help="Then (after --verify, implied) delete the source aliases nothing else holds.",
        ),
    ] = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=32, help="Steps in flight.")
    ] = 4,
    batch_size: Annotated[
        int,
        typer.Option("--batch-size", min=1, max=20, help="Payment methods per step (max 20)."),
    ] = 20,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Report CSV (default migrate-FROM-TO.report.csv)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show the progress bars.")
    ] = True,
    data_dir: UpDataDir = Path(".vaultswitch"),
    orchestrator_url: OrchestratorUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Move payment methods from one vault to another without asking for the cards again:
    reveal, insert into the target, switch each one atomically (payments keep working).
    Resumable: run the same command again after an interruption."""
    from vaultswitch.ops.migrate import MigrateOptions
    from vaultswitch.ops.migrate_command import run_migrate_command

    if dry_run and (verify or delete_source):
        raise typer.BadParameter(
            "a dry run moves nothing: run without --dry-run to verify or delete",
            param_hint="--dry-run",
        )
    options = MigrateOptions(
        from_account=from_account,
        to_account=to_account,
        customer=customer,
        limit=limit,
        dry_run=dry_run,
        token_mode=token_mode.value,
        verify=verify,
        delete_source=delete_source,
        concurrency=concurrency,
        batch_size=batch_size,
        report=report,
        progress=progress,
    )
    code = run_migrate_command(
        options,
        as_json=as_json,
        data_dir=data_dir,
        orchestrator_url=orchestrator_url,
        api_key=api_key,
    )
    if code:
        raise typer.Exit(code)


@app.command()
def explain(
    code: Annotated[str, typer.Argument(help="An error code, e.g. vault_not_found")],
) -> None:
    """Say what an error code means and how to fix it."""
    import difflib

    from vaultswitch.troubleshooting import all_entries, find_entries

    entries = find_entries(code)
    if not entries:
        known = sorted({entry.code for entry in all_entries()}, key=str.lower)
        close = difflib.get_close_matches(code.strip(), known, n=3, cutoff=0.6)
        message = f"unknown error code {code!r}."
        if close:
            message += f" Did you mean: {', '.join(close)}?"
        message += f"\nKnown codes: {', '.join(known)}.\nAll of them: docs/troubleshooting.md"
        typer.echo(message, err=True)
        raise typer.Exit(1)
    for entry in entries:
        typer.echo(f"{entry.code} ({entry.status_label}, {entry.where})")
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
