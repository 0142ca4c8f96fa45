"""`vaultswitch doctor`: every check of a vault connection, with its fix, before calling support.

Two ways in:

- a connector account of the orchestrator (``ACCOUNT_ID``, or the ``vault_connector_id`` of
  ``up.json``): the orchestrator runs the checks with the credentials it keeps (it never
  hands them out) — ``POST /v2/connector-accounts/{id}/verify`` with ``{"checks":
  "doctor"}`` and the merchant API key of ``--api-key`` / ``VAULTSWITCH_API_KEY`` /
  ``up.json``;
- raw credentials (``--client-id``, ``--client-secret`` or ``VAULTSWITCH_CLIENT_SECRET``,
  ``--vault-id``, ``--environment`` or ``--vault-base-url`` / ``--auth-base-url``): the
  checks run here, with :func:`vaultswitch.client.checks.doctor.run_doctor`.

Output: a table for people, or with ``--json`` exactly ``{"ok", "checks": [{"name", "ok",
"code", "message", "hint", "ms"}]}``. Exit status 0 when every check passed, 1 when one did
not (or the orchestrator could not run them), 2 for a usage error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vaultswitch.client import ClientConfig, RetryPolicy, VaultClient
from vaultswitch.client.checks import SKIPPED, Check, CheckReport
from vaultswitch.client.checks.doctor import DoctorOptions, run_doctor
from vaultswitch.connectors.base import SignatureKey, StorageType
from vaultswitch.connectors.vgs import VgsConfig, VgsConnector
from vaultswitch.domain.errors import VaultswitchError
from vaultswitch.domain.secret import Secret
from vaultswitch.ops.target import Target, TargetError, resolve_target
from vaultswitch.up.upfile import UpFileError, read_up_file

SECRET_ENV = "VAULTSWITCH_CLIENT_SECRET"  # noqa: S105 (the name of a variable)
USAGE = 2
FAILED = 1


class UsageError(Exception):
    """The command line is wrong (exit status 2); ``hint`` says how to call it."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


class RemoteError(Exception):
    """The orchestrator did not run the checks; ``status`` is the exit status."""

    def __init__(self, message: str, hint: str, status: int) -> None:
        super().__init__(message)
        self.hint = hint
        self.status = status


@dataclass(frozen=True, slots=True)
class RawAccount:
    """VGS credentials given on the command line (the secret is a Secret)."""

    client_id: str | None = None
    client_secret: Secret | None = None
    vault_id: str | None = None
    environment: str | None = None
    vault_base_url: str | None = None
    auth_base_url: str | None = None

    def given(self) -> bool:
        return any(
            value is not None
            for value in (
                self.client_id,
                self.vault_id,
                self.environment,
                self.vault_base_url,
                self.auth_base_url,
            )
        )

    def __repr__(self) -> str:
        return f"RawAccount(vault_id={self.vault_id}, environment={self.environment})"


@dataclass(frozen=True, slots=True)
class DoctorArgs:
    account_id: str | None = None
    raw: RawAccount = field(default_factory=RawAccount)
    write: bool = False
    alias: str | None = None
    storage: str | None = None
    as_json: bool = False
    ca_file: Path | None = None
    data_dir: Path = Path(".vaultswitch")
    orchestrator_url: str | None = None
    api_key: str | None = field(default=None, repr=False)


# --- the two ways in -----------------------------------------------------------------------


def _storage(args: DoctorArgs) -> StorageType | None:
    if args.storage is None:
        return None
    if args.alias is None:
        raise UsageError(
            "--storage goes with --alias",
            "e.g. `vaultswitch doctor --alias ALIAS --storage VOLATILE`",
        )
    wanted = args.storage.strip().upper()
    if wanted not in StorageType.__members__:
        raise UsageError(
            f"--storage must be PERSISTENT or VOLATILE, not {args.storage!r}",
            "Pass --storage PERSISTENT (saved cards) or --storage VOLATILE (CVCs, data kept "
            "for one payment).",
        )
    return StorageType[wanted]


def _alias(args: DoctorArgs) -> str | None:
    if args.alias is None:
        return None
    alias = args.alias.strip()
    if not alias:
        raise UsageError("--alias is empty", "Pass the alias as the vault's insert answered it.")
    return alias


