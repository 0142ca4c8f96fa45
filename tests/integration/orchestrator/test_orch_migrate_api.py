"""The vault-migration API beyond the happy path: bad requests named by field, isolation
between merchants, a crash between the target insert and the switch (nothing stored
twice), concurrent steps (each payment method moved once, SQLite and PostgreSQL), a card
that cannot be read, an expired CVC, a card that does not match its fingerprint, a card
two customers share (its source alias kept until both have moved), limits and customers,
the internal vault as the source."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from orch_migrate_support import MigrationWorld, luhn_number, migration_world
from orch_support import assert_error, new_merchant
from pm_support import in_process, record_of

from vaultswitch.orchestrator.vaulting import DATA


@pytest.fixture
def world(tmp_path: Path) -> Iterator[MigrationWorld]:
    with migration_world(tmp_path) as built:
        yield built


@pytest.fixture(params=["sqlite", "postgres"])
def any_world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MigrationWorld]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    with migration_world(tmp_path, database_url=url) as built:
        yield built


def _ids(world: MigrationWorld, pm_id: str) -> Any:
    async def read() -> Any:
        async with in_process(world) as ctx:  # type: ignore[arg-type]
            return (await record_of(ctx, world.merchant.merchant_id, pm_id)).vault_ids

    return asyncio.run(read())


def test_bad_requests_are_named_by_field(world: MigrationWorld) -> None:
    post = world.http.post
    url = "/v2/vault-migrations"
    a, b = world.account_a, world.account_b

    def start(body: dict[str, Any]) -> Any:
        return post(url, json=body, headers=world.headers)

    error = assert_error(start({"from_connector_id": a, "to_connector_id": a}), 422, "IR_06")
    assert error["field"] == "to_connector_id"
    error = assert_error(start({"from_connector_id": "mca_x", "to_connector_id": b}), 404, "HE_02")
    assert error["field"] == "from_connector_id"
    processor = world.http.get(
        f"/v2/profiles/{world.merchant.profile_id}/connector-accounts", headers=world.headers
    )
    assert processor.status_code == 200, processor.text
    (sandbox,) = [x for x in processor.json() if x["connector_type"] == "payment_processor"]
    error = assert_error(
        start({"from_connector_id": a, "to_connector_id": sandbox["id"]}), 422, "IR_06"
    )
    assert error["field"] == "to_connector_id"
    error = assert_error(
        start({"from_connector_id": a, "to_connector_id": b, "customer_id": "cell1_cus_x"}),
        404,
        "HE_02",
    )
    assert "customer" in error["message"].lower()
    assert_error(start({"from_connector_id": a}), 400, "IR_04")
    error = assert_error(start({"from_connector_id": a, "to_connector_id": b, "x": 1}), 400)
    assert error["field"] == "x"
    error = assert_error(
        start({"from_connector_id": a, "to_connector_id": b, "token_mode": "both"}), 400, "IR_07"
    )
    assert error["field"] == "token_mode"
    error = assert_error(start({"from_connector_id": a, "to_connector_id": b, "limit": 0}), 400)
    assert error["field"] == "limit"

    migration = world.start()
    step = f"{url}/{migration['id']}/step"
    error = assert_error(post(step, json={"batch_size": 21}, headers=world.headers), 400, "IR_07")
    assert error["field"] == "batch_size"
    assert_error(post(f"{url}/vmig_nope/step", headers=world.headers), 404, "HE_02")
    assert_error(world.http.get(f"{url}/vmig_nope", headers=world.headers), 404, "HE_02")
    error = assert_error(
        world.http.get(f"{url}/{migration['id']}/items?status=gone", headers=world.headers),
        400,
        "IR_07",
    )
    assert error["field"] == "status"
    assert_error(post(url, json={"from_connector_id": a, "to_connector_id": b}), 401, "IR_01")


def test_another_merchant_sees_nothing(world: MigrationWorld) -> None:
    world.save(luhn_number())
    migration = world.start()
    other = new_merchant(world.orch, "Other Shop")
    for path in ("", "/items"):
        response = world.http.get(
            f"/v2/vault-migrations/{migration['id']}{path}", headers=other.headers
        )
        assert_error(response, 404, "HE_02")
    for phase in ("step", "verify", "delete-source"):
        response = world.http.post(
            f"/v2/vault-migrations/{migration['id']}/{phase}", headers=other.headers
        )
        assert_error(response, 404, "HE_02")
    response = world.http.post(
        "/v2/vault-migrations",
        json={"from_connector_id": world.account_a, "to_connector_id": world.account_b},
        headers=other.headers,
    )
    assert_error(response, 404, "HE_02")
    # the admin key with X-Merchant-Id is the merchant
    response = world.http.get(
        f"/v2/vault-migrations/{migration['id']}",
        headers=world.orch.admin(world.merchant.merchant_id),
    )
    assert response.status_code == 200, response.text


def test_a_crash_between_insert_and_switch_stores_nothing_twice(
    world: MigrationWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vaultswitch.orchestrator.repos import payment_methods as pm_repo

    pm_ids = [world.save(luhn_number(), cvc="123"), world.save(luhn_number())]
    migration = world.start()

    def crash(*args: Any, **kwargs: Any) -> bool:
        raise RuntimeError("the database went away after the vault insert")

    # a failure no real server produces on demand: the process dies after the vault insert
    monkeypatch.setattr(pm_repo, "switch_vault", crash)
    response = world.http.post(
        f"/v2/vault-migrations/{migration['id']}/step", headers=world.headers
    )
    assert_error(response, 500, "HE_00")
    monkeypatch.undo()
    copied = world.created(world.vault_b, world.box_b)
    assert len(copied) == 3  # two cards and a CVC reached vault B
    after_crash = world.migration(migration["id"])
    assert after_crash["counts"]["pending"] == 2  # nothing switched, claims released
    for pm_id in pm_ids:
        assert world.pm(pm_id)["external_vault_source"] == world.account_a

    results = world.run(migration["id"])
    assert {r["status"] for r in results} == {"moved"}
    assert sorted(world.created(world.vault_b, world.box_b)) == sorted(copied)
    for pm_id in pm_ids:
        assert set(_ids(world, pm_id).aliases.values()) <= set(copied)
        assert world.pay(pm_id).json()["status"] == "succeeded"


def test_concurrent_steps_move_each_payment_method_once(any_world: MigrationWorld) -> None:
    world = any_world
    pm_ids = [world.save(luhn_number()) for _ in range(16)]
    migration = world.start()
    mid = migration["id"]

    def worker(_: int) -> list[dict[str, Any]]:
        import httpx

        results: list[dict[str, Any]] = []
        with httpx.Client(base_url=world.orch.url, timeout=120) as http:
            while True:
                response = http.post(
                    f"/v2/vault-migrations/{mid}/step",
                    json={"batch_size": 3},
                    headers=world.headers,
                )
                assert response.status_code == 200, response.text
                body = response.json()
                results += body["results"]
                if not body["more"]:
                    return results

    with ThreadPoolExecutor(4) as pool:
        everything = [r for found in pool.map(worker, range(4)) for r in found]
    # each payment method was handled by one step only: one result each, all moved
    assert sorted(r["payment_method_id"] for r in everything) == sorted(pm_ids)
    assert {r["status"] for r in everything} == {"moved"}
    assert world.migration(mid)["counts"]["moved"] == len(pm_ids)
    created = world.created(world.vault_b, world.box_b)
    assert len(created) == len(pm_ids)


def test_what_cannot_move_is_said_and_tried_again(world: MigrationWorld) -> None:
    gone = world.save(luhn_number())
    lost_alias = _ids(world, gone).aliases[DATA]
    world.vault_a.drop(world.box_a, lost_alias, "PERSISTENT")
    expired = world.save(luhn_number(), cvc="123")
    world.vault_a.drop(world.box_a, _ids(world, expired).aliases["card_cvc"], "VOLATILE")
    deleted = world.save(luhn_number())
    fine = world.save(luhn_number(), cvc="321")
    migration = world.start()
    response = world.http.delete(f"/v2/payment-methods/{deleted}", headers=world.headers)
    assert response.status_code == 200, response.text

    results = {r["payment_method_id"]: r for r in world.run(migration["id"])}
    assert results[gone]["status"] == "failed"
    assert results[gone]["reason"] == "alias_not_found"
    assert results[gone]["hint"]
    assert lost_alias not in results[gone]["message"]  # stored: aliases are sealed elsewhere
    assert (results[expired]["status"], results[expired]["reason"]) == ("moved", "cvc_expired")
    assert world.pm(expired)["card_cvc_token_storage"]["is_stored"] is False
    assert "card_cvc" not in _ids(world, expired).aliases
    assert (results[deleted]["status"], results[deleted]["reason"]) == (
        "skipped",
        "payment_method_deleted",
    )
    assert results[fine]["status"] == "moved"
    assert world.pm(fine)["card_cvc_token_storage"]["is_stored"] is True
    summary = world.migration(migration["id"])
    assert summary["status"] == "completed"
    assert summary["counts"]["failed"] == 1

    # a later run (same accounts) continues this migration and tries the failed one again
    again = world.start()
    assert again["id"] == migration["id"]
    assert again["resumed"] is True
    retried = world.run(migration["id"])
    assert [(r["payment_method_id"], r["status"]) for r in retried] == [(gone, "failed")]
    # delete-source cannot finish the migration while something failed to move
    assert {r["status"] for r in world.run(migration["id"], "verify")} == {"ok"}
    world.run(migration["id"], "delete-source")
    assert world.migration(migration["id"])["status"] == "completed"
    page = world.http.get(
        f"/v2/vault-migrations/{migration['id']}/items?status=failed,skipped&limit=1",
        headers=world.headers,
    ).json()
    assert page["total_count"] == 2
    assert page["count"] == 1


def test_a_card_that_does_not_match_its_fingerprint_is_not_moved(world: MigrationWorld) -> None:
    from vaultswitch.orchestrator.schema import payment_methods

    one, other = world.save(luhn_number()), world.save(luhn_number())
    other_ids = _ids(world, other)

    async def corrupt() -> None:  # the row points at another card's alias
        async with in_process(world) as ctx:  # type: ignore[arg-type]
            sealed = ctx.keyring.seal_json(other_ids.to_json(), f"payment_method:{one}:vault_ids")
            await ctx.db.write(
                lambda conn: conn.execute(
                    sa.update(payment_methods)
                    .where(payment_methods.c.id == one)
                    .values(vault_ids_sealed=sealed)
                )
            )

    asyncio.run(corrupt())
    results = {r["payment_method_id"]: r for r in world.run(world.start()["id"])}
    assert (results[one]["status"], results[one]["reason"]) == ("failed", "fingerprint_mismatch")
    assert results[other]["status"] == "moved"
    assert world.pm(one)["external_vault_source"] == world.account_a


def test_a_shared_alias_stays_until_its_last_holder_moves(world: MigrationWorld) -> None:
    number = luhn_number()
    first = world.save(number)
    grace = world.new_customer("Grace")
    second = world.save(number, customer_id=grace)
    alias = _ids(world, first).aliases[DATA]
    assert _ids(world, second).aliases[DATA] == alias  # the vault gave the card one alias

    mine = world.start(customer_id=world.customer_id)
    assert mine["total"] == 1
    world.run(mine["id"])
    world.run(mine["id"], "verify")
    (result,) = world.run(mine["id"], "delete-source")
    assert (result["status"], result["reason"]) == ("kept", "alias_shared")
    assert world.vault_a.value(world.box_a, alias) is not None
    assert world.pay(second).json()["status"] == "succeeded"  # still from vault A

    theirs = world.start(customer_id=grace)
    assert theirs["id"] != mine["id"]
    world.run(theirs["id"])
    world.run(theirs["id"], "verify")
    (result,) = world.run(theirs["id"], "delete-source")
    assert result["status"] == "deleted"
    assert world.vault_a.value(world.box_a, alias) is None


def test_the_limit_caps_a_migration_and_a_larger_one_adds_more(world: MigrationWorld) -> None:
    pm_ids = [world.save(luhn_number()) for _ in range(5)]
    first = world.start(limit=2)
    assert first["total"] == 2
    assert len(world.run(first["id"])) == 2
    more = world.start(limit=3)
    assert (more["id"], more["resumed"], more["total"]) == (first["id"], True, 3)
    assert len(world.run(first["id"])) == 1
    rest = world.start()
    assert rest["total"] == 5
    assert rest["todo"]["move"] == 2
    world.run(first["id"])
    assert sorted(
        p for p in pm_ids if world.pm(p)["external_vault_source"] == world.account_b
    ) == sorted(pm_ids)


def test_a_single_token_card_can_become_multi_token(world: MigrationWorld) -> None:
    pm_id = world.save(luhn_number(), cvc="123")
    migration = world.start(token_mode="multi")
    assert world.run(migration["id"])[0]["status"] == "moved"
    ids = _ids(world, pm_id)
    assert ids.mode == "multi"
    assert {"card_number", "card_exp_month", "card_exp_year", "card_cvc"} <= set(ids.aliases)
    assert world.pay(pm_id).json()["status"] == "succeeded"
    assert world.run(migration["id"], "verify")[0]["status"] == "ok"


def test_the_internal_vault_is_a_source_like_any_other(tmp_path: Path) -> None:
    with migration_world(tmp_path, internal=True) as world:
        response = world.http.put(
            f"/v2/profiles/{world.merchant.profile_id}",
            json={"is_external_vault_enabled": False},
            headers=world.orch.admin(world.merchant.merchant_id),
        )
        assert response.status_code == 200, response.text
        pm_id = world.save(luhn_number(), cvc="123")
        assert world.pm(pm_id)["external_vault_source"] is None
        migration = world.start(from_connector_id="internal")
        assert world.run(migration["id"])[0]["status"] == "moved"
        assert world.pm(pm_id)["external_vault_source"] == world.account_b
        assert world.run(migration["id"], "verify")[0]["status"] == "ok"
        assert world.run(migration["id"], "delete-source")[0]["status"] == "deleted"
        assert world.pay(pm_id).json()["status"] == "succeeded"


def test_a_payment_method_deleted_after_its_move_loses_its_source_aliases_too(
    world: MigrationWorld,
) -> None:
    kept, dropped = world.save(luhn_number(), cvc="123"), world.save(luhn_number(), cvc="456")
    source = {pm_id: _ids(world, pm_id) for pm_id in (kept, dropped)}
    migration = world.start()
    world.run(migration["id"])
    target_alias = _ids(world, dropped).aliases[DATA]
    response = world.http.delete(f"/v2/payment-methods/{dropped}", headers=world.headers)
    assert response.status_code == 200, response.text
    assert world.vault_b.value(world.box_b, target_alias) is None  # a normal delete: vault B
    assert world.vault_a.value(world.box_a, source[dropped].aliases[DATA]) is not None

    verified = {r["payment_method_id"]: r for r in world.run(migration["id"], "verify")}
    assert (verified[dropped]["status"], verified[dropped]["reason"]) == (
        "skipped",
        "payment_method_deleted",
    )
    assert verified[kept]["status"] == "ok"
    results = world.run(migration["id"], "delete-source")
    deleted = {r["payment_method_id"]: r["status"] for r in results}
    assert deleted == {kept: "deleted", dropped: "deleted"}
    for ids in source.values():
        assert world.vault_a.value(world.box_a, ids.aliases[DATA]) is None
        assert world.vault_a.value(world.box_a, ids.aliases["card_cvc"], "VOLATILE") is None
    assert world.migration(migration["id"])["status"] == "source_deleted"
    # over: the next start is a new migration
    assert world.start()["id"] != migration["id"]
