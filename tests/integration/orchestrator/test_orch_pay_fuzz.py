"""Property: whatever a payment request holds (values of the wrong type or range in any
field, unknown fields, odd Idempotency-Key and path ids), the answer is a payment (200) or
Hyperswitch's error body with our hint and a 4xx, never a 5xx, never an echoed card
number; and each 200 is a payment the API can read back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from orch_pay_support import APPROVED, Shop, card, open_shop, serve_processor
from orch_support import orchestrator_settings, serve_orchestrator

PAN = "4111111111111111"
odd = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["USD", "usd", "XYZ", "card", "credit", "debit", PAN, APPROVED, "12", "2099"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=3),
)
PATHS = (
    ("amount_details",),
    ("amount_details", "order_amount"),
    ("amount_details", "currency"),
    ("customer_id",),
    ("payment_method_id",),
    ("payment_method_type",),
    ("payment_method_subtype",),
    ("payment_method_data",),
    ("payment_method_data", "card"),
    ("payment_method_data", "card", "card_number"),
    ("payment_method_data", "card", "card_exp_month"),
    ("payment_method_data", "card", "card_exp_year"),
    ("payment_method_data", "card", "card_cvc"),
    ("payment_method_data", "card", "card_holder_name"),
    ("payment_method_data", "card_token"),
    ("connector_id",),
    ("merchant_reference_id",),
    ("return_url",),
    ("metadata",),
    ("unknown_field",),
)
INTENT_ONLY = ("amount_details", "customer_id")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    settings_ = orchestrator_settings(tmp_path_factory.mktemp("payfuzz") / "orchestrator")
    with serve_processor() as processor, serve_orchestrator(settings_) as orch:
        yield open_shop(orch, processor.url)


def _set(body: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node: Any = body
    for name in path[:-1]:
        if not isinstance(node.get(name), dict):
            node[name] = {}
        node = node[name]
    node[path[-1]] = value


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_payment_request_causes_a_5xx(shop: Shop, data: st.DataObject) -> None:
    route = data.draw(st.sampled_from(["/v2/payments", "/v2/payments/create-intent", "confirm"]))
    body: dict[str, Any] = shop.card_payment(APPROVED)
    body["payment_method_data"] = {"card": card(PAN)}
    if route == "confirm":
        target = data.draw(st.sampled_from(["cell1_pay_" + "0" * 32, "x", "%00", "a" * 300]))
        route = f"/v2/payments/{target}/confirm-intent"
        for name in INTENT_ONLY:
            body.pop(name)
    elif route.endswith("create-intent"):
        body = {name: body[name] for name in INTENT_ONLY}
    for path in data.draw(st.lists(st.sampled_from(PATHS), min_size=1, max_size=3)):
        _set(body, path, data.draw(odd))
    headers: dict[str, str | bytes] = {**shop.headers, "Content-Type": "application/json"}
    visible = st.characters(min_codepoint=33, max_codepoint=126)
    key = data.draw(
        st.one_of(
            st.none(),
            st.text(alphabet=visible, min_size=1, max_size=300),
            st.sampled_from(["a b", "k\u00e9y", "x" * 256]),
        )
    )
    if key is not None:  # what HTTP can carry: latin-1 without control characters
        headers["Idempotency-Key"] = key.encode("latin-1")
    # NaN and infinities go out as JavaScript does (not JSON): the server must refuse them
    content = json.dumps(body, allow_nan=True)
    response = shop.orch.http.post(route, content=content, headers=headers)
    assert response.status_code < 500, response.text
    assert PAN not in response.text
    if response.status_code == 200:
        payment = response.json()
        assert shop.get(payment["id"]).status_code == 200
        return
    error = response.json()["error"]
    for name in ("type", "code", "message", "hint"):
        assert isinstance(error[name], str)
        assert error[name]
