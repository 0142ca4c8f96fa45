"""Vault-migration tests: two instances of our vault on loopback (two data dirs, two
servers), an orchestrator with a VGS connector account on each, the sandbox processor, a
merchant whose profile saves into the first vault; helpers to save cards, pay with them,
drive the migration API and read what each vault holds."""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from orch_pay_support import LiveProcessor, processor_account, serve_processor
from orch_support import MerchantSetup, Orchestrator, new_merchant, orchestrator_settings
from orch_support import serve_orchestrator as serve_orch
from pm_support import PmVault, VaultBox, serve_pm_vault

from vaultswitch.domain.secret import Secret

#: what the vault audit says of an insert that stored a new value
CREATED = "created"


def luhn_number(prefix: str = "4111", length: int = 16, rng: random.Random | None = None) -> str:
    """A random valid card number (the sandbox processor approves any valid card that is
    not one of its fixed-outcome numbers)."""
    pick = rng or random.Random(secrets.randbits(32))
    body = prefix + "".join(str(pick.randrange(10)) for _ in range(length - len(prefix) - 1))
    total = 0
    for index, char in enumerate(reversed(body)):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return body + str((10 - total % 10) % 10)


def card_fields(
    number: str, cvc: str | None = None, holder: str = "Ada Lovelace"
) -> dict[str, Any]:
    body = {
        "card_number": number,
        "card_exp_month": "11",
        "card_exp_year": "2031",
        "card_holder_name": holder,
    }
    if cvc is not None:
        body["card_cvc"] = cvc
    return body


