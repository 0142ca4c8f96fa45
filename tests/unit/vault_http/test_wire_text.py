"""Strings UTF-8 cannot encode (lone surrogates) are refused by name, before any encoding."""

from __future__ import annotations

import json

import pytest

from vaultswitch.vault.core.errors import BadRequest
from vaultswitch.vault.core.models import NewValue
from vaultswitch.vault.http.wire import dumps, error_payload, is_text, parse_create, parse_json


@pytest.mark.parametrize("text", ["", "plain", "caf\u00e9", "\U0001f600", "\x00", "\ufffd"])
def test_encodable_text_is_text(text: str) -> None:
    assert is_text(text)
    text.encode("utf-8")


@pytest.mark.parametrize(
    "text", [chr(0xD800), "a" + chr(0xDFFF) + "b", chr(0xDC80), "ok" + chr(0xD83D) + chr(0xDE00)]
)
def test_lone_surrogates_are_not_text(text: str) -> None:
    assert not is_text(text)
    with pytest.raises(UnicodeEncodeError):
        text.encode("utf-8")


@pytest.mark.parametrize(
    "raw",
    [
        b'{"data":[{"value":"\\ud800","format":"UUID"}]}',
        b'{"data":[{"value":"\xed\xa0\x80","format":"UUID"}]}',
        b'{"data":[{"value":"4111\\udc00","format":"RAW_UUID","storage":"VOLATILE"}]}',
    ],
)
def test_parse_create_refuses_a_surrogate_value_naming_the_field(raw: bytes) -> None:
    body = parse_json(raw)
    with pytest.raises(BadRequest) as info:
        parse_create(body, max_items=20)
    assert info.value.code == "INVALID_VALUE"
    assert info.value.detail.startswith("data[0].value ")
    assert "4111" not in info.value.detail
    assert is_text(info.value.detail)


def test_a_json_surrogate_pair_is_one_character_and_accepted() -> None:
    (item,) = parse_create(
        parse_json(b'{"data":[{"value":"\\ud83d\\ude00","format":"UUID"}]}'), max_items=20
    )
    assert isinstance(item, NewValue)
    assert item.value.reveal() == "\U0001f600"


def test_parse_create_names_the_bad_item_among_good_ones() -> None:
    body = {"data": [{"value": "a", "format": "UUID"}, {"value": "b\ud800", "format": "UUID"}]}
    with pytest.raises(BadRequest) as info:
        parse_create(body, max_items=20)
    assert info.value.detail.startswith("data[1].value ")


def test_error_payload_renders_whatever_text_it_is_given() -> None:
    payload = error_payload(
        status=400, title="Bad request", code="X", detail="bad \ud800", href="http://h/\udc80",
        trace_id="t",
    )  # fmt: skip
    rendered = json.loads(dumps(payload))
    assert rendered["errors"][0]["detail"] == "bad \ufffd"
    assert rendered["errors"][0]["href"] == "http://h/\ufffd"