def _raw_report(args: DoctorArgs) -> tuple[CheckReport, str]:
    raw = args.raw
    missing = [
        flag
        for flag, value in (
            ("--client-id", raw.client_id),
            (f"--client-secret (or {SECRET_ENV})", raw.client_secret),
            ("--vault-id", raw.vault_id),
        )
        if not value
    ]
    if missing:
        raise UsageError(
            f"raw credentials need {', '.join(missing)}",
            "Pass --client-id, --vault-id and the secret (--client-secret, or the environment "
            f"variable {SECRET_ENV} to keep it off the command line), or a connector account "
            "id instead: `vaultswitch doctor ACCOUNT_ID`.",
        )
    options: dict[str, str] = {}
    if raw.environment is not None:
        options["environment"] = raw.environment
    if raw.vault_base_url is not None:
        options["vault_base_url"] = raw.vault_base_url
    if raw.auth_base_url is not None:
        options["auth_base_url"] = raw.auth_base_url
    assert raw.client_id is not None
    assert raw.client_secret is not None
    credentials = SignatureKey(Secret(raw.client_id), raw.client_secret, Secret(raw.vault_id or ""))
    try:
        connector = VgsConnector(VgsConfig.from_options(options))
        connector.check_credentials(credentials)
    except VaultswitchError as exc:
        flag = {
            "environment": "--environment",
            "vault_base_url": "--vault-base-url",
            "auth_base_url": "--auth-base-url",
            "connector_account_details.api_secret": "--vault-id",
        }.get(exc.field or "", exc.field or "the options")
        raise UsageError(f"{flag}: {exc.message}", exc.hint) from None
    try:
        config = ClientConfig(
            verify=str(args.ca_file) if args.ca_file is not None else True,
            retry=RetryPolicy(attempts=1),
        )
    except ValueError as exc:
        raise UsageError(f"--ca-file: {exc}", "Pass the path of a PEM CA bundle.") from None
    doctor = DoctorOptions(write=args.write, alias=_alias(args), alias_storage=_storage(args))
    with VaultClient(config) as client:
        report = run_doctor(client, connector, credentials, doctor)
    where = connector.config.vault_base_template.replace("{vault_id}", raw.vault_id or "")
    title = f"vault {raw.vault_id} ({connector.config.environment}) at {where}"
    return report, title


def _account_id(args: DoctorArgs, target: Target) -> str:
    if args.account_id is not None:
        account_id = args.account_id.strip()
        if not account_id:
            raise UsageError("ACCOUNT_ID is empty", "Pass a connector account id (mca_...).")
        return account_id
    up = target.up
    if not up:
        try:
            up = read_up_file(args.data_dir)
        except UpFileError:
            up = {}
    found = up.get("vault_connector_id")
    if isinstance(found, str) and found:
        return found
    raise UsageError(
        f"no ACCOUNT_ID given, and no vault_connector_id in the up.json of {args.data_dir}",
        "Pass the connector account id (`vaultswitch doctor ACCOUNT_ID`; GET "
        "/v2/profiles/{id}/connector-accounts lists them) or raw credentials (--client-id, "
        "--client-secret, --vault-id).",
    )


def _remote_error(response: httpx.Response) -> RemoteError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error.get("code") or ""
    message = error.get("message") or response.reason_phrase
    hint = error.get("hint") or "See the orchestrator's log line for this request."
    status = USAGE if 400 <= response.status_code < 500 else FAILED
    return RemoteError(
        f"the orchestrator answered HTTP {response.status_code} {code}: {message}".replace(
            "  ", " "
        ),
        str(hint),
        status,
    )


def report_of(data: Any) -> CheckReport:
    """A report from its JSON form (``verification`` of the orchestrator's answer)."""
    if not isinstance(data, dict) or not isinstance(data.get("checks"), list):
        raise ValueError("not a report")
    checks = tuple(
        Check(
            str(c["name"]),
            bool(c["ok"]),
            str(c["code"]),
            str(c["message"]),
            str(c.get("hint") or ""),
            float(c.get("ms") or 0.0),
        )
        for c in data["checks"]
    )
    return CheckReport.of(checks)


