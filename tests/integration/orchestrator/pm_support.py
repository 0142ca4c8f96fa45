"""Payment-method tests: our vault on loopback with two vaults (one behind a VGS connector
account, one as the orchestrator's internal vault), an orchestrator pointed at both, a
merchant with a customer, and helpers to read what the vault holds."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from orch_support import (
    MerchantSetup,
    Orchestrator,
    new_merchant,
    orchestrator_settings,
    serve_orchestrator,
)

from live_uvicorn import LiveServer
from vaultswitch.domain.secret import Secret

DATA = Path(__file__).resolve().parents[2] / "data" / "cards.json"
CARDS: dict[str, Any] = json.loads(DATA.read_text())
VISA = "4111111111111111"
MASTERCARD = "5555555555554444"
AMEX = "378282246310005"
HOLDER = "Jane Q Cardholder"


def all_valid_numbers() -> list[str]:
    return [number for numbers in CARDS["valid"].values() for number in numbers]


def card(number: str = VISA, **fields: Any) -> dict[str, Any]:
    body = {
        "card_number": number,
        "card_exp_month": "03",
        "card_exp_year": "2030",
        "card_holder_name": HOLDER,
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


@dataclass
class VaultBox:
    """One vault on the live vault server: its ids and credentials."""

    vault_id: str
    client_id: str
    client_secret: str


@dataclass
class PmVault:
    """The live vault server, its service (to read the audit and the stored values)."""

    url: str
    service: Any  # vaultswitch.vault.core.service.VaultService (imported in tests only)
    external: VaultBox
    internal: VaultBox

    def account_body(self, profile_id: str) -> dict[str, Any]:
        return {
            "connector_type": "vault_processor",
            "connector_name": "vgs",
            "profile_id": profile_id,
            "connector_account_details": {
                "auth_type": "SignatureKey",
                "api_key": self.external.client_id,
                "key1": self.external.client_secret,
                "api_secret": self.external.vault_id,
            },
            "metadata": {
                "vault_base_url": self.url + "/{{vault_id}}/",
                "auth_base_url": self.url + "/",
            },
        }

    def creates(self, box: VaultBox) -> list[Any]:
        """Every alias.create audit event of that vault (one per value sent)."""
        return self.service.list_audit(vault_id=box.vault_id, action="alias.create", limit=1000)

    def created_aliases(self, box: VaultBox) -> list[str]:
        return [event.alias for event in self.creates(box)]

    def value(self, box: VaultBox, alias: str, storage: str = "PERSISTENT") -> str | None:
        """The value stored under the alias, None if the vault has none."""
        from vaultswitch.vault.core.errors import AliasNotFoundError
        from vaultswitch.vault.core.models import AuditContext

        try:
            records = self.service.reveal(box.vault_id, [alias], storage, AuditContext("test"))
        except AliasNotFoundError:
            return None
        secret = records[alias].value
        return str(secret.reveal() if isinstance(secret, Secret) else secret)

    def put(self, box: VaultBox, value: str, storage: str = "PERSISTENT", fmt: str = "UUID") -> str:
        """Store a value as a client-side SDK (VGS Collect) would; answers its alias."""
        from vaultswitch.vault.core.models import AuditContext, NewValue

        item = NewValue(Secret(value), fmt, ("collect",), storage)
        [record] = self.service.create_aliases(box.vault_id, [item], AuditContext("collect"))
        alias: str = record.aliases[0].alias
        return alias

    def drop(self, box: VaultBox, alias: str, storage: str) -> None:
        from vaultswitch.vault.core.models import AuditContext

        self.service.delete_aliases(box.vault_id, [alias], storage, AuditContext("test"))


@contextmanager
def serve_pm_vault(data_dir: Path, *, fingerprinting: bool = True) -> Iterator[PmVault]:
    """Our vault server (the vault is imported here, in the tests only)."""
    from vaultswitch.vault.core.service import VaultService
    from vaultswitch.vault.http.app import create_app as create_vault_app
    from vaultswitch.vault.settings import VaultSettings

    settings = VaultSettings(data_dir=data_dir, volatile_ttl=3600)
    data_dir.mkdir(parents=True, exist_ok=True)
    service = VaultService.open(settings)
    server = LiveServer(create_vault_app(settings, service)).start()
    try:
        boxes = []
        for name in ("external", "internal"):
            info = service.create_vault(name, fingerprinting=fingerprinting)
            account, secret = service.create_service_account([info.vault_id])
            boxes.append(VaultBox(info.vault_id, account.client_id, secret.reveal()))
        yield PmVault(server.url, service, boxes[0], boxes[1])
    finally:
        server.stop()
        service.close()


@dataclass
class PmWorld:
    """An orchestrator + vault, one merchant with a customer and a VGS connector account;
    the merchant's default profile starts on the external vault, single-token."""

    orch: Orchestrator
    vault: PmVault
    merchant: MerchantSetup
    customer_id: str
    connector_id: str

    @property
    def http(self) -> httpx.Client:
        return self.orch.http

    @property
    def headers(self) -> dict[str, str]:
        return self.merchant.headers

    def new_customer(self, merchant: MerchantSetup | None = None, name: str = "Ann") -> str:
        who = merchant or self.merchant
        response = self.http.post(
            "/v2/customers",
            json={"name": name, "email": f"{name.lower()}@example.com"},
            headers=who.headers,
        )
        assert response.status_code == 200, response.text
        customer_id: str = response.json()["id"]
        return customer_id

    def set_vault(self, *, external: bool, multi_token: bool = False) -> None:
        """Switch the default profile between the external vault (single or multi-token)
        and the internal vault."""
        body: dict[str, Any] = {"is_external_vault_enabled": external}
        if external:
            body["external_vault_connector_details"] = {
                "vault_connector_id": self.connector_id,
                "multi_token": multi_token,
            }
        response = self.http.put(
            f"/v2/profiles/{self.merchant.profile_id}",
            json=body,
            headers=self.orch.admin(self.merchant.merchant_id),
        )
        assert response.status_code == 200, response.text

    def create(
        self,
        card_fields: dict[str, Any] | None = None,
        *,
        customer_id: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> httpx.Response:
        body: dict[str, Any] = {
            "customer_id": customer_id or self.customer_id,
            "payment_method_type": "card",
            "payment_method_subtype": "credit",
            "payment_method_data": {"card": card_fields or card()},
        }
        body.update(extra)
        who = self.headers if headers is None else headers
        return self.http.post("/v2/payment-methods", json=body, headers=who)

    def saved(self, card_fields: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        response = self.create(card_fields, **kw)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def db_path(self) -> Path:
        return self.orch.settings.data_dir / "orchestrator.db"


def setup_merchant(orch: Orchestrator, vault: PmVault, name: str = "Acme Shop") -> PmWorld:
    merchant = new_merchant(orch, name)
    response = orch.http.post(
        "/v2/connector-accounts",
        json=vault.account_body(merchant.profile_id),
        headers=orch.admin(merchant.merchant_id),
    )
    assert response.status_code == 200, response.text
    account = response.json()
    assert account["status"] == "active", account
    world = PmWorld(orch, vault, merchant, "", account["id"])
    world.customer_id = world.new_customer()
    world.set_vault(external=True)
    return world


@contextmanager
def pm_world(
    tmp_path: Path, *, database_url: str | None = None, fingerprinting: bool = True
) -> Iterator[PmWorld]:
    with serve_pm_vault(tmp_path / "vault", fingerprinting=fingerprinting) as vault:
        box = vault.internal
        overrides: dict[str, Any] = {
            "internal_vault_base_url": vault.url + "/{vault_id}/",
            "internal_vault_auth_base_url": vault.url + "/",
            "internal_vault_id": box.vault_id,
            "internal_vault_client_id": box.client_id,
            "internal_vault_client_secret": Secret(box.client_secret),
        }
        if database_url is not None:
            overrides["database_url"] = database_url
        settings = orchestrator_settings(tmp_path / "orchestrator", **overrides)
        with serve_orchestrator(settings) as orch:
            yield setup_merchant(orch, vault)


# --- the orchestrator's own functions, in-process, on the same database and vault ---------


@asynccontextmanager
async def in_process(world: PmWorld) -> AsyncIterator[Any]:
    """An AppContext on the live orchestrator's database and master key, with its own vault
    client on this event loop: to call load_card and the save functions directly."""
    from vaultswitch.client import AsyncVaultClient
    from vaultswitch.orchestrator.app import open_context

    ctx = open_context(world.orch.settings)
    client = AsyncVaultClient()
    ctx._vault_client = client
    try:
        yield ctx
    finally:
        ctx._vault_client = None
        await client.aclose()
        ctx.db.close()


async def caller_of(ctx: Any, merchant: MerchantSetup) -> Any:
    """The Caller a request with this merchant's API key gets (its default profile)."""
    from vaultswitch.orchestrator.auth import Caller
    from vaultswitch.orchestrator.repos import merchants as merchants_repo
    from vaultswitch.orchestrator.repos import profiles as profiles_repo

    def load(conn: Any) -> Any:
        record = merchants_repo.get(conn, merchant.merchant_id)
        profile = profiles_repo.get(conn, merchant.merchant_id, merchant.profile_id)
        return Caller(record, profile, "api_key")

    return await ctx.db.read(load)


async def record_of(ctx: Any, merchant_id: str, pm_id: str) -> Any:
    from vaultswitch.orchestrator.repos import payment_methods as repo

    return await ctx.db.read(lambda conn: repo.get(conn, ctx.keyring, merchant_id, pm_id))
