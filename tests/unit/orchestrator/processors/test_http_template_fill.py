"""Filling http_template templates: each value escaped for its place, the template's own
characters untouched, values never re-expanded."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaultswitch.connectors.base import HeaderKey
from vaultswitch.domain.cards import Card
from vaultswitch.domain.errors import InvalidRequest
from vaultswitch.domain.secret import Secret
from vaultswitch.orchestrator.processors.base import AuthorizeData
from vaultswitch.orchestrator.processors.http_template import (
    HttpTemplateConnector,
    Template,
    parse_template,
)

HOSTILE = [
    'quote " and \\ backslash',
    "amp & eq = plus + pct %25 %",
    "{{$card_cvc}}",
    "{{$unknown}} and }} {{ $ {",
    "Zoë — 日本語 🃏",
    "line\nbreak\ttab\r",
    '\\u0041 \\\\ ""',
    "",
    " spaces  ",
]

RESPONSE = {"status": "status", "statuses": {"ok": "succeeded"}}


def _template(body: str, body_type: str = "json", **extra: Any) -> Template:
    raw: dict[str, Any] = {
        "url": "https://processor.example/pay",
        "body_type": body_type,
        "body": body,
        "response": RESPONSE,
    }
    raw.update(extra)
    return parse_template(raw)


def _secrets(**values: str | None) -> dict[str, Secret | None]:
    return {k: None if v is None else Secret(v) for k, v in values.items()}


JSON_BODY = """{
  "literal": "keep {this} $as {{is}} \\" \\\\ here",
  "amount": {{$amount}},
  "holder": "{{$card_holder_name}}",
  "mixed": "ref-{{$reference}}-end",
  "nested": {"list": [{{$card_number}}, "{{$currency}}"]},
  "cvc": {{$card_cvc}}
}"""


@pytest.mark.parametrize("hostile", HOSTILE)
def test_json_values_are_string_escaped_and_never_re_expanded(hostile: str) -> None:
    template = _template(JSON_BODY)
    values = _secrets(
        amount="1050",
        card_holder_name=hostile,
        reference=hostile,
        card_number=hostile,
        currency=hostile,
        card_cvc=hostile,
    )
    body = template.fill(values).body
    assert body is not None
    document = json.loads(body)
    assert document == {
        "literal": 'keep {this} $as {{is}} " \\ here',
        "amount": 1050,
        "holder": hostile,
        "mixed": f"ref-{hostile}-end",
        "nested": {"list": [hostile, hostile]},
        "cvc": hostile,
    }


def test_bare_placeholders_are_integers_strings_or_null() -> None:
    template = _template(
        '{"a": {{$amount}}, "m": {{$card_exp_month}}, "y": {{$card_exp_year}}, '
        '"n": {{$card_number}}, "c": {{$card_cvc}}}'
    )
    body = template.fill(_secrets(amount="42", card_exp_month="tok_alias", card_number="4242"))
    assert body.body is not None
    # a number only for the numeric fields; an alias in a numeric place stays a string
    assert json.loads(body.body) == {"a": 42, "m": "tok_alias", "y": None, "n": "4242", "c": None}
    assert b'"n": "4242"' in body.body


def test_json_template_text_outside_placeholders_is_byte_identical() -> None:
    text = '{ "x" :\t"a{b}$c",  "v": "{{$currency}}" ,"w":{{$amount}} }'
    body = _template(text).fill(_secrets(currency='"', amount="7")).body
    assert body == b'{ "x" :\t"a{b}$c",  "v": "\\"" ,"w":7 }'


FORM_BODY = (
    "lit%5Bx%5D=a%20b&card[number]={{$card_number}}&amount={{$amount}}"
    "&braces={}$&holder={{$card_holder_name}}&currency={{$currency}}"
)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_form_values_are_percent_encoded_and_the_template_kept(hostile: str) -> None:
    template = _template(FORM_BODY, body_type="form")
    filled = template.fill(
        _secrets(card_number=hostile, amount="1050", card_holder_name=hostile, currency="USD")
    )
    assert filled.body is not None
    assert filled.headers["content-type"] == "application/x-www-form-urlencoded"
    text = filled.body.decode("ascii")
    pairs = text.split("&")
    assert pairs[0] == "lit%5Bx%5D=a%20b"
    assert pairs[3] == "braces={}$"
    decoded = parse_qs(text, keep_blank_values=True)
    assert decoded["card[number]"] == [hostile]
    assert decoded["holder"] == [hostile]
    assert decoded["amount"] == ["1050"]


def test_form_plus_and_space_are_not_confused() -> None:
    filled = _template("v={{$reference}}", body_type="form").fill(_secrets(reference="a+b c"))
    assert filled.body == b"v=a%2Bb%20c"


_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
_amount = st.integers(min_value=1, max_value=999_999_999_999)


@settings(max_examples=200, deadline=None)
@given(number=_text, holder=_text, cvc=_text, reference=_text, amount=_amount)
def test_property_filled_json_parses_and_values_round_trip(
    number: str, holder: str, cvc: str, reference: str, amount: int
) -> None:
    template = _template(JSON_BODY)
    values = _secrets(
        amount=str(amount),
        card_holder_name=holder,
        reference=reference,
        card_number=number,
        currency=cvc,
        card_cvc=cvc,
    )
    body = template.fill(values).body
    assert body is not None
    document = json.loads(body)
    assert document["amount"] == amount
    assert document["holder"] == holder
    assert document["mixed"] == f"ref-{reference}-end"
    assert document["nested"]["list"] == [number, cvc]
    assert document["cvc"] == cvc
    assert document["literal"] == 'keep {this} $as {{is}} " \\ here'


_literal_value = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="&=%+#"), max_size=12
)


@settings(max_examples=200, deadline=None)
@given(
    number=_text,
    holder=_text,
    literal=_literal_value,
    amount=_amount,
)
def test_property_form_body_decodes_to_the_values_with_literals_byte_identical(
    number: str, holder: str, literal: str, amount: int
) -> None:
    literal = literal.replace("{{$", "")
    template_text = (
        f"first={literal}&card[number]={{{{$card_number}}}}&amount={{{{$amount}}}}"
        f"&second=%7B{literal}%7D&holder={{{{$card_holder_name}}}}&last=$"
    )
    template = _template(template_text, body_type="form")
    body = template.fill(
        _secrets(card_number=number, card_holder_name=holder, amount=str(amount))
    ).body
    assert body is not None
    text = body.decode("ascii")
    pairs = text.split("&")
    assert len(pairs) == 6
    assert pairs[0] == f"first={literal}"
    assert pairs[3] == f"second=%7B{literal}%7D"
    assert pairs[5] == "last=$"
    decoded = dict(parse_qsl(text, keep_blank_values=True))
    assert decoded["card[number]"] == number
    assert decoded["holder"] == holder
    assert decoded["amount"] == str(amount)


def test_headers_and_url_query_are_filled_for_their_place() -> None:
    template = _template(
        "{}",
        url="https://p.example/pay?ref={{$reference}}&cur={{$currency}}&fixed=a%20b",
        headers={"Authorization": "Bearer {{$api_key}}", "Idempotency-Key": "{{$idempotency_key}}"},
    )
    connector = HttpTemplateConnector(template)
    request = connector.build_request(
        _secrets(reference="a&b=c d", currency="USD"), HeaderKey(Secret("sk_live_key_123"))
    )
    query = urlsplit(request.url).query
    assert query == "ref=a%26b%3Dc%20d&cur=USD&fixed=a%20b"
    assert dict(parse_qsl(query)) == {"ref": "a&b=c d", "cur": "USD", "fixed": "a b"}
    assert request.headers["authorization"] == "Bearer sk_live_key_123"
    # a header that is empty once filled is left out, and nothing says it is retry safe
    assert "idempotency-key" not in request.headers
    assert request.retry_safe is False


@pytest.mark.parametrize("bad", ["a\r\nX-Injected: 1", "zoë", "nul\x00"])
def test_a_header_value_that_is_not_one_ascii_line_is_refused_without_quoting_it(
    bad: str,
) -> None:
    template = _template("{}", headers={"X-Holder": "{{$card_holder_name}}"})
    with pytest.raises(InvalidRequest) as raised:
        template.fill(_secrets(card_holder_name=bad))
    assert raised.value.field == "metadata.template.headers.X-Holder"
    assert bad not in str(raised.value)
    assert bad not in raised.value.hint


def test_a_lone_surrogate_is_an_input_error_not_a_crash() -> None:
    with pytest.raises(InvalidRequest) as raised:
        _template("v={{$reference}}", body_type="form").fill(_secrets(reference="\ud800"))
    assert raised.value.field == "reference"


def test_build_authorize_fills_from_the_card_and_the_repr_hides_the_body() -> None:
    template = _template(
        '{"n": "{{$card_number}}", "cvc": "{{$card_cvc}}", "m": {{$card_exp_month}}, '
        '"y": {{$card_exp_year}}, "h": {{$card_holder_name}}, "a": {{$amount}}, '
        '"c": "{{$currency}}", "r": "{{$reference}}"}',
        headers={"Idempotency-Key": "{{$idempotency_key}}"},
    )
    data = AuthorizeData(
        amount=1050,
        currency="usd",
        reference="pay_1",
        card=Card.parse("4242424242424242", "03", 2031, "123", "Ada Lovelace"),
        idempotency_key="idem_1",
    )
    request = HttpTemplateConnector(template).build_authorize(HeaderKey(Secret("k" * 12)), data)
    assert request.body is not None
    assert json.loads(request.body) == {
        "n": "4242424242424242",
        "cvc": "123",
        "m": 3,
        "y": 2031,
        "h": "Ada Lovelace",
        "a": 1050,
        "c": "USD",
        "r": "pay_1",
    }
    assert request.retry_safe is True
    assert request.headers["idempotency-key"] == "idem_1"
    for shown in (repr(request), str(request)):
        assert "4242424242424242" not in shown
        assert "123" not in shown
        assert "idem_1" not in shown


def test_aliases_fill_the_same_template_for_the_proxy_path() -> None:
    template = _template('{"n": "{{$card_number}}", "c": "{{$card_cvc}}"}')
    request = HttpTemplateConnector(template).build_request(
        _secrets(card_number="tok_sandbox_abc123", card_cvc="tok_sandbox_cvc456")
    )
    assert request.body is not None
    assert json.loads(request.body) == {"n": "tok_sandbox_abc123", "c": "tok_sandbox_cvc456"}


def test_values_must_be_secrets() -> None:
    template = _template('{"n": "{{$card_number}}"}')
    with pytest.raises(TypeError):
        template.fill({"card_number": "4242424242424242"})  # type: ignore[dict-item]
