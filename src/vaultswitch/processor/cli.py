"""`vaultswitch processor ...`: run the sandbox card processor."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from vaultswitch.domain.secret import Secret

processor_app = typer.Typer(
    name="processor",
    help="Run the sandbox card processor: an HTTP authorize API with fixed outcome cards.",
    no_args_is_help=True,
    add_completion=False,
)


#: settings field -> the flag (or variable) a user sets it with
_FLAGS = {
    "host": "--host",
    "port": "--port",
    "api_key": "--api-key / VAULTSWITCH_PROCESSOR_API_KEY",
    "api_keys": "--api-key / VAULTSWITCH_PROCESSOR_API_KEYS",
    "latency_ms": "--latency-ms",
    "log_level": "--log-level",
}


def _fail(message: str, hint: str) -> typer.Exit:
    typer.echo(f"error: {message}\nhint: {hint}", err=True)
    return typer.Exit(2)


@processor_app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(help="Bind address (default 127.0.0.1; env VAULTSWITCH_PROCESSOR_HOST)."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            help="Port (default 8230; 0 = any free port; env VAULTSWITCH_PROCESSOR_PORT)."
        ),
    ] = None,
    api_key: Annotated[
        list[str] | None,
        typer.Option(
            "--api-key",
            help="An accepted API key (repeatable; env VAULTSWITCH_PROCESSOR_API_KEY). "
            "Without one, a key is generated and shown once.",
        ),
    ] = None,
    latency_ms: Annotated[
        int | None, typer.Option("--latency-ms", help="Simulated time per authorization.")
    ] = None,
    log_level: Annotated[str | None, typer.Option("--log-level")] = None,
) -> None:
    """Run the sandbox processor; prints its URL on stdout once it accepts requests.

    Authorizations live in memory: they are gone when it stops.
    """
    from vaultswitch.listening import ServeError
    from vaultswitch.processor.server import serve as run
    from vaultswitch.processor.settings import ProcessorSettings

    given: dict[str, Any] = {
        "host": host,
        "port": port,
        "latency_ms": latency_ms,
        "log_level": log_level,
    }
    if api_key:
        given["api_keys"] = tuple(api_key)
    try:
        settings = ProcessorSettings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else ""
        where = _FLAGS.get(name, f"VAULTSWITCH_PROCESSOR_{name.upper()}")
        message = str(first["msg"]).removeprefix("Value error, ")
        raise _fail(f"{where}: {message}", "see `vaultswitch processor serve --help`") from None
    if not settings.accepted_api_keys():
        generated = "sk_sandbox_" + secrets.token_urlsafe(24)
        settings = settings.model_copy(update={"api_key": Secret(generated)})
        typer.echo(
            f"No API key given; generated one (shown once): {generated}\n"
            "Use it as the processor account's connector_account_details.api_key.",
            err=True,
        )

    def ready(url: str) -> None:
        typer.echo(url)

    try:
        run(settings, on_ready=ready)
    except ServeError as exc:
        raise _fail(str(exc), exc.hint) from None
