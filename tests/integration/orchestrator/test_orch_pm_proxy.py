"""proxy_card: a card whose fields are already aliases in the profile's vault (as VGS
Collect leaves them) is recorded without a vault write, deduplicated on its number alias,
read back through the vault by load_card, and deleted without touching the aliases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pm_support import VISA, PmWorld, caller_of, in_process, pm_world, record_of

from vaultswitch.orchestrator.vaulting import load_card


@pytest.fixture(params=["sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PmWorld]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    with pm_world(tmp_path, database_url=url) as live:
        yield live


def _proxy(world: PmWorld, proxy: dict[str, Any], customer_id: str | None = None) -> Any:
    return world.http.post(
        "/v2/payment-methods",
        json={
            "customer_id": customer_id or world.customer_id,
            "payment_method_type": "card",
            "payment_method_subtype": "debit",
            "payment_method_data": {"proxy_card": proxy},
        },
        headers=world.headers,
    )


async def test_proxy_card_is_recorded_without_a_vault_write(world: PmWorld) -> None:
    box = world.vault.external
    number = world.vault.put(box, VISA)
    cvc = world.vault.put(box, "842", "VOLATILE")
    writes = len(world.vault.creates(box))
    proxy = {
        "card_number": number,
        "card_exp_month": "7",
        "card_exp_year": "31",
        "card_cvc": cvc,
        "bin_number": "411111",
        "last_four": "1111",
        "card_holder_name": "Pat Proxy",
        "nick_name": "collected",
    }
    response = _proxy(world, proxy)
    assert response.status_code == 200, response.text
    saved = response.json()
    assert saved["duplicate"] is False
    assert saved["payment_method_subtype"] == "debit"
    assert saved["payment_method_data"]["card"] == {
        "issuer_country": None,
        "last4_digits": "1111",
        "expiry_month": "07",
        "expiry_year": "2031",
        "card_holder_name": "Pat Proxy",
        "card_fingerprint": None,
        "nick_name": "collected",
        "card_network": "Visa",
        "card_isin": "411111",
        "card_issuer": None,
        "card_type": "debit",
        "saved_to_locker": True,
    }
    assert saved["card_cvc_token_storage"] == {"is_stored": True, "expires_at": None}
    assert number not in response.text
    assert cvc not in response.text
    assert len(world.vault.creates(box)) == writes

    again = _proxy(world, proxy)
    assert again.json()["duplicate"] is True
    assert again.json()["id"] == saved["id"]
    other = _proxy(world, proxy, customer_id=world.new_customer(name="Bob"))
    assert other.json()["duplicate"] is False

    async with in_process(world) as ctx:
        caller = await caller_of(ctx, world.merchant)
        record = await record_of(ctx, world.merchant.merchant_id, saved["id"])
        loaded = await load_card(ctx, caller, record, None)
    assert loaded.number.reveal() == VISA
    assert (loaded.expiry.month, loaded.expiry.year) == (7, 2031)
    assert loaded.cvc is not None
    assert loaded.cvc.reveal() == "842"
    assert loaded.holder_name == "Pat Proxy"

    gone = world.http.delete(f"/v2/payment-methods/{saved['id']}", headers=world.headers)
    assert gone.status_code == 200, gone.text
    assert world.vault.value(box, number) == VISA  # not ours to delete
    assert world.vault.value(box, cvc, "VOLATILE") == "842"


async def test_aliased_expiry_is_revealed_when_the_card_is_loaded(world: PmWorld) -> None:
    box = world.vault.external
    proxy = {
        "card_number": world.vault.put(box, "5555555555554444"),
        "card_exp_month": world.vault.put(box, "04"),
        "card_exp_year": world.vault.put(box, "2032"),
    }
    response = _proxy(world, proxy)
    assert response.status_code == 200, response.text
    saved = response.json()
    details = saved["payment_method_data"]["card"]
    assert (details["expiry_month"], details["expiry_year"]) == (None, None)
    assert details["card_isin"] is None
    assert details["card_network"] is None
    assert saved["card_cvc_token_storage"]["is_stored"] is False
    async with in_process(world) as ctx:
        caller = await caller_of(ctx, world.merchant)
        record = await record_of(ctx, world.merchant.merchant_id, saved["id"])
        loaded = await load_card(ctx, caller, record, None)
    assert loaded.number.reveal() == "5555555555554444"
    assert (loaded.expiry.month, loaded.expiry.year) == (4, 2032)
    assert loaded.cvc is None
