"""`vaultswitch up`: the vault, the sandbox processor and the orchestrator, each a child
process on embedded defaults (SQLite in the data dir, no account, no configuration)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from vaultswitch.up.banner import print_banner
from vaultswitch.up.orchestrator_setup import OrchestratorAdmin, SetupError
from vaultswitch.up.processes import ServerSpec, StartError, Supervisor, free_port
from vaultswitch.up.upfile import ensure_private_dir, load_previous, write_up_file
from vaultswitch.up.vault_setup import VaultSetup, ensure_vaults

DEFAULT_VAULT_PORT = 8220
DEFAULT_ORCHESTRATOR_PORT = 8221
DEFAULT_PROCESSOR_PORT = 8230


class UpError(Exception):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True, slots=True)
class UpOptions:
    data_dir: Path
    host: str
    vault_port: int
    orchestrator_port: int
    processor_port: int


def _port(host: str, wanted: int) -> int:
    return free_port(host) if wanted == 0 else wanted


def _specs(
    options: UpOptions, vaults: VaultSetup, keys: dict[str, str]
) -> tuple[ServerSpec, ServerSpec, ServerSpec]:
    host, data = options.host, str(options.data_dir)
    ports = [_port(host, p) for p in (options.vault_port, options.processor_port)]
    ports.append(_port(host, options.orchestrator_port))
    vault_port, processor_port, orchestrator_port = (str(p) for p in ports)
    vault = ServerSpec(
        "vault",
        ["vault", "serve", "--host", host, "--port", vault_port, "--data-dir", data],
        host,
        ports[0],
        "--vault-port",
        env={"VAULTSWITCH_ADMIN_TOKEN": keys["vault_admin_token"]},  # its admin API
        log_file=options.data_dir / "logs" / "vault.log",
    )
    processor = ServerSpec(
        "sandbox processor",
        ["processor", "serve", "--host", host, "--port", processor_port],
        host,
        ports[1],
        "--processor-port",
        env={"VAULTSWITCH_PROCESSOR_API_KEY": keys["processor_api_key"]},
        log_file=options.data_dir / "logs" / "processor.log",
    )
    internal, env = vaults.internal, "VAULTSWITCH_ORCHESTRATOR_"
    orchestrator = ServerSpec(
        "orchestrator",
        ["orchestrator", "serve", "--host", host, "--port", orchestrator_port, "--data-dir", data],
        host,
        ports[2],
        "--orchestrator-port",
        log_file=options.data_dir / "logs" / "orchestrator.log",
        env={
            env + "ADMIN_API_KEY": keys["admin_api_key"],
            env + "INTERNAL_VAULT_BASE_URL": vault.url + "/{vault_id}/",
            env + "INTERNAL_VAULT_AUTH_BASE_URL": vault.url + "/",
            env + "INTERNAL_VAULT_ID": internal.vault_id,
            env + "INTERNAL_VAULT_CLIENT_ID": internal.client_id,
            env + "INTERNAL_VAULT_CLIENT_SECRET": internal.client_secret.reveal(),
            # the control center's "Local vault" pages, over the vault's admin API
            env + "VAULT_ADMIN_URL": vault.url,
            env + "VAULT_ADMIN_TOKEN": keys["vault_admin_token"],
        },
    )
    return vault, processor, orchestrator


def _record(
    previous: dict[str, Any],
    vaults: VaultSetup,
    keys: dict[str, str],
    urls: dict[str, str],
) -> dict[str, Any]:
    default, internal = vaults.default, vaults.internal
    record = dict(previous)
    record.update(urls)
    record.update(keys)
    record.update(
        {
            "vault_id": default.vault_id,
            "client_id": default.client_id,
            "client_secret": default.client_secret.reveal(),
            "v1_username": default.v1_username,
            "v1_password": default.v1_password.reveal() if default.v1_password else None,
            "internal_vault_id": internal.vault_id,
            "internal_client_id": internal.client_id,
            "internal_client_secret": internal.client_secret.reveal(),
        }
    )
    return record


def _interrupt_on_sigterm() -> None:
    """SIGTERM / SIGHUP end `up` like Ctrl-C does: every server is stopped first. SIGINT too,
    explicitly: a shell starts a background job (`vaultswitch up &`) with SIGINT ignored."""
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, interrupt)


def run_up(options: UpOptions, console: Console) -> int:
    """Start everything, set it up on the first run, write up.json, run until Ctrl-C."""
    import os

    from vaultswitch.vault.settings import VaultSettings

    _interrupt_on_sigterm()
    os.umask(0o077)  # every file the servers (children inherit it) create: owner-only
    ensure_private_dir(options.data_dir)
    previous = load_previous(options.data_dir)
    settings = VaultSettings(data_dir=options.data_dir, host=options.host, workers=1)
    vaults = ensure_vaults(settings, previous)
    keys = {
        "admin_api_key": str(previous.get("admin_api_key") or "admin_" + secrets.token_urlsafe(32)),
        "processor_api_key": str(
            previous.get("processor_api_key") or "sk_sandbox_" + secrets.token_urlsafe(24)
        ),
        "vault_admin_token": str(
            previous.get("vault_admin_token") or "vat_" + secrets.token_urlsafe(32)
        ),
    }
    vault, processor, orchestrator = _specs(options, vaults, keys)
    supervisor = Supervisor()
    try:
        for spec in (vault, processor, orchestrator):
            console.print(f"starting the {spec.name} on {spec.url} …")
            supervisor.start(spec)
        urls = {
            "vault_url": vault.url,
            # VGS's vault-management API (routes) is served by the vault itself
            "vault_management_url": vault.url,
            "orchestrator_url": orchestrator.url,
            "processor_url": processor.url,
            "dashboard_url": orchestrator.url + "/dashboard/",
        }
        record = _record(previous, vaults, keys, urls)
        admin = OrchestratorAdmin(orchestrator.url, keys["admin_api_key"])
        try:
            first_run = not previous.get("merchant_id") or not previous.get("api_key")
            if first_run:
                merchant = admin.first_run(
                    vaults.default, vault.url, keys["processor_api_key"], processor.url
                )
                record.update(
                    merchant_id=merchant.merchant_id,
                    profile_id=merchant.profile_id,
                    api_key=merchant.api_key,
                    vault_connector_id=merchant.vault_connector_id,
                    processor_connector_id=merchant.processor_connector_id,
                )
            else:
                admin.repoint(previous, vault.url, processor.url)
        finally:
            admin.close()
        path = write_up_file(options.data_dir, record)
        print_banner(console, record, path, show_secrets=first_run or vaults.created)
        ended = supervisor.watch()
        if ended.spec.log_file is not None:
            console.print(f"its log: {ended.spec.log_file}", highlight=False)
        console.print(
            f"[red]the {ended.spec.name} stopped (status {ended.process.returncode});"
            " stopping the others[/red]"
        )
        return 1
    except KeyboardInterrupt:
        console.print("stopping …")
        return 0
    except (StartError, SetupError) as exc:
        tail = getattr(exc, "log_tail", "")
        if tail:
            console.print(tail, markup=False, highlight=False)
        console.print(f"[red]cannot start:[/red] {exc}\nhint: {exc.hint}")
        return 2
    finally:
        supervisor.stop()
