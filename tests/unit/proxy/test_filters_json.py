"""JSON_PATH entries: exactly the values at the paths change, every other byte stays."""

from __future__ import annotations

import json
from typing import Any

import pytest

from vaultswitch.proxy.filters import (
    FilterResult,
    InvalidJsonBody,
    MemoryAliasBackend,
    Message,
    apply_filters_sync,
)
from vaultswitch.proxy.filters.json_body import MAX_DEPTH, NotJson, select_json
from vaultswitch.proxy.routes.model import Entry
from vaultswitch.proxy.routes.parse import parse_entry
from vaultswitch.proxy.routes.transformers import parse_json_path

PAN = "4111111111111111"
JSON_CT = ("Content-Type", "application/json")


def entry(*paths: str, op: str = "REDACT", fmt: str = "UUID", **extra: Any) -> Entry:
    raw = {
        "phase": extra.pop("phase", "REQUEST"),
        "operation": op,
        "token_manager": extra.pop("storage", "PERSISTENT"),
        "public_token_generator": fmt,
        "transformer": "JSON_PATH",
        "transformer_config": list(paths),
        "targets": ["body"],
        **extra,
    }
    return parse_entry(raw, "entry")


def selected(text: str, *paths: str) -> list[tuple[int, str, str]]:
    """(path number, selected source text, data) for each spot."""
    parsed = [(i, parse_json_path(p, "p")) for i, p in enumerate(paths)]
    return [(tag, text[s.start : s.end], s.value.reveal()) for tag, s in select_json(text, parsed)]


def run(
    body: bytes | str,
    *entries: Entry,
    backend: MemoryAliasBackend | None = None,
    headers: tuple[tuple[str, str], ...] = (JSON_CT,),
    strict: bool = False,
) -> FilterResult:
    raw = body.encode() if isinstance(body, str) else body
    return apply_filters_sync(
        entries, Message.of(headers, raw), backend or MemoryAliasBackend(), strict=strict
    )


# --- what a path selects -----------------------------------------------------------------------


def test_member_index_every_and_descendant() -> None:
    text = '{"a": {"b": "x1"}, "l": [ "y0", "y1", "y2" ], "o": {"p": {"q": "z", "r": 7}}}'
    assert selected(text, "$.a.b") == [(0, '"x1"', "x1")]
    assert selected(text, "$.l[1]") == [(0, '"y1"', "y1")]
    assert selected(text, "$.l[-1]") == [(0, '"y2"', "y2")]
    assert [d for *_, d in selected(text, "$.l[*]")] == ["y0", "y1", "y2"]
    assert [d for *_, d in selected(text, "$.o.p.*")] == ["z", "7"]
    assert [d for *_, d in selected(text, "$..q", "$..r")] == ["z", "7"]
    assert selected(text, "$['a']['b']") == [(0, '"x1"', "x1")]


def test_descendant_at_every_depth_and_inside_arrays() -> None:
    text = '{"cvc": "1", "x": [{"cvc": "2"}, [{"y": {"cvc": "3"}}]], "z": {"cvc": {"cvc": "4"}}}'
    assert [d for *_, d in selected(text, "$..cvc")] == ["1", "2", "3", "4"]
    assert [d for *_, d in selected(text, "$.x..cvc")] == ["2", "3"]


def test_only_strings_and_numbers_are_selected() -> None:
    text = '{"v": [true, false, null, {}, [], "", "s", -1.5e3, 0]}'
    assert [(src, d) for _, src, d in selected(text, "$.v[*]")] == [
        ('"s"', "s"),
        ("-1.5e3", "-1.5e3"),
        ("0", "0"),
    ]


def test_a_string_is_selected_decoded_with_its_escapes() -> None:
    text = r'{"n": "a\"b\u00e9\n\/"}'
    assert selected(text, "$.n") == [(0, r'"a\"b\u00e9\n\/"', 'a"bé\n/')]


def test_escaped_key_names_match_decoded() -> None:
    assert selected(r'{"c\u0061rd": "v"}', "$.card") == [(0, '"v"', "v")]


def test_duplicate_keys_are_all_selected() -> None:
    assert [d for *_, d in selected('{"a": "1", "a": "2"}', "$.a")] == ["1", "2"]


def test_a_path_through_a_scalar_or_a_missing_member_selects_nothing() -> None:
    assert selected('{"a": "x", "b": [1]}', "$.a.b", "$.b.c", "$.c", "$.b[5]") == []


def test_huge_numbers_and_deep_documents_off_the_path_are_skipped() -> None:
    deep = "[" * 150 + "]" * 150
    text = '{"big": ' + "9" * 5000 + ', "deep": ' + deep + ', "n": "x"}'
    assert selected(text, "$.n") == [(0, '"x"', "x")]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        '{"a": 1,}',
        '{"a": 1} x',
        '{"a": NaN}',
        '{"a": Infinity}',
        '{"a" 1}',
        '{"a": [1 2]}',
        '{"a": "unterminated}',
        '{"a": 01}',
        "{'a': 1}",
        '{"a": "tab\tinside"}',
    ],
)
def test_what_is_not_json(text: str) -> None:
    with pytest.raises(NotJson):
        selected(text, "$.a")


