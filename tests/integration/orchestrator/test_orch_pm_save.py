"""Saving, reading, listing and deleting cards through the orchestrator, against our vault
over HTTP: external vault (single- and multi-token) and internal vault."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from orch_support import assert_error, new_merchant
from pm_support import AMEX, HOLDER, MASTERCARD, VISA, PmWorld, card, pm_world


@pytest.fixture(params=["sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PmWorld]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    with pm_world(tmp_path, database_url=url) as live:
        yield live


@pytest.fixture
def sqlite_world(tmp_path: Path) -> Iterator[PmWorld]:
    with pm_world(tmp_path) as live:
        yield live


def _new_aliases(world: PmWorld, box: Any, before: list[str]) -> list[str]:
    return [a for a in world.vault.created_aliases(box) if a not in before]


def test_single_token_save_get_list_delete(world: PmWorld) -> None:
    box = world.vault.external
    before = world.vault.created_aliases(box)
    saved = world.saved(card(VISA, nick_name="work card"))
    assert saved["id"].startswith("cell1_pm_")
    assert saved["duplicate"] is False
    assert saved["merchant_id"] == world.merchant.merchant_id
    assert saved["customer_id"] == world.customer_id
    assert saved["payment_method_type"] == "card"
    assert saved["payment_method_subtype"] == "credit"
    assert saved["storage_type"] == "persistent"
    assert saved["card_cvc_token_storage"] == {"is_stored": False, "expires_at": None}
    assert saved["payment_method_data"]["card"] == {
        "issuer_country": None,
        "last4_digits": "1111",
        "expiry_month": "03",
        "expiry_year": "2030",
        "card_holder_name": HOLDER,
        "card_fingerprint": None,
        "nick_name": "work card",
        "card_network": "Visa",
        "card_isin": "411111",
        "card_issuer": None,
        "card_type": "credit",
        "saved_to_locker": True,
    }
    assert VISA not in json.dumps(saved)
    [alias] = _new_aliases(world, box, before)  # one PERSISTENT value: the card as JSON
    stored = json.loads(world.vault.value(box, alias) or "{}")
    assert stored == {
        "card_number": VISA,
        "card_exp_month": "03",
        "card_exp_year": "2030",
        "card_holder_name": HOLDER,
    }

    got = world.http.get(f"/v2/payment-methods/{saved['id']}", headers=world.headers)
    assert got.status_code == 200, got.text
    expected = {k: v for k, v in saved.items() if k != "duplicate"}
    assert got.json() == expected

    listed = world.http.get(
        f"/v2/customers/{world.customer_id}/saved-payment-methods", headers=world.headers
    )
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["customer_payment_methods"]
    assert item["id"] == saved["id"]
    assert item["payment_method_data"] == saved["payment_method_data"]
    assert item["requires_cvv"] is True
    assert item["is_default"] is False

    deleted = world.http.delete(f"/v2/payment-methods/{saved['id']}", headers=world.headers)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"id": saved["id"]}
    assert world.vault.value(box, alias) is None  # gone from the vault too
    assert_error(
        world.http.get(f"/v2/payment-methods/{saved['id']}", headers=world.headers), 404, "HE_02"
    )
    assert_error(
        world.http.delete(f"/v2/payment-methods/{saved['id']}", headers=world.headers),
        404,
        "HE_02",
    )
    again = world.http.get(
        f"/v2/customers/{world.customer_id}/saved-payment-methods", headers=world.headers
    )
    assert again.json() == {"customer_payment_methods": []}


def test_multi_token_stores_one_alias_per_field_and_delete_keeps_shared_expiry(
    world: PmWorld,
) -> None:
    world.set_vault(external=True, multi_token=True)
    box = world.vault.external
    before = world.vault.created_aliases(box)
    saved = world.saved(card(MASTERCARD, card_cvc="321"))
    assert saved["payment_method_data"]["card"]["card_network"] == "Mastercard"
    assert saved["card_cvc_token_storage"]["is_stored"] is True
    events = [e for e in world.vault.creates(box) if e.alias not in before]
    by_storage = {e.alias: (e.detail or "") for e in events}
    assert len(events) == 5  # number, month, year, holder name, CVC
    values = {alias: world.vault.value(box, alias) for alias in by_storage}
    number_alias = next(a for a, v in values.items() if v == MASTERCARD)
    month_alias = next(a for a, v in values.items() if v == "03")
    [cvc_alias] = [a for a, detail in by_storage.items() if "VOLATILE" in detail]
    assert world.vault.value(box, cvc_alias, "VOLATILE") == "321"

    deleted = world.http.delete(f"/v2/payment-methods/{saved['id']}", headers=world.headers)
    assert deleted.status_code == 200, deleted.text
    assert world.vault.value(box, number_alias) is None
    assert world.vault.value(box, cvc_alias, "VOLATILE") is None
    assert world.vault.value(box, month_alias) == "03"  # shared by every March card: kept


def test_internal_vault_when_the_external_one_is_disabled(world: PmWorld) -> None:
    world.set_vault(external=False)
    internal, external = world.vault.internal, world.vault.external
    before_external = world.vault.created_aliases(external)
    saved = world.saved(card(AMEX, card_cvc="1234"))
    assert saved["payment_method_data"]["card"]["card_network"] == "AmericanExpress"
    assert world.vault.created_aliases(external) == before_external
    aliases = world.vault.created_aliases(internal)
    values = [world.vault.value(internal, a) for a in aliases]
    assert any(v is not None and AMEX in v for v in values)
    # the profile switching back does not move the card: it is read from where it was saved
    world.set_vault(external=True)
    got = world.http.get(f"/v2/payment-methods/{saved['id']}", headers=world.headers)
    assert got.status_code == 200
    assert (
        world.http.delete(f"/v2/payment-methods/{saved['id']}", headers=world.headers).status_code
        == 200
    )
    assert all(world.vault.value(internal, a) is None for a in aliases if a is not None)


def test_cvc_is_kept_only_as_a_volatile_alias(sqlite_world: PmWorld) -> None:
    world = sqlite_world
    box = world.vault.external
    before = world.vault.created_aliases(box)
    saved = world.saved(card(VISA, card_cvc="947"))
    storage = saved["card_cvc_token_storage"]
    assert storage["is_stored"] is True
    assert storage["expires_at"] is not None
    events = [e for e in world.vault.creates(box) if e.alias not in before]
    assert sorted("VOLATILE" in (e.detail or "") for e in events) == [False, True]
    [cvc_alias] = [e.alias for e in events if "VOLATILE" in (e.detail or "")]
    assert world.vault.value(box, cvc_alias, "VOLATILE") == "947"
    card_alias = next(e.alias for e in events if e.alias != cvc_alias)
    assert "947" not in (world.vault.value(box, card_alias) or "")  # never in the card value
    _assert_no_db_value(world, "947")
    listed = world.http.get(
        f"/v2/customers/{world.customer_id}/saved-payment-methods", headers=world.headers
    )
    assert listed.json()["customer_payment_methods"][0]["requires_cvv"] is False


def _walk(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)
    elif value is not None:
        yield str(value)


def _assert_no_db_value(world: PmWorld, needle: str) -> None:
    """No column of any orchestrator table holds ``needle`` as a value (JSON walked), and
    neither do the payment methods' sealed columns once opened."""
    import sqlalchemy as sa

    from vaultswitch.orchestrator.crypto import Keyring, decode_key

    keyring = Keyring(decode_key(world.orch.settings.resolved_master_key_file().read_text()))
    engine = sa.create_engine(f"sqlite:///{world.db_path()}")
    opened = 0
    try:
        with engine.connect() as conn:
            for table in sa.inspect(conn).get_table_names():
                for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')).mappings():
                    for column, value in row.items():
                        if isinstance(value, bytes):
                            if table == "payment_methods" and column == "vault_ids_sealed":
                                aad = f"payment_method:{row['id']}:vault_ids"
                                value = keyring.open_json(value, aad)
                                opened += 1
                            else:
                                continue
                        elif isinstance(value, str) and value[:1] in "[{":
                            value = json.loads(value)
                        assert needle not in list(_walk(value)), (table, column)
    finally:
        engine.dispose()
    assert opened > 0


