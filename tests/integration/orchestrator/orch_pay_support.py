"""Payments tests: the sandbox processor on loopback and a merchant set up to take payments
(VGS account on our live vault as the profile's external vault, a sandbox processor
account, a customer)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from orch_support import LiveVault, MerchantSetup, Orchestrator, new_merchant

from live_uvicorn import LiveServer
from vaultswitch.processor.app import create_app as create_processor_app
from vaultswitch.processor.settings import ProcessorSettings

TESTS_DIR = Path(__file__).resolve().parents[2]
CARDS: dict[str, Any] = json.loads((TESTS_DIR / "data" / "cards.json").read_text("utf-8"))
#: card number -> "succeeded" or its decline code
OUTCOMES: dict[str, str] = CARDS["sandbox_processor_outcomes"]["cards"]
DECLINES: dict[str, str] = {n: code for n, code in OUTCOMES.items() if code != "succeeded"}
APPROVED = "4242424242424242"
OTHER_APPROVED = "5555555555554444"
AMEX = "378282246310005"
#: every test card number, to look for in files and logs
ALL_NUMBERS: tuple[str, ...] = tuple(
    sorted({*OUTCOMES, *(n for numbers in CARDS["valid"].values() for n in numbers)})
)
PROCESSOR_KEY = "sk_test_orch_payments_" + secrets.token_hex(4)


@dataclass(frozen=True)
class LiveProcessor:
    """The sandbox processor on loopback."""

    url: str
    api_key: str

    def authorizations(self, reference: str) -> list[dict[str, Any]]:
        """What the processor authorized (or declined) for a payment id."""
        response = httpx.get(
            f"{self.url}/v1/authorizations",
            params={"reference": reference},
            headers={"Authorization": f"Bearer {self.api_key}"},
        )
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data


@contextmanager
def serve_processor(**settings: Any) -> Iterator[LiveProcessor]:
    config = ProcessorSettings(api_key=PROCESSOR_KEY, **settings)
    server = LiveServer(create_processor_app(config)).start()
    try:
        yield LiveProcessor(server.url, PROCESSOR_KEY)
    finally:
        server.stop()


def processor_account(
    profile_id: str, base_url: str, api_key: str = PROCESSOR_KEY
) -> dict[str, Any]:
    """A ``POST /v2/connector-accounts`` body for a sandbox processor account."""
    return {
        "connector_type": "payment_processor",
        "connector_name": "sandbox",
        "profile_id": profile_id,
        "connector_account_details": {"auth_type": "HeaderKey", "api_key": api_key},
        "metadata": {"base_url": base_url},
    }


def card(number: str = APPROVED, **override: Any) -> dict[str, Any]:
    """``payment_method_data.card`` (a None override leaves that field out)."""
    amex = number.startswith(("34", "37"))
    body: dict[str, Any] = {
        "card_number": number,
        "card_exp_month": "12",
        "card_exp_year": "2099",
        "card_cvc": "1234" if amex else "123",
        "card_holder_name": "Ada Lovelace",
    }
    body.update(override)
    return {k: v for k, v in body.items() if v is not None}


@dataclass
class Shop:
    """A merchant ready to take payments."""

    orch: Orchestrator
    setup: MerchantSetup
    customer_id: str
    processor_account_id: str
    vault_account_id: str | None

    @property
    def headers(self) -> dict[str, str]:
        return self.setup.headers

    def amount(self, order_amount: int = 1050, currency: str = "USD") -> dict[str, Any]:
        return {"order_amount": order_amount, "currency": currency}

    def card_payment(self, number: str = APPROVED, **extra: Any) -> dict[str, Any]:
        """A ``POST /v2/payments`` body paying with a new card."""
        return {
            "amount_details": self.amount(),
            "customer_id": self.customer_id,
            "payment_method_type": "card",
            "payment_method_subtype": "credit",
            "payment_method_data": {"card": card(number)},
            **extra,
        }

    def saved_payment(self, pm_id: str, cvc: str | None = None, **extra: Any) -> dict[str, Any]:
        """A ``POST /v2/payments`` body paying with a saved card."""
        body: dict[str, Any] = {
            "amount_details": self.amount(),
            "customer_id": self.customer_id,
            "payment_method_id": pm_id,
            **extra,
        }
        if cvc is not None:
            body["payment_method_data"] = {"card_token": {"card_cvc": cvc}}
        return body

    def pay(self, body: dict[str, Any], key: str | None = None, **headers: str) -> httpx.Response:
        sent = {**self.headers, **headers}
        if key is not None:
            sent["Idempotency-Key"] = key
        return self.orch.http.post("/v2/payments", json=body, headers=sent)

    def paid(self, body: dict[str, Any], key: str | None = None) -> dict[str, Any]:
        response = self.pay(body, key)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def save_card(self, number: str = APPROVED, *, with_cvc: bool = False) -> str:
        """A saved card (``POST /v2/payment-methods``) of the shop's customer."""
        data = card(number)
        if not with_cvc:
            data.pop("card_cvc")
        response = self.orch.http.post(
            "/v2/payment-methods",
            json={
                "customer_id": self.customer_id,
                "payment_method_type": "card",
                "payment_method_subtype": "credit",
                "payment_method_data": {"card": data},
            },
            headers=self.headers,
        )
        assert response.status_code == 200, response.text
        pm_id: str = response.json()["id"]
        return pm_id

    def get(self, payment_id: str) -> httpx.Response:
        return self.orch.http.get(f"/v2/payments/{payment_id}", headers=self.headers)


def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def open_shop(
    orch: Orchestrator,
    processor_url: str,
    vault: LiveVault | None = None,
    *,
    name: str = "Acme Shop",
    processor_key: str = PROCESSOR_KEY,
) -> Shop:
    """A merchant with (when ``vault`` is given) our vault as its profile's external vault,
    a sandbox processor account at ``processor_url`` and a customer."""
    setup = new_merchant(orch, name)
    admin = orch.admin(setup.merchant_id)
    vault_account_id = None
    if vault is not None:
        vgs = _created(
            orch.http.post(
                "/v2/connector-accounts", json=vault.vgs_account(setup.profile_id), headers=admin
            )
        )
        assert vgs["status"] == "active", vgs
        vault_account_id = vgs["id"]
        _created(
            orch.http.put(
                f"/v2/profiles/{setup.profile_id}",
                json={
                    "is_external_vault_enabled": True,
                    "external_vault_connector_details": {"vault_connector_id": vgs["id"]},
                },
                headers=setup.headers,
            )
        )
    processor = _created(
        orch.http.post(
            "/v2/connector-accounts",
            json=processor_account(setup.profile_id, processor_url, processor_key),
            headers=admin,
        )
    )
    customer = _created(
        orch.http.post(
            "/v2/customers",
            json={"name": "Ada Lovelace", "email": "ada@example.test"},
            headers=setup.headers,
        )
    )
    return Shop(orch, setup, customer["id"], processor["id"], vault_account_id)
