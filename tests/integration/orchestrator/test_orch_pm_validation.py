"""Bad input to POST /v2/payment-methods: a 400/422 naming the field, the value never
echoed, nothing written to the vault."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from orch_support import assert_error
from pm_support import AMEX, CARDS, VISA, PmWorld, card, pm_world

CARD = "payment_method_data.card"
PROXY = "payment_method_data.proxy_card"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PmWorld]:
    with pm_world(tmp_path_factory.mktemp("validation")) as live:
        yield live


def _body(world: PmWorld, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_id": world.customer_id,
        "payment_method_type": "card",
        "payment_method_subtype": "credit",
        "payment_method_data": data,
    }
    body.update(extra)
    return body


def _refused(
    world: PmWorld, body: Any, status: int, code: str, field: str, *, secret: str | None = None
) -> dict[str, Any]:
    writes = len(world.vault.creates(world.vault.external))
    response = world.http.post("/v2/payment-methods", json=body, headers=world.headers)
    error = assert_error(response, status, code)
    assert error["field"] == field, error
    assert field in error["message"]
    if secret:
        assert secret not in response.text
    assert len(world.vault.creates(world.vault.external)) == writes
    return error


@pytest.mark.parametrize("bad", CARDS["invalid"], ids=[c["why"] for c in CARDS["invalid"]])
def test_every_invalid_card_number_is_refused_naming_the_field(
    world: PmWorld, bad: dict[str, str]
) -> None:
    body = _body(world, {"card": card(bad["input"])})
    error = _refused(world, body, 400, "IR_07", f"{CARD}.card_number")
    if bad["input"].strip():
        assert bad["input"] not in error["message"]
    assert VISA not in str(error)


@pytest.mark.parametrize(
    ("fields", "status", "code", "field"),
    [
        ({"card_exp_month": "13"}, 400, "IR_07", "card_exp_month"),
        ({"card_exp_month": "0"}, 400, "IR_07", "card_exp_month"),
        ({"card_exp_month": "March"}, 400, "IR_07", "card_exp_month"),
        ({"card_exp_year": "1999"}, 400, "IR_07", "card_exp_year"),
        ({"card_exp_year": "20301"}, 400, "IR_07", "card_exp_year"),
        ({"card_exp_month": "01", "card_exp_year": "2020"}, 422, "IR_06", "card_exp_year"),
        ({"card_cvc": "12"}, 400, "IR_07", "card_cvc"),
        ({"card_cvc": "12a"}, 400, "IR_07", "card_cvc"),
        ({"card_holder_name": "x" * 65}, 400, "IR_07", "card_holder_name"),
        ({"card_holder_name": "Jane\u0007Doe"}, 400, "IR_07", "card_holder_name"),
        ({"card_number": 4111111111111111}, 400, "IR_07", "card_number"),
        ({"card_number": None}, 400, "IR_04", "card_number"),
        ({"card_exp_year": None}, 400, "IR_04", "card_exp_year"),
        ({"nick_name": "n" * 65}, 400, "IR_07", "nick_name"),
        ({"card_network": "Vissa"}, 400, "IR_07", "card_network"),
        ({"card_type": "prepaid"}, 400, "IR_07", "card_type"),
        ({"card_issuing_country": "usa"}, 400, "IR_07", "card_issuing_country"),
        ({"cvv": "123"}, 400, "IR_07", "cvv"),
    ],
)
def test_bad_card_fields_are_named(
    world: PmWorld, fields: dict[str, Any], status: int, code: str, field: str
) -> None:
    data = card(VISA)
    data.update(fields)
    data = {k: v for k, v in data.items() if v is not None}
    _refused(world, _body(world, {"card": data}), status, code, f"{CARD}.{field}", secret=VISA)


def test_an_amex_needs_a_four_digit_cvc(world: PmWorld) -> None:
    body = _body(world, {"card": card(AMEX, card_cvc="123")})
    error = _refused(world, body, 400, "IR_07", f"{CARD}.card_cvc", secret=AMEX)
    assert "4 digits" in error["message"]


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        ({"payment_method_type": "bank_transfer"}, 400, "IR_07", "payment_method_type"),
        ({"payment_method_subtype": "gold"}, 400, "IR_07", "payment_method_subtype"),
        ({"customer_id": None}, 400, "IR_04", "customer_id"),
        ({"customer_id": ""}, 400, "IR_07", "customer_id"),
        ({"metadata": "not an object"}, 400, "IR_07", "metadata"),
        ({"storage_type": "volatile"}, 422, "IR_06", "storage_type"),
        ({"billing": {"city": "X"}}, 400, "IR_07", "billing"),
        ({"payment_method_data": None}, 400, "IR_04", "payment_method_data"),
        ({"payment_method_data": {}}, 400, "IR_07", "payment_method_data"),
    ],
)
def test_bad_top_level_fields_are_named(
    world: PmWorld, change: dict[str, Any], status: int, code: str, field: str
) -> None:
    body = _body(world, {"card": card(VISA)})
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    _refused(world, body, status, code, field, secret=VISA)


def test_card_and_proxy_card_together_are_refused(world: PmWorld) -> None:
    proxy = {"card_number": "tok_sandbox_abc", "card_exp_month": "03", "card_exp_year": "2030"}
    body = _body(world, {"card": card(VISA), "proxy_card": proxy})
    error = _refused(world, body, 400, "IR_07", "payment_method_data", secret=VISA)
    assert "exactly one" in error["message"]


@pytest.mark.parametrize(
    ("fields", "status", "code", "field"),
    [
        ({"card_cvc": "123"}, 422, "IR_06", "card_cvc"),
        ({"card_exp_month": "13"}, 400, "IR_07", "card_exp_month"),
        ({"card_exp_year": "1999"}, 400, "IR_07", "card_exp_year"),
        ({"card_exp_month": "01", "card_exp_year": "2020"}, 422, "IR_06", "card_exp_year"),
        ({"card_number": "tok with spaces"}, 400, "IR_07", "card_number"),
        ({"card_number": ""}, 400, "IR_07", "card_number"),
        ({"bin_number": "41"}, 400, "IR_07", "bin_number"),
        ({"last_four": "11111"}, 400, "IR_07", "last_four"),
        ({"card_holder_name": "x" * 65}, 400, "IR_07", "card_holder_name"),
        ({"card_cvv": "tok_x"}, 400, "IR_07", "card_cvv"),
    ],
)
def test_bad_proxy_card_fields_are_named(
    world: PmWorld, fields: dict[str, Any], status: int, code: str, field: str
) -> None:
    proxy = {"card_number": "tok_sandbox_abc", "card_exp_month": "03", "card_exp_year": "2030"}
    proxy.update(fields)
    _refused(world, _body(world, {"proxy_card": proxy}), status, code, f"{PROXY}.{field}")


def test_a_body_that_is_not_json(world: PmWorld) -> None:
    response = world.http.post(
        "/v2/payment-methods",
        content=b"card_number=4111111111111111",
        headers={**world.headers, "Content-Type": "application/json"},
    )
    assert_error(response, 400, "IR_06")
    assert VISA not in response.text


@pytest.mark.parametrize("case", CARDS["normalize"], ids=[c["input"] for c in CARDS["normalize"]])
def test_spaces_and_dashes_are_accepted(world: PmWorld, case: dict[str, str]) -> None:
    customer = world.new_customer(name="Norma")
    saved = world.saved(card(case["input"]), customer_id=customer)
    details = saved["payment_method_data"]["card"]
    assert details["card_isin"] == case["number"][:6]
    assert details["last4_digits"] == case["number"][-4:]
