"""`vaultswitch vault ...`: run the server and administer vaults (prints JSON)."""

from __future__ import annotations

import json
import os
import pwd
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from vaultswitch.troubleshooting import runnable_hint, server_hint
from vaultswitch.vault.core.admin import VaultAdmin
from vaultswitch.vault.core.admin import account_json as _account_json
from vaultswitch.vault.core.admin import iso as _iso
from vaultswitch.vault.core.admin import vault_json as _vault_json
from vaultswitch.vault.core.errors import VaultApiError
from vaultswitch.vault.core.models import SCOPES, AccessCredential
from vaultswitch.vault.settings import VaultSettings

vault_app = typer.Typer(
    name="vault",
    help="Run the VGS-compatible vault server and administer its vaults.",
    no_args_is_help=True,
    add_completion=False,
)
reveal_app = typer.Typer(help="Turn revealing (aliases:read) on or off for a vault.")
vault_app.add_typer(reveal_app, name="reveal")

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory (env VAULTSWITCH_DATA_DIR).")
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="SQLAlchemy URL (env VAULTSWITCH_DATABASE_URL)."),
]
VaultOpt = Annotated[str, typer.Option("--vault", help="Vault id (tntxxxxxxxx).")]


def _settings(**given: Any) -> VaultSettings:
    """Settings with CLI flags taking precedence (None means: not given)."""
    return VaultSettings(**{k: v for k, v in given.items() if v is not None})


def _emit(payload: Any) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


def _fail(
    code: str,
    detail: str,
    hint: str | None = None,
    exit_code: int = 1,
    settings: VaultSettings | None = None,
) -> typer.Exit:
    """Print the JSON error; the hint's vault commands carry the data dir of settings."""
    body: dict[str, str] = {"error": code, "detail": detail}
    hint = hint or server_hint(code)
    if hint:
        body["hint"] = runnable_hint(hint, settings.data_dir_flag()) if settings else hint
    typer.echo(json.dumps(body), err=True)
    return typer.Exit(exit_code)


@contextmanager
def _service(
    data_dir: Path | None, database_url: str | None, *, existing: bool = True
) -> Iterator[Any]:
    """The vault service on the configured store.

    ``existing`` (every command but ``create``): open only vault data that is already
    there; on a wrong data dir or database fail with NO_VAULT_DATA and create nothing.
    """
    from vaultswitch.vault.core.service import VaultService
    from vaultswitch.vault.http.server import StderrStream, configure_logging

    settings = _settings(data_dir=data_dir, database_url=database_url)
    configure_logging(settings.log_level, file=StderrStream())  # stdout carries the JSON result
    try:
        service = VaultService.open(settings, existing=existing)
    except VaultApiError as exc:
        raise _fail(exc.code, exc.detail, settings=settings) from None
    try:
        yield service
    except VaultApiError as exc:
        raise _fail(exc.code, exc.detail, settings=settings) from None
    finally:
        service.close()


def os_account() -> str:
    """The OS account of the process uid (``uid:<n>`` without a passwd entry).

    Not ``getpass.getuser()``: it believes $LOGNAME/$USER/$USERNAME, which anyone can set.
    """
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid with no passwd entry (common in containers)
        return f"uid:{uid}"


def _actor() -> str:
    """``cli:<OS account of the process uid>``, the audit actor of admin commands."""
    return "cli:" + os_account()


def _admin(service: Any) -> VaultAdmin:
    """The admin operations (the admin HTTP API runs the same ones), audited as this user."""
    return VaultAdmin(service, _actor(), "cli")


def _audit(service: Any, action: str, vault_id: str | None, detail: str | None = None) -> None:
    _admin(service).record(action, vault_id, detail)


# --- server --------------------------------------------------------------------------------


@vault_app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8220).")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    redis_url: Annotated[
        str | None, typer.Option("--redis-url", help="Redis URL (env VAULTSWITCH_REDIS_URL).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes; >1 needs PostgreSQL and Redis.")
    ] = None,
    rate_limit: Annotated[
        int | None, typer.Option("--rate-limit", help="Requests per minute per vault.")
    ] = None,
    log_level: Annotated[str | None, typer.Option("--log-level")] = None,
) -> None:
    """Run the vault API server (OAuth token endpoint, Vault API v1 and v2)."""
    from vaultswitch.vault.http.server import ServeError
    from vaultswitch.vault.http.server import serve as run

    settings = _settings(
        host=host,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        redis_url=redis_url,
        workers=workers,
        rate_limit_per_minute=rate_limit,
        log_level=log_level,
    )
    try:
        run(settings)
    except ServeError as exc:
        raise _fail("CANNOT_START", str(exc), exc.hint, exit_code=2) from None
    except VaultApiError as exc:
        raise _fail(exc.code, exc.detail, settings=settings) from None


