"""What `up` prints once everything answers: URLs, the VGS credentials as the VGS dashboard
labels them, the merchant API key (first run only), and a copy-paste curl that saves a card
and pays with it."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from vaultswitch import __version__

SNIPPET_START = "# --- save a card and pay with it (copy from here) ---"
SNIPPET_END = "# --- (to here) ---"


def curl_snippet(orchestrator_url: str, up_path: Path) -> str:
    """Shell lines that read the API key from up.json, create a customer, save a card and
    pay with it: the quick start (a test runs exactly this text against a live `up`)."""
    up = shlex.quote(str(up_path.resolve()))
    auth = '-H "Authorization: api-key=$KEY" -H "Content-Type: application/json"'
    card = (
        '{"card_number":"4242424242424242","card_exp_month":"12",'
        '"card_exp_year":"2030","card_holder_name":"Ada Lovelace"}'
    )
    return "\n".join(
        [
            SNIPPET_START,
            "j() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])'"
            ' "$1"; }',
            f"API={orchestrator_url}; KEY=$(j api_key < {up})",
            f"CUSTOMER=$(curl -s $API/v2/customers {auth} \\",
            """  -d '{"name":"Ada Lovelace","email":"ada@example.com"}' | j id)""",
            f'CARD=$(curl -s $API/v2/payment-methods {auth} -d \'{{"customer_id":"\'$CUSTOMER\'",',
            """  "payment_method_type":"card","payment_method_subtype":"credit",""",
            f"""  "payment_method_data":{{"card":{card}}}}}' | j id)""",
            f'curl -s $API/v2/payments {auth} -d \'{{"customer_id":"\'$CUSTOMER\'",',
            """  "payment_method_id":"'$CARD'","""
            """"amount_details":{"order_amount":1000,"currency":"USD"}}'""",
            "echo",
            SNIPPET_END,
        ]
    )


def _secret(record: dict[str, Any], key: str, show: bool) -> str:
    value = record.get(key)
    if not value:
        return ""
    return str(value) if show else f"(in up.json: {key})"


def print_banner(
    console: Console, record: dict[str, Any], path: Path, *, show_secrets: bool
) -> None:
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")  # a key is never cut short
    table.add_row("orchestrator", f"{record['orchestrator_url']}  (API docs: /docs)")
    if record.get("dashboard_url"):
        table.add_row("control center", f"{record['dashboard_url']}  (sign in with an API key)")
    table.add_row("vault", f"{record['vault_url']}  (VGS-compatible: OAuth2, Vault API v1/v2)")
    table.add_row("sandbox processor", str(record["processor_url"]))
    table.add_row("", "")
    table.add_row("[b]VGS credentials[/b]", "(as the VGS dashboard labels them)")
    table.add_row("Username (API Key)", str(record["client_id"]))
    table.add_row("Password (Key1)", _secret(record, "client_secret", show_secrets))
    table.add_row("Vault ID (API Secret)", str(record["vault_id"]))
    table.add_row(
        "v1 username / password",
        f"{record.get('v1_username')} / " + _secret(record, "v1_password", show_secrets),
    )
    table.add_row("", "")
    table.add_row("merchant", str(record["merchant_id"]))
    table.add_row("profile", str(record["profile_id"]))
    table.add_row("merchant API key", _secret(record, "api_key", show_secrets))
    table.add_row("admin API key", _secret(record, "admin_api_key", show_secrets))
    table.add_row("VGS connector account", f"{record['vault_connector_id']} (active)")
    table.add_row("processor account", str(record["processor_connector_id"]))
    table.add_row("up.json", f"{path.resolve()} (mode 0600: every URL and credential)")
    table.add_row("server logs", str((path.parent / "logs").resolve()) + "/*.log")
    console.print(Panel(table, title=f"vaultswitch {__version__} is up"))
    if show_secrets:
        console.print("First start: the secrets above are shown once; up.json keeps them.")
    console.print(
        curl_snippet(str(record["orchestrator_url"]), path),
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    console.print("Ctrl-C stops everything. `vaultswitch demo` runs the whole story.")
