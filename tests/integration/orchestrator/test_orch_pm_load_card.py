"""load_card: the payments' way to get a saved card back from its vault, with the CVC sent
with the payment or the one kept VOLATILE when the card was saved."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from orch_support import assert_error, new_merchant
from pm_support import (
    AMEX,
    HOLDER,
    MASTERCARD,
    VISA,
    PmWorld,
    caller_of,
    card,
    in_process,
    pm_world,
    record_of,
)

from vaultswitch.domain.errors import AliasNotFound, InvalidCardData
from vaultswitch.domain.secret import Secret
from vaultswitch.orchestrator.errors import ApiError
from vaultswitch.orchestrator.vaulting import load_card


@pytest.fixture(params=["sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PmWorld]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    with pm_world(tmp_path, database_url=url) as live:
        yield live


@pytest.mark.parametrize("multi_token", [False, True], ids=["single", "multi"])
async def test_the_saved_card_comes_back_with_its_stored_or_given_cvc(
    world: PmWorld, multi_token: bool
) -> None:
    world.set_vault(external=True, multi_token=multi_token)
    with_cvc = world.saved(card(VISA, card_cvc="123"))
    without = world.saved(card(MASTERCARD))
    async with in_process(world) as ctx:
        caller = await caller_of(ctx, world.merchant)
        record = await record_of(ctx, world.merchant.merchant_id, with_cvc["id"])
        stored = await load_card(ctx, caller, record, None)
        given = await load_card(ctx, caller, record, Secret("987"))
        plain = await load_card(
            ctx, caller, await record_of(ctx, world.merchant.merchant_id, without["id"]), None
        )
        with pytest.raises(InvalidCardData):
            await load_card(ctx, caller, record, Secret("12"))
    assert stored.number.reveal() == VISA
    assert (stored.expiry.month, stored.expiry.year) == (3, 2030)
    assert stored.holder_name == HOLDER
    assert stored.cvc is not None
    assert stored.cvc.reveal() == "123"
    assert given.cvc is not None
    assert given.cvc.reveal() == "987"
    assert plain.number.reveal() == MASTERCARD
    assert plain.cvc is None


@pytest.mark.parametrize("multi_token", [False, True], ids=["single", "multi"])
async def test_an_expired_cvc_alias_is_a_404_that_says_to_send_the_cvc(
    world: PmWorld, multi_token: bool
) -> None:
    world.set_vault(external=True, multi_token=multi_token)
    box = world.vault.external
    before = {e.alias for e in world.vault.creates(box)}
    saved = world.saved(card(AMEX, card_cvc="7373"))
    [cvc_alias] = [
        e.alias
        for e in world.vault.creates(box)
        if e.alias not in before and "VOLATILE" in (e.detail or "")
    ]
    world.vault.drop(box, cvc_alias, "VOLATILE")  # what the vault's TTL does after an hour
    async with in_process(world) as ctx:
        caller = await caller_of(ctx, world.merchant)
        record = await record_of(ctx, world.merchant.merchant_id, saved["id"])
        with pytest.raises(AliasNotFound) as caught:
            await load_card(ctx, caller, record, None)
        fresh = await load_card(ctx, caller, record, Secret("1234"))
    assert caught.value.status == 404
    assert "VOLATILE" in caught.value.hint
    assert "card_cvc" in caught.value.hint
    assert fresh.number.reveal() == AMEX


async def test_another_merchant_cannot_load_the_card(world: PmWorld) -> None:
    saved = world.saved(card(VISA))
    other = new_merchant(world.orch, "Other Shop")
    async with in_process(world) as ctx:
        record = await record_of(ctx, world.merchant.merchant_id, saved["id"])
        with pytest.raises(ApiError) as caught:
            await load_card(ctx, await caller_of(ctx, other), record, None)
    assert caught.value.status == 404


async def test_a_deleted_vault_account_leaves_a_readable_row_that_can_be_deleted(
    world: PmWorld,
) -> None:
    saved = world.saved(card(VISA))
    world.set_vault(external=False)
    gone = world.http.delete(
        f"/v2/connector-accounts/{world.connector_id}",
        headers=world.orch.admin(world.merchant.merchant_id),
    )
    assert gone.status_code == 200, gone.text
    got = world.http.get(f"/v2/payment-methods/{saved['id']}", headers=world.headers)
    assert got.status_code == 200
    async with in_process(world) as ctx:
        caller = await caller_of(ctx, world.merchant)
        record = await record_of(ctx, world.merchant.merchant_id, saved["id"])
        with pytest.raises(ApiError) as caught:
            await load_card(ctx, caller, record, None)
    assert (caught.value.status, caught.value.code) == (424, "vault_connector_not_found")
    deleted = world.http.delete(f"/v2/payment-methods/{saved['id']}", headers=world.headers)
    assert deleted.status_code == 200, deleted.text
    assert_error(
        world.http.get(f"/v2/payment-methods/{saved['id']}", headers=world.headers), 404, "HE_02"
    )


def _use_account(world: PmWorld, client_id: str, client_secret: str) -> None:
    response = world.http.put(
        f"/v2/connector-accounts/{world.connector_id}",
        json={
            "connector_type": "vault_processor",
            "connector_account_details": {
                "auth_type": "SignatureKey",
                "api_key": client_id,
                "key1": client_secret,
                "api_secret": world.vault.external.vault_id,
            },
        },
        headers=world.orch.admin(world.merchant.merchant_id),
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "active", response.text


def test_a_vault_error_on_delete_keeps_the_payment_method(world: PmWorld) -> None:
    saved = world.saved(card(VISA))
    box = world.vault.external
    before = set(world.vault.created_aliases(box))
    assert before
    # the vault account may read and write, but not delete
    account, secret = world.vault.service.create_service_account(
        [box.vault_id], scopes=("aliases:read", "aliases:write")
    )
    _use_account(world, account.client_id, secret.reveal())
    refused = world.http.delete(f"/v2/payment-methods/{saved['id']}", headers=world.headers)
    error = assert_error(refused, 424, "vault_permission_denied")
    assert "aliases:delete" in error["message"]
    still = world.http.get(f"/v2/payment-methods/{saved['id']}", headers=world.headers)
    assert still.status_code == 200
    assert all(world.vault.value(box, alias) is not None for alias in before)

    _use_account(world, box.client_id, box.client_secret)
    retried = world.http.delete(f"/v2/payment-methods/{saved['id']}", headers=world.headers)
    assert retried.status_code == 200, retried.text
    assert all(world.vault.value(box, alias) is None for alias in before)
