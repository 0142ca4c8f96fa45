"""POST /v2/payment-methods/import over HTTP against our vault: cards put straight into the
vault (card JSON aliases, per-field aliases, a bare number alias) become payment methods
that dedup against normal saves and can be paid with; missing aliases, malformed rows,
metadata-less rows with reveal on and off; replays of an import; the request's limits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from import_support import card_alias, field_aliases, put_many, set_reveal
from orch_pay_support import APPROVED, processor_account, serve_processor
from orch_support import assert_error
from pm_support import PmWorld, card, pm_world

from vaultswitch.domain.digits import luhn_check_digit

IMPORT = "/v2/payment-methods/import"
VISA = "4111111111111111"
MASTERCARD = "5555555555554444"
AMEX = "378282246310005"
NUMBERS = (VISA, MASTERCARD, AMEX, APPROVED)


@pytest.fixture(params=["sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PmWorld]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    with pm_world(tmp_path, database_url=url) as live:
        yield live


@pytest.fixture
def sqlite_world(tmp_path: Path) -> Iterator[PmWorld]:
    with pm_world(tmp_path) as live:
        yield live


def send(world: PmWorld, rows: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    response = world.http.post(IMPORT, json={"rows": rows, **extra}, headers=world.headers)
    assert response.status_code == 200, response.text
    for number in NUMBERS:
        assert number not in response.text
    body: dict[str, Any] = response.json()
    return body


def results(body: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {r["row"]: r for r in body["rows"]}


def pm(world: PmWorld, pm_id: str) -> dict[str, Any]:
    response = world.http.get(f"/v2/payment-methods/{pm_id}", headers=world.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["payment_method_data"]["card"]
    return data


def test_good_duplicate_missing_and_malformed_rows(world: PmWorld) -> None:
    single = card_alias(world, VISA, "03", "2030", "Ada Lovelace")
    fields = field_aliases(world, MASTERCARD, "04", "2031", "Grace Hopper")
    rows = [
        {"row": 2, "customer_reference": "cust-1", "customer_name": "Ada", "alias": single},
        {"row": 3, "customer_reference": "cust-2", **fields},
        {"row": 4, "customer_reference": "cust-1", "alias": single},
        {"row": 5, "customer_reference": "cust-1", "alias": "tok_sandbox_missing00000"},
        {"row": 6, "customer_reference": "cust-3", "alias": VISA},
        {"row": 7, "customer_reference": "cust-3", "alias": single, "last4": "12x4"},
        {"row": 8, "customer_reference": "cust-3", "alias": single, "card_number": "tok_x"},
        {"row": 9, "customer_reference": "cust-3", "card_number": fields["card_number"]},
        {"row": 10, "customer_reference": "cust-3", "alias": single, "last4": "0000"},
        {"row": 11, "alias": single},
        {"row": 12, "customer_reference": "cust-3", "alias": single, "colour": "red"},
        {
            "row": 13,
            "customer_reference": "cust-4",
            "card_number": fields["card_number"],
            "card_exp_month": "tok_nope_month",
            "card_exp_year": fields["card_exp_year"],
        },
    ]
    body = send(world, rows)
    got = results(body)
    assert body["alias_check"] == "revealed"
    assert [r["row"] for r in body["rows"]] == [r["row"] for r in rows]
    assert {n: r["status"] for n, r in got.items()} == {
        2: "imported",
        3: "imported",
        4: "duplicate",
        5: "alias_not_found",
        6: "invalid",
        7: "invalid",
        8: "invalid",
        9: "invalid",
        10: "invalid",
        11: "invalid",
        12: "invalid",
        13: "alias_not_found",
    }
    assert got[4]["payment_method_id"] == got[2]["payment_method_id"]
    assert got[4]["customer_id"] == got[2]["customer_id"]
    assert got[3]["customer_id"] != got[2]["customer_id"]
    reasons = {n: r["reason"] for n, r in got.items()}
    assert reasons[5].startswith("alias: the vault has no value")
    assert "aliases only" in reasons[6]
    assert reasons[7].startswith("last4:")
    assert reasons[8].startswith("alias: give either alias")
    assert reasons[9].startswith("card_exp_month: missing")
    assert reasons[10] == "last4: does not match the card in the vault"
    assert reasons[11] == "customer_reference: missing"
    assert reasons[12] == "colour: unknown field"
    assert reasons[13] == "card_exp_month: the vault has no value under this alias"
    for n in (5, 6, 7, 8, 9, 10, 11, 12, 13):
        assert got[n]["payment_method_id"] is None
    # what was imported: the metadata filled from the revealed cards
    visa = pm(world, got[2]["payment_method_id"])
    assert (visa["card_isin"], visa["last4_digits"], visa["card_network"]) == (
        "411111",
        "1111",
        "Visa",
    )
    assert (visa["expiry_month"], visa["expiry_year"], visa["card_holder_name"]) == (
        "03",
        "2030",
        "Ada Lovelace",
    )
    master = pm(world, got[3]["payment_method_id"])
    assert (master["last4_digits"], master["card_network"], master["expiry_year"]) == (
        "4444",
        "Mastercard",
        "2031",
    )
    assert master["card_holder_name"] == "Grace Hopper"
    # the customer was created with the merchant's reference, and holds one card
    customer = world.http.get("/v2/customers/reference/cust-1", headers=world.headers).json()
    assert customer["id"] == got[2]["customer_id"]
    assert customer["name"] == "Ada"
    listed = world.http.get(
        f"/v2/customers/{customer['id']}/saved-payment-methods", headers=world.headers
    ).json()["customer_payment_methods"]
    assert [p["id"] for p in listed] == [got[2]["payment_method_id"]]


def test_an_imported_card_and_the_same_card_saved_normally_are_duplicates(
    sqlite_world: PmWorld,
) -> None:
    world = sqlite_world
    saved = world.saved(card(VISA))
    # give the customer a reference: import rows name customers by it
    customer = world.http.post(
        "/v2/customers",
        json={"name": "Bo", "email": "bo@example.com", "merchant_reference_id": "bo-1"},
        headers=world.headers,
    ).json()
    first = world.saved(card(VISA), customer_id=customer["id"])
    alias = card_alias(world, VISA, "03", "2030")
    got = results(send(world, [{"row": 1, "customer_reference": "bo-1", "alias": alias}]))
    assert got[1]["status"] == "duplicate"
    assert got[1]["payment_method_id"] == first["id"] != saved["id"]
    # and the other way round: a card imported first is a duplicate for a normal save
    other = card_alias(world, MASTERCARD, "05", "2032")
    got = results(send(world, [{"row": 1, "customer_reference": "bo-1", "alias": other}]))
    assert got[1]["status"] == "imported"
    again = world.saved(
        card(MASTERCARD, card_exp_month="05", card_exp_year="2032"), customer_id=customer["id"]
    )
    assert again["duplicate"] is True
    assert again["id"] == got[1]["payment_method_id"]


def test_a_bare_number_alias_needs_the_expiry_from_the_row(sqlite_world: PmWorld) -> None:
    world = sqlite_world
    (number,) = put_many(world, world.vault.external, [AMEX])
    got = results(
        send(
            world,
            [
                {"row": 1, "customer_reference": "c", "alias": number},
                {
                    "row": 2,
                    "customer_reference": "d",
                    "alias": number,
                    "expiry_month": "7",
                    "expiry_year": "33",
                },
            ],
        )
    )
    assert got[1]["status"] == "invalid"
    assert got[1]["reason"].startswith("expiry_month: missing; the alias holds only a card number")
    assert got[2]["status"] == "imported"
    amex = pm(world, got[2]["payment_method_id"])
    assert (amex["card_network"], amex["expiry_month"], amex["expiry_year"]) == (
        "AmericanExpress",
        "07",
        "2033",
    )


def test_expired_and_undecodable_cards_are_invalid(sqlite_world: PmWorld) -> None:
    world = sqlite_world
    expired = card_alias(world, VISA, "01", "2020")
    not_a_card = put_many(world, world.vault.external, ["hello, world"])[0]
    bad_luhn = card_alias(world, "4111111111111112")
    got = results(
        send(
            world,
            [
                {"row": 1, "customer_reference": "c", "alias": expired},
                {"row": 2, "customer_reference": "c", "alias": not_a_card},
                {"row": 3, "customer_reference": "c", "alias": bad_luhn},
            ],
        )
    )
    assert [got[n]["status"] for n in (1, 2, 3)] == ["invalid"] * 3
    assert got[1]["reason"].startswith("the card has expired")
    assert got[2]["reason"].startswith("alias: the vault's value under it is not a card")
    assert (
        got[3]["reason"]
        == "alias: the card in the vault is not valid: card_number fails the Luhn check"
    )


def test_reveal_off_takes_the_metadata_from_the_row_and_names_what_is_missing(
    world: PmWorld,
) -> None:
    single = card_alias(world, VISA, "03", "2030")
    fields = field_aliases(world, MASTERCARD, "04", "2031")
    set_reveal(world, False)
    body = send(
        world,
        [
            {
                "row": 1,
                "customer_reference": "c1",
                "alias": single,
                "last4": "1111",
                "card_isin": "411111",
                "expiry_month": "03",
                "expiry_year": "2030",
            },
            {
                "row": 2,
                "customer_reference": "c1",
                **fields,
                "last4": "4444",
                "expiry_month": "04",
                "expiry_year": "2031",
                "card_network": "Mastercard",
            },
            {"row": 3, "customer_reference": "c1", "alias": single},
            {"row": 4, "customer_reference": "c1", "alias": single, "last4": "1111"},
            {
                "row": 5,
                "customer_reference": "c1",
                "alias": single,
                "last4": "1111",
                "card_isin": "411111",
                "expiry_month": "03",
                "expiry_year": "2030",
            },
        ],
    )
    got = results(body)
    assert body["alias_check"] == "not_allowed"
    assert [got[n]["status"] for n in range(1, 6)] == [
        "imported",
        "imported",
        "invalid",
        "invalid",
        "duplicate",
    ]
    assert got[1]["reason"].startswith("not checked: the vault does not allow reveal")
    assert got[3]["reason"] == (
        "last4: missing; the vault does not allow reveal (HTTP 403), so the row must give "
        "last4, expiry_month, expiry_year (missing: last4, expiry_month, expiry_year)"
    )
    assert "(missing: expiry_month, expiry_year)" in got[4]["reason"]
    assert got[5]["payment_method_id"] == got[1]["payment_method_id"]
    visa = pm(world, got[1]["payment_method_id"])
    assert (visa["card_isin"], visa["last4_digits"], visa["card_network"]) == (
        "411111",
        "1111",
        "Visa",
    )
    assert pm(world, got[2]["payment_method_id"])["card_network"] == "Mastercard"


def test_a_replayed_row_of_an_import_is_imported_again(sqlite_world: PmWorld) -> None:
    world = sqlite_world
    alias = card_alias(world, VISA)
    rows = [{"row": 7, "customer_reference": "c", "alias": alias}]
    first = results(send(world, rows, import_id="imp_replay_test_1"))[7]
    again = results(send(world, rows, import_id="imp_replay_test_1"))[7]
    other = results(send(world, rows, import_id="imp_another_import"))[7]
    bare = results(send(world, rows))[7]
    assert first["status"] == again["status"] == "imported"
    assert again == first
    assert other["status"] == bare["status"] == "duplicate"
    assert other["payment_method_id"] == first["payment_method_id"]
    # the payment method deleted: the replay imports the card anew
    deleted = world.http.delete(
        f"/v2/payment-methods/{first['payment_method_id']}", headers=world.headers
    )
    assert deleted.status_code == 200
    alias = card_alias(world, VISA)  # the delete took the alias from the vault
    rows = [{"row": 7, "customer_reference": "c", "alias": alias}]
    renewed = results(send(world, rows, import_id="imp_replay_test_1"))[7]
    assert renewed["status"] == "imported"
    assert renewed["payment_method_id"] != first["payment_method_id"]


def test_imported_cards_can_be_paid_with(sqlite_world: PmWorld) -> None:
    world = sqlite_world
    with serve_processor() as processor:
        account = world.http.post(
            "/v2/connector-accounts",
            json=processor_account(world.merchant.profile_id, processor.url),
            headers=world.orch.admin(world.merchant.merchant_id),
        )
        assert account.status_code == 200, account.text
        single = card_alias(world, APPROVED, "12", "2031")
        fields = field_aliases(world, APPROVED, "11", "2032")
        (number,) = put_many(world, world.vault.external, [APPROVED])
        got = results(
            send(
                world,
                [
                    {"row": 1, "customer_reference": "payer-1", "alias": single},
                    {"row": 2, "customer_reference": "payer-2", **fields},
                    {
                        "row": 3,
                        "customer_reference": "payer-3",
                        "alias": number,
                        "expiry_month": "10",
                        "expiry_year": "2033",
                    },
                ],
            )
        )
        for n in (1, 2, 3):
            assert got[n]["status"] == "imported", got[n]
            payment = world.http.post(
                "/v2/payments",
                json={
                    "amount_details": {"order_amount": 1250, "currency": "USD"},
                    "customer_id": got[n]["customer_id"],
                    "payment_method_id": got[n]["payment_method_id"],
                    "payment_method_data": {"card_token": {"card_cvc": "123"}},
                },
                headers=world.headers,
            )
            assert payment.status_code == 200, payment.text
            assert payment.json()["status"] == "succeeded", payment.json()
            [authorization] = processor.authorizations(payment.json()["id"])
            assert authorization["card"]["last4"] == APPROVED[-4:]


def test_one_missing_alias_among_many_is_found_and_the_rest_imported(
    sqlite_world: PmWorld,
) -> None:
    world = sqlite_world
    numbers = []
    for i in range(19):
        partial = f"400000{i:09d}"
        numbers.append(partial + luhn_check_digit(partial))
    aliases = put_many(
        world,
        world.vault.external,
        [
            json.dumps({"card_number": n, "card_exp_month": "03", "card_exp_year": "2030"})
            for n in numbers
        ],
    )
    rows = [{"row": i, "customer_reference": f"c{i}", "alias": a} for i, a in enumerate(aliases)]
    rows.insert(9, {"row": 99, "customer_reference": "gone", "alias": "tok_gone_000000000"})
    got = results(send(world, rows))
    assert got[99]["status"] == "alias_not_found"
    assert sum(r["status"] == "imported" for r in got.values()) == 19


def test_the_request_is_checked_as_a_whole(sqlite_world: PmWorld) -> None:
    world = sqlite_world

    def post(body: Any) -> Any:
        return world.http.post(IMPORT, json=body, headers=world.headers)

    row = {"customer_reference": "c", "alias": "tok_abc"}
    assert_error(post({"rows": []}), 400, "IR_07")
    many = [{"row": i, **row} for i in range(21)]
    assert_error(post({"rows": many}), 400, "IR_07")
    error = assert_error(post({"rows": [row]}), 400, "IR_07")
    assert error["field"] == "rows[0].row"
    error = assert_error(post({"rows": [{"row": 1, **row}, {"row": 1, **row}]}), 400, "IR_07")
    assert error["field"] == "rows[1].row"
    assert_error(post({"rows": [{"row": 1, **row}], "import_id": "x"}), 400, "IR_07")
    assert_error(post({"rows": [{"row": 1, **row}], "colour": 1}), 400, "IR_07")
    response = world.http.post(IMPORT, json={"rows": [{"row": 1, **row}]})
    assert_error(response, 401, "IR_01")


def test_no_vault_for_the_profile_is_a_424(sqlite_world: PmWorld) -> None:
    world = sqlite_world
    world.http.post(
        f"/v2/connector-accounts/{world.connector_id}",
        json={"disabled": True},
        headers=world.orch.admin(world.merchant.merchant_id),
    )
    update = world.http.put(
        f"/v2/connector-accounts/{world.connector_id}",
        json={"connector_type": "vault_processor", "disabled": True},
        headers=world.orch.admin(world.merchant.merchant_id),
    )
    assert update.status_code == 200, update.text
    response = world.http.post(
        IMPORT,
        json={"rows": [{"row": 1, "customer_reference": "c", "alias": "tok_a"}]},
        headers=world.headers,
    )
    assert_error(response, 424, "vault_not_configured")
    # a batch of only invalid rows needs no vault
    body = send(world, [{"row": 1, "customer_reference": "c"}])
    assert body["rows"][0]["status"] == "invalid"
    assert body["alias_check"] == "none"


def test_concurrent_batches_of_the_same_rows_store_each_card_once(world: PmWorld) -> None:
    """Batches racing on the same new customers and cards (on PostgreSQL the losers of
    the race fall back to row-by-row storing): one payment method per card."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    numbers = []
    for i in range(20):
        partial = f"410000{i:09d}"
        numbers.append(partial + luhn_check_digit(partial))
    aliases = put_many(
        world,
        world.vault.external,
        [
            json.dumps({"card_number": n, "card_exp_month": "03", "card_exp_year": "2030"})
            for n in numbers
        ],
    )
    rows = [
        {"row": i, "customer_reference": f"race-{i % 5}", "alias": a} for i, a in enumerate(aliases)
    ]

    def post(_: int) -> dict[str, Any]:
        with httpx.Client(base_url=world.orch.url, timeout=60) as http:
            response = http.post(IMPORT, json={"rows": rows}, headers=world.headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(post, range(6)))
    for i in range(20):
        statuses = sorted(results(a)[i]["status"] for a in answers)
        assert statuses == ["duplicate"] * 5 + ["imported"], (i, statuses)
        assert len({results(a)[i]["payment_method_id"] for a in answers}) == 1
        assert len({results(a)[i]["customer_id"] for a in answers}) == 1
    customers = {results(answers[0])[i]["customer_id"] for i in range(20)}
    assert len(customers) == 5
    total = 0
    for customer_id in customers:
        listed = world.http.get(
            f"/v2/customers/{customer_id}/saved-payment-methods", headers=world.headers
        ).json()["customer_payment_methods"]
        total += len(listed)
    assert total == 20
