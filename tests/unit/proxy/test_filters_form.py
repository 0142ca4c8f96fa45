"""FORM_FIELD entries on form bodies and on headers: correct percent-encoding both ways, and
every other byte of the body (other fields' own escaping included) left as it was."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, quote_plus

import pytest

from vaultswitch.proxy.filters import (
    FilterResult,
    MemoryAliasBackend,
    Message,
    ValueNotRedactable,
    apply_filters_sync,
)
from vaultswitch.proxy.filters.form_body import select_form
from vaultswitch.proxy.routes.model import Entry
from vaultswitch.proxy.routes.parse import parse_entry

PAN = "4111111111111111"
FORM_CT = ("Content-Type", "application/x-www-form-urlencoded")


def entry(
    *fields: str, op: str = "REDACT", targets: tuple[str, ...] = ("body",), **extra: Any
) -> Entry:
    raw = {
        "phase": "REQUEST",
        "operation": op,
        "token_manager": extra.pop("storage", "PERSISTENT"),
        "public_token_generator": extra.pop("fmt", "UUID"),
        "transformer": "FORM_FIELD",
        "transformer_config": list(fields),
        "targets": list(targets),
    }
    return parse_entry(raw, "entry")


def run(
    body: str,
    *entries: Entry,
    backend: MemoryAliasBackend | None = None,
    headers: tuple[tuple[str, str], ...] = (FORM_CT,),
) -> FilterResult:
    return apply_filters_sync(
        entries, Message.of(headers, body.encode("latin-1")), backend or MemoryAliasBackend()
    )


def test_select_decodes_names_and_values() -> None:
    text = "a=1&card%5Bnumber%5D=4111+1111%201111&&x&=y&card[number]=&cvc=12%33"
    found = [
        (name, text[s.start : s.end], s.value.reveal())
        for name, s in select_form(text, {"card[number]", "cvc"})
    ]
    assert found == [
        ("card[number]", "4111+1111%201111", "4111 1111 1111"),
        ("cvc", "12%33", "123"),
    ]


def test_other_fields_keep_their_bytes_hyperswitch_braces_included() -> None:
    # raw {, } and $ (which Hyperswitch's encoder escaped) and odd escapes elsewhere stay
    body = "template={{$card_number}}&card_number=" + PAN + "&note=%7b%7D%24&amount=10.00&x=a+b"
    result = run(body, entry("card_number"))
    out = result.message.body.decode()
    alias = dict(parse_qsl(out))["card_number"]
    assert alias.startswith("tok_sandbox_")
    assert out == body.replace(PAN, alias)
    assert result.message.header("content-length") == str(len(out)).encode()


def test_revealed_values_are_percent_encoded() -> None:
    backend = MemoryAliasBackend()
    holder = "Zoë & Jo=Ann + 100% {x}$"
    redacted = run("holder=" + quote_plus(holder) + "&keep=%7E", entry("holder"), backend=backend)
    alias = dict(parse_qsl(redacted.message.body.decode()))["holder"]
    assert backend.holds(alias)
    revealed = run(redacted.message.body.decode(), entry("holder", op="ENRICH"), backend=backend)
    out = revealed.message.body.decode("ascii")  # all escaped: plain ASCII on the wire
    assert parse_qsl(out) == [("holder", holder), ("keep", "~")]
    assert out.endswith("&keep=%7E")
    assert "+" in out.split("&")[0]  # a space is written as +


def test_every_occurrence_of_a_field_is_selected() -> None:
    result = run(f"n={PAN}&n={PAN}&m=1", entry("n"))
    pairs = parse_qsl(result.message.body.decode())
    assert pairs[0][1] == pairs[1][1] != PAN
    assert pairs[2] == ("m", "1")


def test_only_form_bodies_or_bodies_without_a_content_type() -> None:
    body = f"number={PAN}"
    assert run(body, entry("number"), headers=(("Content-Type", "text/plain"),)).message.body == (
        body.encode()
    )
    assert PAN.encode() not in run(body, entry("number"), headers=()).message.body
    charset = (("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8"),)
    assert PAN.encode() not in run(body, entry("number"), headers=charset).message.body


def test_a_value_that_is_not_utf8_is_refused_by_redact_and_passed_by_enrich() -> None:
    with pytest.raises(ValueNotRedactable) as caught:
        run("number=%FF%FE", entry("number"))
    assert "form field number" in caught.value.detail
    assert caught.value.status == 400
    assert run("number=%FF", entry("number", op="ENRICH")).message.body == b"number=%FF"


def test_form_field_on_headers_is_case_insensitive_and_takes_the_whole_value() -> None:
    backend = MemoryAliasBackend()
    message = Message.of([("X-Card-Number", PAN), ("Other", PAN)], b"body stays")
    result = apply_filters_sync([entry("x-card-number", targets=("headers",))], message, backend)
    headers = dict(result.message.headers)
    assert backend.holds(headers[b"X-Card-Number"].decode())
    assert headers[b"Other"] == PAN.encode()
    assert result.message.body is message.body
    assert not result.body_changed
    assert result.headers_changed


def test_form_field_on_body_and_headers_at_once() -> None:
    message = Message.of([FORM_CT, ("cvc", "123")], b"cvc=123&a=b")
    result = apply_filters_sync(
        [entry("cvc", targets=("body", "headers"), storage="VOLATILE")],
        message,
        backend := MemoryAliasBackend(),
    )
    header_alias = dict(result.message.headers)[b"cvc"].decode()
    assert result.message.body == f"cvc={header_alias}&a=b".encode()  # one value, one alias
    assert backend.calls == [("redact", "VOLATILE", 1)]
