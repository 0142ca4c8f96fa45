"""`vaultswitch proxy ...`: the proxy servers and their CA.

- ``proxy ca``: print the local CA certificate (PEM) clients of the outbound proxy trust
  (created in the data dir on first use);
- ``proxy outbound serve``: the forward proxy (reveals aliases on the way out);
- ``proxy inbound serve``: the reverse proxy (redacts card data on the way in).

The servers print their URL on stdout once they accept connections (``--port 0``: any
free port) and log JSON lines on stderr. They run on the vault's store (``--data-dir`` /
``--database-url``, as ``vaultswitch vault ...``), which must exist.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

proxy_server_app = typer.Typer(
    name="proxy",
    help="The vault's proxies: outbound (reveal on the way out), inbound (redact on the way "
    "in), and the CA of the outbound proxy's TLS interception.",
    no_args_is_help=True,
    add_completion=False,
)
outbound_app = typer.Typer(help="The outbound (forward) proxy.", no_args_is_help=True)
inbound_app = typer.Typer(help="The inbound (reverse) proxy.", no_args_is_help=True)
proxy_server_app.add_typer(outbound_app, name="outbound")
proxy_server_app.add_typer(inbound_app, name="inbound")

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory (env VAULTSWITCH_DATA_DIR).")
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="SQLAlchemy URL (env VAULTSWITCH_DATABASE_URL)."),
]
Host = Annotated[
    str | None, typer.Option(help="Bind address (default 127.0.0.1; env VAULTSWITCH_PROXY_HOST).")
]
UpstreamCa = Annotated[
    Path | None,
    typer.Option(
        "--upstream-ca-file",
        help="PEM bundle trusted for upstream TLS besides the system CAs "
        "(env VAULTSWITCH_PROXY_UPSTREAM_CA_FILE).",
    ),
]
UpstreamTimeout = Annotated[
    float | None,
    typer.Option("--upstream-timeout", help="Seconds to wait for upstream bytes (default 60)."),
]
MaxBody = Annotated[
    int | None,
    typer.Option("--max-body-bytes", help="Largest body a route entry is applied to."),
]
LogLevel = Annotated[str | None, typer.Option("--log-level")]


def _fail(code: str, detail: str, hint: str) -> typer.Exit:
    typer.echo(json.dumps({"error": code, "detail": detail, "hint": hint}), err=True)
    return typer.Exit(1)


def _vault_settings(data_dir: Path | None, database_url: str | None) -> Any:
    from vaultswitch.vault.settings import VaultSettings

    given: dict[str, Any] = {"data_dir": data_dir, "database_url": database_url}
    return VaultSettings(**{k: v for k, v in given.items() if v is not None})


def _proxy_settings(given: dict[str, Any]) -> Any:
    from pydantic import ValidationError

    from vaultswitch.proxy.settings import ProxySettings

    try:
        return ProxySettings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else ""
        flag = "--" + name.replace("_", "-")
        message = str(first["msg"]).removeprefix("Value error, ")
        raise _fail(
            "INVALID_SETTING",
            f"{flag} (VAULTSWITCH_PROXY_{name.upper()}): {message}",
            "see `vaultswitch proxy outbound serve --help`",
        ) from None


@proxy_server_app.command("ca")
def ca(data_dir: DataDir = None) -> None:
    """Print the outbound proxy's CA certificate (PEM), which its clients trust.

    Created in the data dir on first use. E.g. `vaultswitch proxy ca > proxy-ca.pem`, then
    verify=proxy-ca.pem (plus the system CAs) in the client."""
    from vaultswitch.proxy.ca import CAError, LocalCA

    settings = _vault_settings(data_dir, None)
    directory: Path = settings.data_dir
    if not directory.is_dir():
        raise _fail(
            "NO_DATA_DIR",
            f"the data directory {directory} does not exist",
            "pass the data dir of your vault with --data-dir (`vaultswitch up` makes "
            "./.vaultswitch)",
        )
    try:
        local = LocalCA.open(directory)
    except CAError as exc:
        raise _fail("PROXY_CA", str(exc), exc.hint) from None
    typer.echo(local.cert_pem.decode("ascii"), nl=False)


def _serve(edge: Any, vault_settings: Any, settings: Any) -> None:
    from vaultswitch.listening import ServeError
    from vaultswitch.logs import configure_logging
    from vaultswitch.proxy.ca import CAError
    from vaultswitch.proxy.server import default_port, make_edge, serve
    from vaultswitch.troubleshooting import runnable_hint, server_hint
    from vaultswitch.vault.core.errors import VaultApiError
    from vaultswitch.vault.core.service import VaultService

    configure_logging(settings.log_level)
    try:
        service = VaultService.open(vault_settings, existing=True)
    except VaultApiError as exc:
        hint = server_hint(exc.code) or "check --data-dir / --database-url"
        raise _fail(
            exc.code, exc.detail, runnable_hint(hint, vault_settings.data_dir_flag())
        ) from None
    try:
        proxy = make_edge(edge, settings, service)
        port = default_port(edge) if settings.port is None else settings.port
        serve(proxy, settings, port, on_ready=typer.echo)
    except CAError as exc:
        raise _fail("PROXY_CA", str(exc), exc.hint) from None
    except ServeError as exc:
        raise _fail("CANNOT_LISTEN", str(exc), exc.hint) from None
    finally:
        service.close()


@outbound_app.command("serve")
def outbound_serve(
    port: Annotated[
        int | None,
        typer.Option(help="Port (default 8240; 0 = any free port; env VAULTSWITCH_PROXY_PORT)."),
    ] = None,
    host: Host = None,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            help="A destination host pattern (api.stripe.com, *.adyen.com); repeatable; "
            "none = any host (env VAULTSWITCH_PROXY_ALLOWED_HOSTS, comma-separated).",
        ),
    ] = None,
    allow_private_destinations: Annotated[
        bool | None,
        typer.Option(
            "--allow-private-destinations/--refuse-private-destinations",
            help="Allow loopback and private destinations (a local sandbox); refused by default.",
        ),
    ] = None,
    upstream_ca_file: UpstreamCa = None,
    upstream_timeout: UpstreamTimeout = None,
    max_body_bytes: MaxBody = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    log_level: LogLevel = None,
) -> None:
    """Run the outbound proxy; prints its URL on stdout once it accepts connections.

    Clients use http://USERNAME:PASSWORD@HOST:PORT (a vault's access credentials) as their
    HTTPS proxy and trust `vaultswitch proxy ca`."""
    settings = _proxy_settings(
        {
            "port": port,
            "host": host,
            "allowed_hosts": tuple(allowed_host) if allowed_host else None,
            "allow_private_destinations": allow_private_destinations,
            "upstream_ca_file": upstream_ca_file,
            "upstream_timeout": upstream_timeout,
            "max_body_bytes": max_body_bytes,
            "log_level": log_level,
        }
    )
    _serve("outbound", _vault_settings(data_dir, database_url), settings)


@inbound_app.command("serve")
def inbound_serve(
    port: Annotated[
        int | None,
        typer.Option(help="Port (default 8250; 0 = any free port; env VAULTSWITCH_PROXY_PORT)."),
    ] = None,
    host: Host = None,
    upstream_ca_file: UpstreamCa = None,
    upstream_timeout: UpstreamTimeout = None,
    max_body_bytes: MaxBody = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    log_level: LogLevel = None,
) -> None:
    """Run the inbound proxy; prints its URL on stdout once it accepts connections.

    Clients send requests to http://HOST:PORT/VAULT_ID/PATH (or with a Host starting with
    the vault id); the vault's inbound route names the upstream."""
    settings = _proxy_settings(
        {
            "port": port,
            "host": host,
            "upstream_ca_file": upstream_ca_file,
            "upstream_timeout": upstream_timeout,
            "max_body_bytes": max_body_bytes,
            "log_level": log_level,
        }
    )
    _serve("inbound", _vault_settings(data_dir, database_url), settings)