# --- vaults --------------------------------------------------------------------------------


@vault_app.command()
def create(
    name: Annotated[str | None, typer.Option(help="A label for the vault.")] = None,
    reveal: Annotated[bool, typer.Option("--reveal/--no-reveal", help="Allow reveal.")] = True,
    fingerprinting: Annotated[
        bool, typer.Option("--fingerprinting/--no-fingerprinting", help="Dedup equal values.")
    ] = True,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a vault (and the store, on first use); prints {"vault_id": ...}."""
    with _service(data_dir, database_url, existing=False) as service:
        info = _admin(service).create_vault(
            name, reveal_enabled=reveal, fingerprinting=fingerprinting
        )
        _emit({**_vault_json(info), "vault_id": info.vault_id})


@vault_app.command("list")
def list_vaults(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """List vaults."""
    with _service(data_dir, database_url) as service:
        _emit([_vault_json(v) for v in _admin(service).list_vaults()])


def _set_reveal(vault: str, enabled: bool, data_dir: Path | None, database_url: str | None) -> None:
    with _service(data_dir, database_url) as service:
        info = _admin(service).set_reveal(vault, enabled)
        _emit(_vault_json(info))


@reveal_app.command("enable")
def reveal_enable(
    vault: VaultOpt, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """Allow revealing values of a vault."""
    _set_reveal(vault, True, data_dir, database_url)


@reveal_app.command("disable")
def reveal_disable(
    vault: VaultOpt, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """Forbid revealing values of a vault (reveal requests get 403 REVEAL_DISABLED)."""
    _set_reveal(vault, False, data_dir, database_url)


@vault_app.command("set-reveal")
def set_reveal(
    vault: VaultOpt,
    enabled: Annotated[bool, typer.Option("--enabled/--disabled", help="Reveal on or off.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Same as `reveal enable|disable`."""
    _set_reveal(vault, enabled, data_dir, database_url)


# --- credentials ---------------------------------------------------------------------------

accounts_app = typer.Typer(
    help="List, disable and enable OAuth2 service accounts (create: `service-account`).",
    no_args_is_help=True,
)
vault_app.add_typer(accounts_app, name="service-accounts")
credentials_app = typer.Typer(
    help="v1 access credentials (HTTP Basic): create (the default), list, revoke."
)
vault_app.add_typer(credentials_app, name="access-credentials")

ClientIdArg = Annotated[str, typer.Argument(help="The client id (ACxxxx) of the account.")]
VaultFilter = Annotated[str | None, typer.Option("--vault", help="Only those of this vault.")]


def _credential_json(credential: AccessCredential) -> dict[str, Any]:
    """Access credentials as the CLI prints them (never the password or its hash)."""
    return {
        "username": credential.username,
        "vault_id": credential.vault_id,
        "created_at": _iso(credential.created_at),
    }


@vault_app.command("service-account")
def service_account(
    vault: Annotated[
        list[str], typer.Option("--vault", help="Vault id; repeat for several vaults.")
    ],
    scopes: Annotated[str, typer.Option(help="Comma-separated scopes.")] = ",".join(SCOPES),
    token_lifespan: Annotated[
        int | None, typer.Option("--token-lifespan", help="Access token lifetime, seconds (>=60).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="A label for the account.")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an OAuth2 service account; the client secret is shown once."""
    wanted = [s.strip() for s in scopes.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in SCOPES]
    if unknown or not wanted:
        raise _fail(
            "INVALID_SCOPE",
            f"unknown scope(s): {', '.join(unknown) or '(none given)'}",
            f"choose from {', '.join(SCOPES)}",
        )
    with _service(data_dir, database_url) as service:
        account, secret = _admin(service).create_service_account(
            vault, wanted, token_lifespan=token_lifespan, name=name
        )
        _emit({**_account_json(account), "client_secret": secret.reveal()})


accounts_app.command("create", help="Same as the `service-account` command.")(service_account)


@accounts_app.command("list")
def list_service_accounts(
    vault: VaultFilter = None, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """List service accounts (client id, vaults, scopes, disabled); never a secret."""
    with _service(data_dir, database_url) as service:
        _emit([_account_json(a) for a in _admin(service).list_service_accounts(vault)])


def _set_account_disabled(
    client_id: str, disabled: bool, data_dir: Path | None, database_url: str | None
) -> None:
    with _service(data_dir, database_url) as service:
        account = _admin(service).set_service_account_disabled(client_id, disabled)
        _emit(_account_json(account))


@accounts_app.command("disable")
def disable_service_account(
    client_id: ClientIdArg, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """Disable an account: its next token request gets 401 (its tokens: within a minute)."""
    _set_account_disabled(client_id, True, data_dir, database_url)


@accounts_app.command("enable")
def enable_service_account(
    client_id: ClientIdArg, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """Enable a disabled account again (its client secret is unchanged)."""
    _set_account_disabled(client_id, False, data_dir, database_url)


def _group_default(ctx: typer.Context, name: str, given: Any) -> Any:
    """An option given to a subcommand, else the same option given before it to the group."""
    if given is not None:
        return given
    return (ctx.obj or {}).get(name) if isinstance(ctx.obj, dict) else None


@credentials_app.callback(invoke_without_command=True)
def access_credentials(
    ctx: typer.Context,
    vault: Annotated[
        str | None,
        typer.Option("--vault", help="Vault id: create credentials for it (no subcommand)."),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create v1 access credentials (HTTP Basic) for a vault; the password is shown once.

    `access-credentials --vault ID` creates them (as `access-credentials create --vault
    ID`); `list` and `revoke USERNAME` manage them.
    """
    if ctx.invoked_subcommand is not None:
        ctx.obj = {"data_dir": data_dir, "database_url": database_url}
        return
    if vault is None:
        raise typer.BadParameter(
            "give --vault ID to create credentials, or a subcommand (create, list, revoke)",
            param_hint="'--vault'",
        )
    _create_access_credentials(vault, data_dir, database_url)


def _create_access_credentials(vault: str, data_dir: Path | None, database_url: str | None) -> None:
    with _service(data_dir, database_url) as service:
        username, password = service.create_access_credentials(vault)
        _audit(service, "admin.access_credentials.create", vault, username)
        _emit({"username": username, "password": password.reveal(), "vault_id": vault})


@credentials_app.command("create")
def create_access_credentials(
    ctx: typer.Context, vault: VaultOpt, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """Create v1 access credentials for a vault; the password is shown once."""
    _create_access_credentials(
        vault,
        _group_default(ctx, "data_dir", data_dir),
        _group_default(ctx, "database_url", database_url),
    )


@credentials_app.command("list")
def list_access_credentials(
    ctx: typer.Context,
    vault: VaultFilter = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """List v1 access credentials (username, vault); never a password."""
    with _service(
        _group_default(ctx, "data_dir", data_dir),
        _group_default(ctx, "database_url", database_url),
    ) as service:
        _emit([_credential_json(c) for c in service.list_access_credentials(vault)])


@credentials_app.command("revoke")
def revoke_access_credentials(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="The username (USxxxx) to revoke.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke (delete) v1 access credentials: their next request gets 401."""
    with _service(
        _group_default(ctx, "data_dir", data_dir),
        _group_default(ctx, "database_url", database_url),
    ) as service:
        credential = service.revoke_access_credentials(username)
        _audit(service, "admin.access_credentials.revoke", credential.vault_id, username)
        _emit({**_credential_json(credential), "revoked": True})


# --- keys ----------------------------------------------------------------------------------


@vault_app.command("rotate-key")
def rotate_key(
    vault: VaultOpt,
    reencrypt: Annotated[
        bool, typer.Option("--reencrypt", help="Re-encrypt every record with the new key.")
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Start a new data-key version for a vault (new writes use it); optionally re-encrypt."""
    with _service(data_dir, database_url) as service:
        version = service.rotate_data_key(vault)
        _audit(service, "admin.data_key.rotate", vault, f"version {version}")
        result: dict[str, Any] = {"vault_id": vault, "key_version": version}
        if reencrypt:
            result["reencrypted"] = _reencrypt_with_progress(service, vault)
            _audit(service, "admin.data_key.reencrypt", vault, f"{result['reencrypted']} records")
        _emit(result)


def _reencrypt_with_progress(service: Any, vault: str) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(stderr=True)
    with Progress(
        TextColumn("re-encrypting"), BarColumn(), MofNCompleteColumn(), console=console
    ) as progress:
        task = progress.add_task("reencrypt", total=None)

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        count: int = service.reencrypt(vault, progress=on_progress)
    return count


@vault_app.command("rotate-master-key")
def rotate_master_key(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            help="Where to write the new key (0600) when the current key comes from "
            "VAULTSWITCH_MASTER_KEY; with a key file the file itself is replaced.",
        ),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Re-wrap every vault key under a new master key.

    With a key file, running vault servers load the new key on their own; with
    VAULTSWITCH_MASTER_KEY they must be restarted with the new key.
    """
    from vaultswitch.vault.core.crypto import generate_key, write_master_key_file
    from vaultswitch.vault.core.master_key import MasterKeySource

    settings = _settings(data_dir=data_dir, database_url=database_url)
    source = MasterKeySource.of(settings)
    if source.from_env and output is None:
        raise _fail(
            "OUTPUT_REQUIRED",
            "the master key comes from VAULTSWITCH_MASTER_KEY, so the new key cannot be "
            "written in its place",
            "pass --output FILE; the new key is written there (mode 0600) and never printed",
        )
    staged = output if source.from_env else source.staged_file
    assert staged is not None
    with _service(data_dir, database_url) as service:
        if not source.from_env and staged.exists():
            if service.master_key_id == _key_id_of(staged):
                # a rotation committed but stopped before replacing the key file: finish it
                os.replace(staged, source.key_file)
                _audit(service, "admin.master_key.rotate", None, "finished: key file replaced")
                _emit({"rewrapped_keys": 0, "key_file": str(source.key_file), **_KEY_FILE_NOTE})
                return
            raise _fail(
                "FILE_EXISTS",
                f"{staged} already exists and the database is not under the key it holds",
                f"a rotation stopped before its commit: unless another rotate-master-key is "
                f"running, delete {staged} and run the command again",
            )
        new_key = generate_key()
        if not write_master_key_file(staged, new_key):
            raise _fail(
                "FILE_EXISTS",
                f"{staged} already exists",
                "pass --output with a path that does not exist yet",
            )
        count = service.rotate_master_key(new_key)
        _audit(service, "admin.master_key.rotate", None, f"{count} keys re-wrapped")
    result: dict[str, Any] = {"rewrapped_keys": count}
    if source.from_env:
        result["new_key_file"] = str(staged)
        result["instructions"] = (
            f"set VAULTSWITCH_MASTER_KEY to the content of {staged} for every vault process "
            "and restart them (until then they answer 503 MASTER_KEY_ROTATED where they need "
            "the new key: a new vault or data key); then delete the file"
        )
    else:
        os.replace(staged, source.key_file)
        result["key_file"] = str(source.key_file)
        result.update(_KEY_FILE_NOTE)
    _emit(result)


_KEY_FILE_NOTE = {
    "instructions": "running vault servers that read this key file load the new key "
    "by themselves the next time they need it; nothing else to do"
}


def _key_id_of(path: Path) -> str | None:
    from vaultswitch.vault.core.crypto import decode_master_key, master_key_id

    try:
        return master_key_id(decode_master_key(path.read_text(encoding="ascii")))
    except (OSError, UnicodeDecodeError, VaultApiError):
        return None


# --- audit ---------------------------------------------------------------------------------


@vault_app.command()
def audit(
    vault: Annotated[str | None, typer.Option("--vault", help="Only this vault.")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action.")] = None,
    limit: Annotated[
        int, typer.Option(min=1, help="At most this many rows (1 or more), newest first.")
    ] = 100,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Show audit log rows as JSON."""
    with _service(data_dir, database_url) as service:
        events = _admin(service).list_audit(vault_id=vault, action=action, limit=limit)
        _emit([e.to_json() for e in events])


@vault_app.command("alias-ref")
def alias_ref(
    alias: Annotated[
        str, typer.Argument(metavar="ALIAS", help="The alias to find in the server's log.")
    ],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Print the reference (alias:<10 hex>) that stands for ALIAS in request log lines."""
    with _service(data_dir, database_url) as service:
        _emit({"alias_ref": service.log_refs().alias(alias)})


if __name__ == "__main__":
    vault_app()