@dataclass
class MigrationWorld:
    orch: Orchestrator
    vault_a: PmVault
    vault_b: PmVault
    processor: LiveProcessor
    merchant: MerchantSetup
    account_a: str
    account_b: str
    customer_id: str
    numbers: dict[str, str] = field(default_factory=dict, repr=False)  # pm id -> number

    @property
    def http(self) -> httpx.Client:
        return self.orch.http

    @property
    def headers(self) -> dict[str, str]:
        return self.merchant.headers

    @property
    def box_a(self) -> VaultBox:
        return self.vault_a.external

    @property
    def box_b(self) -> VaultBox:
        return self.vault_b.external

    def use_vault(self, account_id: str, *, multi_token: bool) -> None:
        response = self.http.put(
            f"/v2/profiles/{self.merchant.profile_id}",
            json={
                "is_external_vault_enabled": True,
                "external_vault_connector_details": {
                    "vault_connector_id": account_id,
                    "multi_token": multi_token,
                },
            },
            headers=self.orch.admin(self.merchant.merchant_id),
        )
        assert response.status_code == 200, response.text

    def new_customer(self, name: str = "Grace") -> str:
        response = self.http.post(
            "/v2/customers",
            json={"name": name, "email": f"{name.lower()}@example.test"},
            headers=self.headers,
        )
        assert response.status_code == 200, response.text
        customer_id: str = response.json()["id"]
        return customer_id

    def save(self, number: str, *, cvc: str | None = None, customer_id: str | None = None) -> str:
        response = self.http.post(
            "/v2/payment-methods",
            json={
                "customer_id": customer_id or self.customer_id,
                "payment_method_type": "card",
                "payment_method_subtype": "credit",
                "payment_method_data": {"card": card_fields(number, cvc)},
            },
            headers=self.headers,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["duplicate"] is False, body
        pm_id: str = body["id"]
        self.numbers[pm_id] = number
        return pm_id

    def proxy_card(self, number: str, cvc: str | None = None) -> str:
        """A card collected straight into vault A (as VGS Collect would) and recorded as a
        proxy_card."""
        proxy: dict[str, Any] = {
            "card_number": self.vault_a.put(self.box_a, number),
            "card_exp_month": "11",
            "card_exp_year": "2031",
            "bin_number": number[:6],
            "last_four": number[-4:],
            "card_holder_name": "Ada Lovelace",
        }
        if cvc is not None:
            proxy["card_cvc"] = self.vault_a.put(self.box_a, cvc, storage="VOLATILE")
        response = self.http.post(
            "/v2/payment-methods",
            json={
                "customer_id": self.customer_id,
                "payment_method_type": "card",
                "payment_method_subtype": "credit",
                "payment_method_data": {"proxy_card": proxy},
            },
            headers=self.headers,
        )
        assert response.status_code == 200, response.text
        pm_id: str = response.json()["id"]
        self.numbers[pm_id] = number
        return pm_id

    def pm(self, pm_id: str) -> dict[str, Any]:
        response = self.http.get(f"/v2/payment-methods/{pm_id}", headers=self.headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def pay(self, pm_id: str, http: httpx.Client | None = None) -> httpx.Response:
        client = http or self.http
        return client.post(
            "/v2/payments",
            json={
                "amount_details": {"order_amount": 1000, "currency": "USD"},
                "payment_method_id": pm_id,
            },
            headers={**self.headers, "Idempotency-Key": secrets.token_hex(12)},
        )

    # --- the migration API ---------------------------------------------------------------

    def start(self, **body: Any) -> dict[str, Any]:
        payload = {"from_connector_id": self.account_a, "to_connector_id": self.account_b}
        payload.update(body)
        response = self.http.post("/v2/vault-migrations", json=payload, headers=self.headers)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def step(self, migration_id: str, phase: str = "step", **body: Any) -> dict[str, Any]:
        response = self.http.post(
            f"/v2/vault-migrations/{migration_id}/{phase}", json=body, headers=self.headers
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def run(self, migration_id: str, phase: str = "step", **body: Any) -> list[dict[str, Any]]:
        """Every result of the phase, stepping until nothing remains."""
        results: list[dict[str, Any]] = []
        first = True
        while True:
            answer = self.step(migration_id, phase, restart=first, **body)
            first = False
            results += answer["results"]
            if not answer["more"]:
                return results

    def migration(self, migration_id: str) -> dict[str, Any]:
        response = self.http.get(f"/v2/vault-migrations/{migration_id}", headers=self.headers)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    # --- what the vaults hold -------------------------------------------------------------

    def created(self, vault: PmVault, box: VaultBox) -> list[str]:
        """The aliases of every value the vault stored new (a value sent again that the
        vault already had is audited as found, not created)."""
        return [event.alias for event in vault.creates(box) if event.detail.startswith(CREATED)]


@contextmanager
def migration_world(
    tmp_path: Path, *, database_url: str | None = None, internal: bool = False
) -> Iterator[MigrationWorld]:
    """``internal``: the orchestrator's internal vault is the second vault of vault A's
    server."""
    with ExitStack() as stack:
        vault_a = stack.enter_context(serve_pm_vault(tmp_path / "vault-a"))
        vault_b = stack.enter_context(serve_pm_vault(tmp_path / "vault-b"))
        processor = stack.enter_context(serve_processor())
        overrides: dict[str, Any] = {}
        if database_url is not None:
            overrides["database_url"] = database_url
        if internal:
            box = vault_a.internal
            overrides.update(
                internal_vault_base_url=vault_a.url + "/{vault_id}/",
                internal_vault_auth_base_url=vault_a.url + "/",
                internal_vault_id=box.vault_id,
                internal_vault_client_id=box.client_id,
                internal_vault_client_secret=Secret(box.client_secret),
            )
        orch = stack.enter_context(
            serve_orch(orchestrator_settings(tmp_path / "orchestrator", **overrides))
        )
        merchant = new_merchant(orch)
        admin = orch.admin(merchant.merchant_id)
        accounts = []
        for label, vault in (("vault-a", vault_a), ("vault-b", vault_b)):
            body = {**vault.account_body(merchant.profile_id), "connector_label": label}
            response = orch.http.post("/v2/connector-accounts", json=body, headers=admin)
            assert response.status_code == 200, response.text
            assert response.json()["status"] == "active", response.text
            accounts.append(response.json()["id"])
        response = orch.http.post(
            "/v2/connector-accounts",
            json=processor_account(merchant.profile_id, processor.url),
            headers=admin,
        )
        assert response.status_code == 200, response.text
        world = MigrationWorld(
            orch, vault_a, vault_b, processor, merchant, accounts[0], accounts[1], ""
        )
        world.customer_id = world.new_customer("Ada")
        world.use_vault(world.account_a, multi_token=False)
        yield world
