"""Vault migrations over HTTP between two instances of our vault, on SQLite and PostgreSQL:
every payment method moves (single-token, multi-token, with and without a CVC, a proxy
card, a card two customers share) while payments run with no failure; the copies verify;
the source aliases stay readable until delete-source and only the unshared ones go."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from orch_migrate_support import MigrationWorld, luhn_number, migration_world
from pm_support import in_process, record_of

from vaultswitch.orchestrator.vaulting import DATA, MULTI, PROXY, SINGLE, VaultIds


@pytest.fixture(params=["sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MigrationWorld]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    with migration_world(tmp_path, database_url=url) as built:
        yield built


async def _source_ids(world: MigrationWorld, pm_ids: list[str]) -> dict[str, VaultIds]:
    async with in_process(world) as ctx:  # type: ignore[arg-type]
        return {
            pm_id: (await record_of(ctx, world.merchant.merchant_id, pm_id)).vault_ids
            for pm_id in pm_ids
        }


class Payer:
    """Pays with every saved card in a loop, in a thread of its own, until stopped."""

    def __init__(self, world: MigrationWorld, pm_ids: list[str]) -> None:
        self.world = world
        self.pm_ids = pm_ids
        self.answers: list[tuple[str, int, str]] = []
        self.rounds = 0
        self.progress = threading.Condition()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        with httpx.Client(base_url=self.world.orch.url, timeout=60) as http:
            while not self.stopping.is_set():
                for pm_id in self.pm_ids:
                    response = self.world.pay(pm_id, http)
                    body = response.json()
                    status = body.get("status") or body.get("error", {}).get("code", "?")
                    self.answers.append((pm_id, response.status_code, status))
                with self.progress:
                    self.rounds += 1
                    self.progress.notify_all()

    def wait_rounds(self, more: int) -> None:
        """Until ``more`` whole rounds of payments have run from now."""
        with self.progress:
            goal = self.rounds + more
            assert self.progress.wait_for(lambda: self.rounds >= goal, timeout=120)

    def __enter__(self) -> Payer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=120)


def _saved_cards(world: MigrationWorld) -> dict[str, str]:
    """Cards of every shape in vault A: pm id -> kind."""
    kinds: dict[str, str] = {}
    # numbers of tests/data/cards.json: the run-wide scan looks for them in the database and
    # the server logs (tests/card_leaks.py)
    for number, cvc in (
        ("4111111111111111", "123"),
        ("5555555555554444", None),
        (luhn_number(), "456"),
    ):
        kinds[world.save(number, cvc=cvc)] = "single+cvc" if cvc else "single"
    shared = "4012888888881881"
    kinds[world.save(shared, cvc="123")] = "single+cvc"  # same CVC value: a shared alias
    other = world.new_customer("Grace")
    kinds[world.save(shared, customer_id=other)] = "single shared"
    world.use_vault(world.account_a, multi_token=True)
    for number, cvc in (("6011111111111117", "789"), (luhn_number(), None)):
        kinds[world.save(number, cvc=cvc)] = "multi+cvc" if cvc else "multi"
    world.use_vault(world.account_a, multi_token=False)
    kinds[world.proxy_card(luhn_number(), cvc="321")] = "proxy"
    return kinds


def _value(world: MigrationWorld, alias: str, name: str) -> str | None:
    storage = "VOLATILE" if name == "card_cvc" else "PERSISTENT"
    return world.vault_a.value(world.box_a, alias, storage)


def test_every_card_moves_while_payments_run_and_the_source_goes_last(
    world: MigrationWorld,
) -> None:
    kinds = _saved_cards(world)
    pm_ids = list(kinds)
    before = asyncio.run(_source_ids(world, pm_ids))
    assert {ids.mode for ids in before.values()} == {SINGLE, MULTI, PROXY}
    created_in_b = world.created(world.vault_b, world.box_b)
    assert created_in_b == []

    started = world.start()
    assert started["status"] == "running"
    assert started["total"] == len(pm_ids)
    assert started["resumed"] is False
    migration_id = started["id"]

    results: list[dict[str, Any]] = []
    with Payer(world, pm_ids) as payer:
        payer.wait_rounds(1)
        more = True
        while more:
            answer = world.step(migration_id, batch_size=2)
            results += answer["results"]
            more = answer["more"]
            payer.wait_rounds(1)  # payments between every two steps
    failed = [a for a in payer.answers if a[1] != 200 or a[2] != "succeeded"]
    assert failed == []
    assert len(payer.answers) >= 5 * len(pm_ids)

    assert sorted(r["payment_method_id"] for r in results) == sorted(pm_ids)
    assert {r["status"] for r in results} == {"moved"}, results
    for pm_id in pm_ids:
        assert world.pm(pm_id)["external_vault_source"] == world.account_b
    summary = world.migration(migration_id)
    assert summary["status"] == "completed"
    assert summary["counts"]["moved"] == len(pm_ids)
    assert summary["source"]["pending"] == len(pm_ids)

    after = asyncio.run(_source_ids(world, pm_ids))
    for pm_id, ids in after.items():
        expected = SINGLE if kinds[pm_id].startswith("single") else MULTI
        assert ids.mode == expected, kinds[pm_id]
        assert ("card_cvc" in ids.aliases) == ("card_cvc" in before[pm_id].aliases)
        for name, alias in ids.aliases.items():
            storage = "VOLATILE" if name == "card_cvc" else "PERSISTENT"
            assert world.vault_b.value(world.box_b, alias, storage) is not None, name

    # the target holds each value once: the shared card and the shared CVC one alias each
    created_in_b = world.created(world.vault_b, world.box_b)
    assert len(created_in_b) == len(set(created_in_b))
    assert after[pm_ids[3]].aliases[DATA] == after[pm_ids[4]].aliases[DATA]

    verified = world.run(migration_id, "verify")
    assert sorted(r["payment_method_id"] for r in verified) == sorted(pm_ids)
    assert {r["status"] for r in verified} == {"ok"}, verified

    # nothing of the source is gone yet; payments that read the old reference still work
    for pm_id, ids in before.items():
        for name, alias in ids.aliases.items():
            assert _value(world, alias, name) is not None, (kinds[pm_id], name)

    deleted = {r["payment_method_id"]: r for r in world.run(migration_id, "delete-source")}
    assert deleted[next(p for p, k in kinds.items() if k == "proxy")]["reason"] == (
        "proxy_card_kept"
    )
    assert world.migration(migration_id)["status"] == "source_deleted"
    for pm_id, ids in before.items():
        for name, alias in ids.aliases.items():
            gone = _value(world, alias, name) is None
            if kinds[pm_id] == "proxy" or name in ("card_exp_month", "card_exp_year"):
                assert not gone, (kinds[pm_id], name)  # not ours / shared by design
            elif name == "card_holder_name":
                assert not gone
            else:
                assert gone, (kinds[pm_id], name)

    # paying still works, from vault B only
    for pm_id in pm_ids:
        response = world.pay(pm_id)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "succeeded"


def test_a_dry_run_reads_every_card_and_changes_nothing(world: MigrationWorld) -> None:
    pm_ids = [world.save(luhn_number(), cvc="123"), world.save(luhn_number())]
    aliases_in_a = world.created(world.vault_a, world.box_a)
    started = world.start(dry_run=True)
    assert started["dry_run"] is True
    results = world.run(started["id"])
    assert {r["status"] for r in results} == {"would_move"}
    assert sorted(r["payment_method_id"] for r in results) == sorted(pm_ids)
    for pm_id in pm_ids:
        assert world.pm(pm_id)["external_vault_source"] == world.account_a
    assert world.created(world.vault_b, world.box_b) == []
    assert world.created(world.vault_a, world.box_a) == aliases_in_a
    for phase in ("verify", "delete-source"):
        response = world.http.post(
            f"/v2/vault-migrations/{started['id']}/{phase}", headers=world.headers
        )
        assert response.status_code == 422, response.text
        assert response.json()["error"]["field"] == "dry_run"
    # a dry run is never continued: the real run starts afresh and moves both
    real = world.start()
    assert real["id"] != started["id"]
    assert real["resumed"] is False
    assert {r["status"] for r in world.run(real["id"])} == {"moved"}