def test_another_merchant_sees_404s(world: PmWorld) -> None:
    saved = world.saved()
    other = new_merchant(world.orch, "Other Shop")
    pm_id = saved["id"]
    assert_error(
        world.http.get(f"/v2/payment-methods/{pm_id}", headers=other.headers), 404, "HE_02"
    )
    assert_error(
        world.http.delete(f"/v2/payment-methods/{pm_id}", headers=other.headers), 404, "HE_02"
    )
    assert_error(
        world.http.get(
            f"/v2/customers/{world.customer_id}/saved-payment-methods", headers=other.headers
        ),
        404,
        "HE_02",
    )
    # saving for another merchant's customer: that customer does not exist for them
    assert_error(world.create(headers=other.headers), 404, "HE_02")
    still = world.http.get(f"/v2/payment-methods/{pm_id}", headers=world.headers)
    assert still.status_code == 200


def test_unknown_customer_and_missing_key(world: PmWorld) -> None:
    error = assert_error(world.create(customer_id="cell1_cus_nobody"), 404, "HE_02")
    assert "Customer" in error["message"]
    assert_error(world.create(headers={}), 401, "IR_01")


def test_payment_method_session_gives_the_vgs_collect_details(world: PmWorld) -> None:
    response = world.http.post(
        "/v2/payment-method-sessions",
        json={"customer_id": world.customer_id},
        headers=world.headers,
    )
    assert response.status_code == 200, response.text
    session = response.json()
    assert session["id"].startswith("cell1_pms_")
    assert session["customer_id"] == world.customer_id
    assert session["vault_details"] == {
        "vgs": {"external_vault_id": world.vault.external.vault_id, "sdk_env": "sandbox"}
    }
    assert session["client_secret"].startswith("pms_secret_")
    assert session["expires_at"]
    got = world.http.get(f"/v2/payment-method-sessions/{session['id']}", headers=world.headers)
    assert got.status_code == 200, got.text
    assert got.json() == {k: v for k, v in session.items() if k != "client_secret"}
    world.set_vault(external=False)
    internal = world.http.post("/v2/payment-method-sessions", json={}, headers=world.headers)
    assert internal.json()["vault_details"]["vgs"]["external_vault_id"] == (
        world.vault.internal.vault_id
    )
    unknown = world.http.post(
        "/v2/payment-method-sessions", json={"customer_id": "cell1_cus_x"}, headers=world.headers
    )
    assert_error(unknown, 404, "HE_02")
    other = new_merchant(world.orch, "Other Shop")
    assert_error(
        world.http.get(f"/v2/payment-method-sessions/{session['id']}", headers=other.headers),
        404,
        "HE_02",
    )


def test_the_routes_are_in_the_openapi_document(sqlite_world: PmWorld) -> None:
    document = sqlite_world.http.get("/openapi.json")
    assert document.status_code == 200, document.text
    spec = document.json()
    for path in (
        "/v2/payment-methods",
        "/v2/payment-methods/{pm_id}",
        "/v2/customers/{customer_id}/saved-payment-methods",
        "/v2/payment-method-sessions",
    ):
        assert path in spec["paths"], path
    card_schema = spec["components"]["schemas"]["CardDetail"]["properties"]
    assert card_schema["card_number"]["type"] == "string"
