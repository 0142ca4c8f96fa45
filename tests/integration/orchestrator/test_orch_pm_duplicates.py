"""Duplicates: the same card saved twice by a customer is one payment method and one vault
write; concurrent saves end in one row, and the loser's extra aliases leave the vault;
aliases the vault shares between payment methods survive the delete of one of them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from orch_support import new_merchant
from pm_support import (
    MASTERCARD,
    VISA,
    PmWorld,
    caller_of,
    card,
    in_process,
    pm_world,
    setup_merchant,
)

from vaultswitch.domain.cards import Card
from vaultswitch.orchestrator import payment_methods as service
from vaultswitch.orchestrator import vaulting
from vaultswitch.orchestrator.repos.payment_methods import CardDisplay


def _db_url(request: pytest.FixtureRequest) -> str | None:
    return request.getfixturevalue("postgres_url") if request.param == "postgres" else None


@pytest.fixture(params=["sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PmWorld]:
    with pm_world(tmp_path, database_url=_db_url(request)) as live:
        yield live


@pytest.fixture(params=["sqlite", "postgres"])
def plain_world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PmWorld]:
    """A vault without fingerprinting: every insert gets new aliases, as some VGS vaults."""
    with pm_world(tmp_path, database_url=_db_url(request), fingerprinting=False) as live:
        yield live


def _listed(world: PmWorld, customer_id: str | None = None) -> list[dict[str, Any]]:
    response = world.http.get(
        f"/v2/customers/{customer_id or world.customer_id}/saved-payment-methods",
        headers=world.headers,
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["customer_payment_methods"]
    return items


def test_the_same_card_twice_is_one_payment_method_and_one_vault_write(
    plain_world: PmWorld,
) -> None:
    world = plain_world
    box = world.vault.external
    first = world.saved(card(VISA))
    writes = len(world.vault.creates(box))
    again = world.create(card("4111 1111 1111 1111", card_cvc="123", card_holder_name="J Q C"))
    assert again.status_code == 200, again.text
    second = again.json()
    assert second["duplicate"] is True
    assert second["id"] == first["id"]
    assert {k: v for k, v in second.items() if k != "duplicate"} == {
        k: v for k, v in first.items() if k != "duplicate"
    }
    assert len(world.vault.creates(box)) == writes  # no vault write at all, not even the CVC
    assert [item["id"] for item in _listed(world)] == [first["id"]]
    # a reissued card (new expiry) is a new payment method; another customer's copy too
    renewed = world.saved(card(VISA, card_exp_year="2031"))
    assert renewed["duplicate"] is False
    other_customer = world.new_customer(name="Bob")
    theirs = world.saved(card(VISA), customer_id=other_customer)
    assert theirs["duplicate"] is False
    assert theirs["id"] != first["id"]
    assert len(_listed(world)) == 2


def test_an_alias_shared_through_vault_fingerprinting_outlives_one_delete(world: PmWorld) -> None:
    world.set_vault(external=False)  # the internal vault: shared by every merchant
    box = world.vault.internal
    before = world.vault.created_aliases(box)
    mine = world.saved(card(MASTERCARD, card_cvc="555"))
    created = [a for a in world.vault.created_aliases(box) if a not in before]
    other = setup_merchant(world.orch, world.vault, "Other Shop")
    other.set_vault(external=False)
    theirs = other.saved(card(MASTERCARD, card_cvc="555"))
    events = [e for e in world.vault.creates(box) if e.alias not in before]
    assert {e.alias for e in events} == set(created)  # the vault answered the same aliases
    assert any("deduplicated" in (e.detail or "") for e in events)
    [card_alias] = [a for a in created if world.vault.value(box, a) is not None]
    [cvc_alias] = [a for a in created if a != card_alias]

    gone = world.http.delete(f"/v2/payment-methods/{mine['id']}", headers=world.headers)
    assert gone.status_code == 200, gone.text
    assert MASTERCARD in (world.vault.value(box, card_alias) or "")  # the other one holds it
    assert world.vault.value(box, cvc_alias, "VOLATILE") == "555"
    assert (
        world.http.get(f"/v2/payment-methods/{theirs['id']}", headers=other.headers).status_code
        == 200
    )

    gone = world.http.delete(f"/v2/payment-methods/{theirs['id']}", headers=other.headers)
    assert gone.status_code == 200, gone.text
    assert world.vault.value(box, card_alias) is None  # the last holder is gone: so is it
    assert world.vault.value(box, cvc_alias, "VOLATILE") is None


def test_concurrent_identical_saves_give_one_payment_method(plain_world: PmWorld) -> None:
    world = plain_world
    box = world.vault.external
    before = world.vault.created_aliases(box)
    count = 6
    barrier = threading.Barrier(count)
    body = {
        "customer_id": world.customer_id,
        "payment_method_type": "card",
        "payment_method_subtype": "credit",
        "payment_method_data": {"card": card(VISA)},
    }

    def save(_: int) -> httpx.Response:
        with httpx.Client(base_url=world.orch.url, timeout=60) as http:
            barrier.wait()
            return http.post("/v2/payment-methods", json=body, headers=world.headers)

    with ThreadPoolExecutor(count) as pool:
        responses = list(pool.map(save, range(count)))
    assert [r.status_code for r in responses] == [200] * count, [r.text for r in responses]
    bodies = [r.json() for r in responses]
    assert len({b["id"] for b in bodies}) == 1
    assert sorted(b["duplicate"] for b in bodies) == [False] + [True] * (count - 1)
    assert len(_listed(world)) == 1
    created = [a for a in world.vault.created_aliases(box) if a not in before]
    alive = [a for a in created if world.vault.value(box, a) is not None]
    assert len(created) >= 1
    assert len(alive) == 1  # every alias a losing save wrote was deleted again
    assert VISA in (world.vault.value(box, alive[0]) or "")


@pytest.mark.parametrize("fingerprinting", [False, True])
async def test_the_losing_save_deletes_only_aliases_no_payment_method_holds(
    tmp_path: Path, fingerprinting: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Force the interleaving: save A writes to the vault and waits; save B of the same
    card completes; then A finds B's row and cleans up after itself."""
    with pm_world(tmp_path, fingerprinting=fingerprinting) as world:
        world.set_vault(external=True, multi_token=True)
        box = world.vault.external
        before = world.vault.created_aliases(box)
        the_card = Card.parse(VISA, "03", "2030", "123", "Jane Q Cardholder")
        display = CardDisplay(card_isin="411111", last4_digits="1111")
        kind = service.PaymentMethodKind(world.customer_id, "card", "credit", None)
        real = vaulting.save_card
        written, release = asyncio.Event(), asyncio.Event()
        calls = 0

        async def held_after_the_vault_write(*args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            saved = await real(*args, **kwargs)
            if calls == 1:
                written.set()
                await release.wait()
            return saved

        monkeypatch.setattr(vaulting, "save_card", held_after_the_vault_write)
        async with in_process(world) as ctx:
            caller = await caller_of(ctx, world.merchant)
            loser = asyncio.create_task(service.save_card(ctx, caller, kind, the_card, display))
            await written.wait()
            mine = {
                e.alias: e.detail or "" for e in world.vault.creates(box) if e.alias not in before
            }
            number = next(a for a in mine if world.vault.value(box, a) == VISA)
            month = next(a for a in mine if world.vault.value(box, a) == "03")
            [cvc] = [a for a, detail in mine.items() if "VOLATILE" in detail]
            winner = await service.save_card(ctx, caller, kind, the_card, display)
            release.set()
            lost = await loser
        assert winner.duplicate is False
        assert lost.duplicate is True
        assert lost.record.id == winner.record.id
        assert len(_listed(world)) == 1
        held = winner.record.vault_ids.aliases
        assert world.vault.value(box, held["card_number"]) == VISA
        assert world.vault.value(box, held["card_cvc"], "VOLATILE") == "123"
        if fingerprinting:  # the vault handed both saves the same aliases: nothing deleted
            assert set(mine) == set(held.values())
        else:  # the loser's own number and CVC aliases are gone; expiry aliases are kept
            assert not set(mine) & set(held.values())
            assert world.vault.value(box, number) is None
            assert world.vault.value(box, cvc, "VOLATILE") is None
            assert world.vault.value(box, month) == "03"


def test_two_merchants_with_one_card_are_not_duplicates(world: PmWorld) -> None:
    mine = world.saved(card(VISA))
    other = setup_merchant(world.orch, world.vault, "Other Shop")
    theirs = other.saved(card(VISA))
    assert theirs["duplicate"] is False
    assert theirs["id"] != mine["id"]
    stranger = new_merchant(world.orch, "Third Shop")
    assert (
        world.http.get(f"/v2/payment-methods/{mine['id']}", headers=stranger.headers).status_code
        == 404
    )


def test_concurrent_deletes_of_payment_methods_sharing_aliases_delete_them(
    world: PmWorld,
) -> None:
    box = world.vault.external
    before = world.vault.created_aliases(box)
    customers = [world.customer_id] + [world.new_customer(name=f"C{i}") for i in range(3)]
    saved = [world.saved(card(VISA, card_cvc="123"), customer_id=c) for c in customers]
    shared = {a for a in world.vault.created_aliases(box) if a not in before}
    assert len(shared) == 2  # the card and the CVC: one alias each, held by all four
    barrier = threading.Barrier(len(saved))

    def delete(pm: dict[str, Any]) -> int:
        with httpx.Client(base_url=world.orch.url, timeout=60) as http:
            barrier.wait()
            response = http.delete(f"/v2/payment-methods/{pm['id']}", headers=world.headers)
            return response.status_code

    with ThreadPoolExecutor(len(saved)) as pool:
        assert list(pool.map(delete, saved)) == [200] * len(saved)
    for alias in shared:  # the last holder to go took them with it
        assert world.vault.value(box, alias) is None
        assert world.vault.value(box, alias, "VOLATILE") is None