def _account_report(args: DoctorArgs) -> tuple[CheckReport, str]:
    try:
        target = resolve_target(args.orchestrator_url, args.api_key, args.data_dir)
    except TargetError as exc:
        raise UsageError(str(exc), exc.hint) from None
    account_id = _account_id(args, target)
    body: dict[str, Any] = {"checks": "doctor", "write": args.write, "alias": _alias(args)}
    storage = _storage(args)
    if storage is not None:
        body["storage"] = storage.value
    path = f"/v2/connector-accounts/{quote(account_id, safe='')}/verify"
    try:
        with httpx.Client(base_url=target.url, timeout=120.0, trust_env=False) as http:
            response = http.post(path, json=body, headers=target.headers())
    except httpx.HTTPError as exc:
        raise RemoteError(
            f"no answer from the orchestrator at {target.url} ({type(exc).__name__})",
            "Check --orchestrator-url (or VAULTSWITCH_ORCHESTRATOR_URL, or the "
            "orchestrator_url of up.json) and that the orchestrator runs (`vaultswitch up`).",
            FAILED,
        ) from None
    if response.status_code >= 400:
        raise _remote_error(response)
    try:
        answer = response.json()
        report = report_of(answer.get("verification"))
    except (ValueError, AttributeError, KeyError, TypeError):
        raise RemoteError(
            f"the orchestrator at {target.url} answered without a doctor report",
            "Update the orchestrator: doctor needs POST /v2/connector-accounts/{id}/verify "
            'with {"checks": "doctor"}.',
            FAILED,
        ) from None
    status = answer.get("status")
    name = answer.get("connector_name") or "vault"
    title = f"connector account {account_id} ({name}, status {status}) via {target.url}"
    return report, title


# --- output --------------------------------------------------------------------------------


def report_json(report: CheckReport) -> str:
    """``--json``: exactly ``{"ok", "checks": [...]}``."""
    return json.dumps(report.to_dict())


def _result(check: Check) -> Text:
    if check.ok:
        return Text("✓", style="green")
    if check.code == SKIPPED:
        return Text("- skipped", style="dim")
    return Text(f"✗ {check.code}", style="red")


def _details(check: Check) -> Text:
    text = Text(check.message)
    if check.hint:
        label = "note: " if check.ok or check.code == SKIPPED else "fix: "
        text.append("\n" + label, style="yellow bold")
        text.append(check.hint)
    return text


def render(report: CheckReport, title: str, console: Console) -> None:
    """The table for people: check, result, ms, message, and the fix under each failure."""
    table = Table(title=f"vaultswitch doctor: {title}", title_justify="left", show_lines=True)
    table.add_column("check", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("ms", justify="right", no_wrap=True)
    table.add_column("message", overflow="fold")
    for check in report.checks:
        ms = "" if check.code == SKIPPED else f"{check.ms:.0f}"
        table.add_row(check.name, _result(check), ms, _details(check))
    console.print(table)
    failed = [c for c in report.checks if not c.ok and c.code != SKIPPED]
    skipped = sum(1 for c in report.checks if c.code == SKIPPED)
    if report.ok:
        console.print(Text(f"All {len(report.checks)} checks passed.", style="green"))
        return
    summary = f"{len(failed)} of {len(report.checks)} checks failed"
    if skipped:
        summary += f", {skipped} skipped"
    first = report.first_failure
    if first is not None:
        summary += f". Fix {first.name} first; `vaultswitch explain {first.code}` says more."
    console.print(Text(summary, style="red"))


def run_doctor_command(args: DoctorArgs, out: Console, err: Console) -> int:
    """Run the checks, print them, and answer the exit status."""
    try:
        if args.account_id is not None and args.raw.given():
            raise UsageError(
                "give either ACCOUNT_ID or raw credentials, not both",
                "`vaultswitch doctor ACCOUNT_ID` tests a connector account of the orchestrator; "
                "--client-id, --client-secret and --vault-id test credentials directly.",
            )
        _alias(args), _storage(args)  # refuse a bad --alias / --storage before any I/O
        if args.raw.given():
            report, title = _raw_report(args)
        else:
            report, title = _account_report(args)
    except UsageError as exc:
        err.print(Text(f"error: {exc}", style="red"))
        err.print(Text(f"hint: {exc.hint}"))
        return USAGE
    except RemoteError as exc:
        err.print(Text(f"error: {exc}", style="red"))
        err.print(Text(f"hint: {exc.hint}"))
        return exc.status
    if args.as_json:
        out.file.write(report_json(report) + "\n")
        out.file.flush()
    else:
        render(report, title, out)
    return 0 if report.ok else FAILED