def test_nesting_deeper_than_the_limit_along_a_path_is_not_json() -> None:
    text = '{"a": ' * (MAX_DEPTH + 5) + "1" + "}" * (MAX_DEPTH + 5)
    with pytest.raises(NotJson):
        selected(text, "$..a")


def test_byte_order_mark_is_allowed_and_kept() -> None:
    result = run("\ufeff" + '{"pan": "' + PAN + '"}', entry("$.pan"))
    assert result.message.body.startswith("\ufeff".encode())
    assert PAN.encode() not in result.message.body


# --- the rewritten body ------------------------------------------------------------------------


def test_everything_but_the_selected_value_stays_byte_for_byte() -> None:
    body = (
        '{\n  "z": 1.0e5,  "amount" :100,\n  "card": {"holder": "J\\u00f6rg",\t"number": "'
        + PAN
        + '"},\n  "a": [1, 2 ,3], "z2": 12345678901234567890123\n}\n'
    )
    result = run(body, entry("$.card.number"))
    out = result.message.body.decode()
    alias = json.loads(out)["card"]["number"]
    assert alias.startswith("tok_sandbox_")
    assert out == body.replace(f'"{PAN}"', f'"{alias}"')
    assert result.body_changed
    assert result.redacted == 1
    assert result.message.header("content-length") == str(len(result.message.body)).encode()


def test_a_numeric_pan_becomes_a_string_alias_with_a_uuid_format() -> None:
    backend = MemoryAliasBackend()
    redacted = run('{"number": 4111111111111111}', entry("$.number"), backend=backend)
    alias = json.loads(redacted.message.body)["number"]
    assert isinstance(alias, str)
    assert backend.holds(alias)
    revealed = run(redacted.message.body, entry("$.number", op="ENRICH"), backend=backend)
    assert json.loads(revealed.message.body) == {"number": PAN}  # written back as a string


def test_a_numeric_pan_stays_a_number_with_a_digit_format() -> None:
    backend = MemoryAliasBackend()
    body = '{"number": 4111111111111111}'
    redacted = run(body, entry("$.number", fmt="FPE_SIX_T_FOUR"), backend=backend)
    alias = json.loads(redacted.message.body)["number"]
    assert isinstance(alias, int)
    assert str(alias) != PAN
    assert str(alias).endswith("1111")
    revealed = run(redacted.message.body, entry("$.number", op="ENRICH"), backend=backend)
    assert revealed.message.body == body.encode()


def test_a_revealed_value_is_escaped_as_a_json_string() -> None:
    backend = MemoryAliasBackend()
    holder = 'Zoë "Z" O\'Neil \\ \n'
    redacted = run(json.dumps({"holder": holder}), entry("$.holder"), backend=backend)
    revealed = run(redacted.message.body, entry("$.holder", op="ENRICH"), backend=backend)
    assert json.loads(revealed.message.body) == {"holder": holder}


def test_a_revealed_value_in_a_number_place_that_is_not_a_number_becomes_a_string() -> None:
    for _ in range(100):  # a digit alias that can stand as a JSON number (no leading 0)
        backend = MemoryAliasBackend()
        redacted = run('{"n": "0123"}', entry("$.n", fmt="NUM_LENGTH_PRESERVING"), backend=backend)
        alias = json.loads(redacted.message.body)["n"]
        if not alias.startswith("0"):
            break
    revealed = run('{"n": ' + alias + "}", entry("$.n", op="ENRICH"), backend=backend)
    assert revealed.message.body == b'{"n": "0123"}'


def test_no_selection_leaves_the_very_same_bytes() -> None:
    message = Message.of([JSON_CT, ("Content-Length", "9")], b'{"a": 1}\n')
    result = apply_filters_sync([entry("$.card.number")], message, MemoryAliasBackend())
    assert result.message is message or result.message == message
    assert result.message.body is message.body
    assert not result.body_changed


# --- bodies that are not JSON -----------------------------------------------------------------


def test_a_body_claiming_json_that_is_not_fails_a_redact() -> None:
    with pytest.raises(InvalidJsonBody) as caught:
        run('{"number": "' + PAN + '",}', entry("$.number"))
    assert caught.value.status == 400
    assert PAN not in str(caught.value)
    assert PAN not in caught.value.hint


def test_in_a_response_the_same_failure_is_the_upstream_s() -> None:
    with pytest.raises(InvalidJsonBody) as caught:
        run("not json", entry("$.number", phase="RESPONSE"))
    assert caught.value.status == 502


def test_a_non_json_body_holds_nothing_for_json_path_otherwise() -> None:
    body = "number=" + PAN
    form = run(body, entry("$.number"), headers=(("Content-Type", "text/plain"),))
    assert form.message.body == body.encode()
    enrich = run("{broken", entry("$.number", op="ENRICH"))
    assert enrich.message.body == b"{broken"


def test_a_json_body_is_read_whatever_its_content_type() -> None:
    result = run('{"number": "' + PAN + '"}', entry("$.number"), headers=())
    assert PAN.encode() not in result.message.body
