"""`vaultswitch demo`: the whole story against a running `up`, printing each step.

Save a card, list it masked, pay (approved), pay with a decline card (declined with its
code), delete the card. Exit status 0 only when every step gave what it should.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from rich.console import Console

from vaultswitch.ops.target import Target

APPROVED_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"  # the sandbox processor declines it: card_declined


class StepFailed(Exception):
    pass


@dataclass
class Demo:
    target: Target
    console: Console
    http: httpx.Client

    def call(self, method: str, path: str, json: Any = None) -> dict[str, Any]:
        response = self.http.request(method, path, json=json, headers=self.target.headers())
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400:
            error = body.get("error", {}) if isinstance(body, dict) else {}
            raise StepFailed(
                f"{method} {path} → HTTP {response.status_code} {error.get('code', '')}: "
                f"{error.get('message', '')}\n  hint: {error.get('hint', '')}"
            )
        return body if isinstance(body, dict) else {"data": body}

    def step(self, title: str, run: Callable[[], str]) -> None:
        self.console.print(f"[b]→ {title}[/b]")
        self.console.print(f"  {run()}", highlight=False)


def _card(number: str, cvc: str | None = None) -> dict[str, Any]:
    card = {
        "card_number": number,
        "card_exp_month": "12",
        "card_exp_year": "2030",
        "card_holder_name": "Ada Lovelace",
    }
    if cvc is not None:
        card["card_cvc"] = cvc
    return {"card": card}


def _masked(pm: dict[str, Any]) -> str:
    card = pm.get("payment_method_data", {}).get("card", {})
    return (
        f"{pm['id']}: {card.get('card_network')} {card.get('card_isin')}******"
        f"{card.get('last4_digits')} exp {card.get('expiry_month')}/{card.get('expiry_year')}"
    )


def run_demo(target: Target, console: Console) -> int:
    with httpx.Client(base_url=target.url, timeout=30.0, trust_env=False) as http:
        demo = Demo(target, console, http)
        state: dict[str, str] = {}

        def customer() -> str:
            body = demo.call(
                "POST", "/v2/customers", {"name": "Ada Lovelace", "email": "ada@example.com"}
            )
            state["customer"] = body["id"]
            return f"customer {body['id']}"

        def save() -> str:
            body = demo.call(
                "POST",
                "/v2/payment-methods",
                {
                    "customer_id": state["customer"],
                    "payment_method_type": "card",
                    "payment_method_subtype": "credit",
                    "payment_method_data": _card(APPROVED_CARD),
                },
            )
            state["pm"] = body["id"]
            return "saved in the vault (only aliases stay here): " + _masked(body)

        def listed() -> str:
            body = demo.call("GET", f"/v2/customers/{state['customer']}/saved-payment-methods")
            methods = body.get("customer_payment_methods", [])
            if not any(pm.get("id") == state["pm"] for pm in methods):
                raise StepFailed("the saved card is not in the customer's list")
            return "; ".join(_masked(pm) for pm in methods)

        def pay(payment_method: dict[str, Any], want: str) -> str:
            body = demo.call(
                "POST",
                "/v2/payments",
                {
                    "customer_id": state["customer"],
                    "amount_details": {"order_amount": 1000, "currency": "USD"},
                    **payment_method,
                },
            )
            status = body.get("status")
            error = body.get("error") or {}
            if status != want:
                raise StepFailed(f"payment {body.get('id')} is {status}, expected {want}")
            detail = f" ({error.get('code')}: {error.get('message')})" if error else ""
            return f"payment {body['id']}: {status}{detail}, 10.00 USD via {body.get('connector')}"

        def approved() -> str:
            return pay({"payment_method_id": state["pm"]}, "succeeded")

        def declined() -> str:
            return pay(
                {
                    "payment_method_type": "card",
                    "payment_method_subtype": "credit",
                    "payment_method_data": _card(DECLINED_CARD, cvc="123"),
                },
                "failed",
            )

        def delete() -> str:
            demo.call("DELETE", f"/v2/payment-methods/{state['pm']}")
            gone = http.get(f"/v2/payment-methods/{state['pm']}", headers=target.headers())
            if gone.status_code != 404:
                raise StepFailed(f"the deleted card still answers HTTP {gone.status_code}")
            return f"deleted {state['pm']} here and its aliases in the vault"

        steps: list[tuple[str, Callable[[], str]]] = [
            ("create a customer", customer),
            (f"save the card {APPROVED_CARD[:6]}******{APPROVED_CARD[-4:]}", save),
            ("list the customer's cards (masked)", listed),
            ("pay 10.00 USD with the saved card", approved),
            (f"pay with the decline card {DECLINED_CARD[:6]}******{DECLINED_CARD[-4:]}", declined),
            ("delete the saved card", delete),
        ]
        try:
            for title, run in steps:
                demo.step(title, run)
        except (StepFailed, httpx.HTTPError, KeyError) as exc:
            console.print(f"[red]  failed:[/red] {exc}", highlight=False)
            return 1
    console.print("[green]demo complete[/green]")
    return 0
