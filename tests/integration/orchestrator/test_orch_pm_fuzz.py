"""Property: whatever JSON reaches the payment-method routes (against a live vault), the
answer is never a 5xx, errors are Hyperswitch's body with a hint, and no response echoes a
card number that was sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pm_support import PmWorld, pm_world

PAN = "4111111111111111"
CARD_FIELDS = (
    "card_number",
    "card_exp_month",
    "card_exp_year",
    "card_holder_name",
    "card_cvc",
    "nick_name",
    "card_network",
    "card_issuer",
    "card_type",
    "card_issuing_country",
    "bin_number",
    "last_four",
)
TOP_FIELDS = (
    "customer_id",
    "payment_method_type",
    "payment_method_subtype",
    "payment_method_data",
    "metadata",
    "storage_type",
    "return_url",
    "expires_in",
)
VALUES = (
    PAN,
    "4111 1111 1111 1111",
    "4111111111111112",
    "378282246310005",
    "03",
    "13",
    "2030",
    "30",
    "2020",
    "123",
    "1234",
    "card",
    "credit",
    "debit",
    "volatile",
    "persistent",
    "Visa",
    "US",
    "tok_sandbox_x",
    "",
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(VALUES),
)
cards = st.dictionaries(st.sampled_from(CARD_FIELDS), scalars, max_size=8)
method_data = st.one_of(
    st.builds(lambda c: {"card": c}, cards),
    st.builds(lambda c: {"proxy_card": c}, cards),
    st.dictionaries(st.sampled_from(("card", "proxy_card", "bank")), cards, max_size=2),
    scalars,
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PmWorld]:
    with pm_world(tmp_path_factory.mktemp("pm_fuzz")) as live:
        yield live


def _check(response: Any, sent: str) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"}
        for key in ("type", "code", "message", "hint"):
            assert isinstance(body["error"].get(key), str)
    if PAN in sent:
        assert PAN not in response.text


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_payment_method_input_causes_a_5xx_or_echoes_a_card(
    world: PmWorld, data: st.DataObject
) -> None:
    body: dict[str, Any] = data.draw(
        st.fixed_dictionaries(
            {},
            optional={
                "customer_id": st.one_of(st.just(world.customer_id), scalars),
                "payment_method_type": st.one_of(st.just("card"), scalars),
                "payment_method_subtype": st.one_of(st.just("credit"), scalars),
                "payment_method_data": method_data,
                "metadata": scalars,
                "storage_type": scalars,
            },
        )
    )
    extra = data.draw(st.dictionaries(st.sampled_from(TOP_FIELDS), scalars, max_size=2))
    if data.draw(st.booleans()):
        body.update(extra)
    sent = json.dumps(body)
    route = data.draw(st.sampled_from(["create", "session", "get", "delete", "list"]))
    http, headers = world.http, world.headers
    if route == "create":
        response = http.post("/v2/payment-methods", content=sent, headers=_json(headers))
    elif route == "session":
        response = http.post("/v2/payment-method-sessions", content=sent, headers=_json(headers))
    else:
        ident = data.draw(st.text(alphabet="abcdef0123456789_", min_size=1, max_size=40))
        if route == "get":
            response = http.get(f"/v2/payment-methods/{ident}", headers=headers)
        elif route == "delete":
            response = http.delete(f"/v2/payment-methods/{ident}", headers=headers)
        else:
            response = http.get(f"/v2/customers/{ident}/saved-payment-methods", headers=headers)
    _check(response, sent)


def _json(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Content-Type": "application/json"}
