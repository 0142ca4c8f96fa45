"""Request parsing: every bad input is a 400 naming the item, and values never appear in errors."""

from __future__ import annotations

from typing import Any

import pytest

from vaultswitch.vault.core.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from vaultswitch.vault.core.models import AliasReference, NewValue
from vaultswitch.vault.http.wire import (
    check_json_content_type,
    error_payload,
    parse_alias_query,
    parse_batch_delete,
    parse_create,
    parse_json,
    parse_storage,
    parse_update,
    read_body,
)

SECRET_VALUE = "4111111111111111"


def test_parse_create_mixed_items_in_order() -> None:
    items = parse_create(
        {
            "data": [
                {"value": SECRET_VALUE, "format": "FPE_SIX_T_FOUR", "classifiers": ["pan", "pan"]},
                {"alias": "tok_sandbox_abc", "format": "RAW_UUID", "storage": "PERSISTENT"},
                {"value": "123", "format": "UUID", "storage": "VOLATILE"},
            ]
        },
        max_items=20,
    )
    assert isinstance(items[0], NewValue)
    assert items[0].value.reveal() == SECRET_VALUE
    assert items[0].classifiers == ("pan",)
    assert items[1] == AliasReference(alias="tok_sandbox_abc", format="RAW_UUID")
    assert isinstance(items[2], NewValue)
    assert items[2].storage == "VOLATILE"


BAD_CREATE: list[tuple[Any, str, str]] = [
    ([], "request body must be a JSON object", "INVALID_REQUEST"),
    ({}, "data is required", "INVALID_REQUEST"),
    ({"data": {}}, "data must be an array", "INVALID_REQUEST"),
    ({"data": []}, "data must not be empty", "INVALID_REQUEST"),
    (
        {"data": [{"value": "x", "format": "UUID"}] * 21},
        "Too many values (limit: 20)",
        "TOO_MANY_VALUES",
    ),
    ({"data": ["x"]}, "data[0] must be a JSON object", "INVALID_REQUEST"),
    ({"data": [{"value": SECRET_VALUE}]}, "data[0].format is required", "INVALID_FORMAT"),
    (
        {"data": [{"value": SECRET_VALUE, "format": 3}]},
        "data[0].format must be a string",
        "INVALID_FORMAT",
    ),
    (
        {"data": [{"value": "a", "format": "UUID"}, {"value": "b", "format": "NOPE"}]},
        "data[1].format",
        "INVALID_FORMAT",
    ),
    (
        {"data": [{"value": 4111, "format": "UUID"}]},
        "data[0].value must be a string",
        "INVALID_VALUE",
    ),
    (
        {"data": [{"value": "", "format": "UUID"}]},
        "data[0].value must not be empty",
        "INVALID_VALUE",
    ),
    (
        {"data": [{"value": "abc", "format": "FPE_SIX_T_FOUR"}]},
        "data[0].value: FPE_SIX_T_FOUR",
        "INVALID_VALUE",
    ),
    ({"data": [{"format": "UUID"}]}, "data[0]: value (or alias) is required", "INVALID_VALUE"),
    (
        {"data": [{"value": "a", "alias": "tok_x", "format": "UUID"}]},
        "either value or alias",
        "INVALID_REQUEST",
    ),
    (
        {"data": [{"value": "a", "format": "UUID", "storage": "DISK"}]},
        "data[0].storage",
        "INVALID_STORAGE",
    ),
    (
        {"data": [{"value": "a", "format": "UUID", "classifiers": "pii"}]},
        "data[0].classifiers must be an array",
        "INVALID_REQUEST",
    ),
    (
        {"data": [{"value": "a", "format": "UUID", "classifiers": [1]}]},
        "data[0].classifiers[0] must be a string",
        "INVALID_REQUEST",
    ),
    (
        {"data": [{"value": "a", "format": "UUID", "classifiers": ["<script>"]}]},
        "data[0].classifiers[0]",
        "INVALID_CLASSIFIER",
    ),
    (
        {"data": [{"value": "a", "format": "UUID", "extra": 1}]},
        "data[0]: unknown field(s) 'extra'",
        "UNKNOWN_FIELD",
    ),
    (
        {"data": [{"alias": "'; DROP TABLE aliases;--", "format": "UUID"}]},
        "data[0].alias is not a valid alias",
        "INVALID_ALIAS",
    ),
    (
        {"data": [{"alias": "../../etc/passwd", "format": "UUID"}]},
        "data[0].alias is not a valid alias",
        "INVALID_ALIAS",
    ),
    (
        {"data": [{"alias": "tok_a", "format": "UUID"}, {"alias": "tok_a", "format": "RAW_UUID"}]},
        "data[1].alias is referenced more than once",
        "DUPLICATE_ALIAS_REFERENCE",
    ),
]


@pytest.mark.parametrize(("body", "detail", "code"), BAD_CREATE)
def test_parse_create_rejects_with_item_named(body: Any, detail: str, code: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_create(body, max_items=20)
    assert detail in info.value.detail
    assert info.value.code == code
    assert SECRET_VALUE not in info.value.detail


def test_update_and_batch_delete_and_query() -> None:
    assert parse_update({"data": {"classifiers": ["secure"]}}) == ("secure",)
    with pytest.raises(BadRequest, match=r"data\.classifiers is required"):
        parse_update({"data": {}})
    assert parse_batch_delete({"data": ["tok_a", "tok_b", "tok_a"]}, max_items=20) == (
        ["tok_a", "tok_b"],
        None,
    )
    assert (
        parse_batch_delete({"data": ["tok_a"], "storage": "VOLATILE"}, max_items=20)[1]
        == "VOLATILE"
    )
    with pytest.raises(BadRequest, match="Too many values"):
        parse_batch_delete({"data": [f"tok_{i}" for i in range(21)]}, max_items=20)
    assert parse_alias_query(" tok_a, tok_b ", max_items=20) == ["tok_a", "tok_b"]
    with pytest.raises(BadRequest, match=r"aliases\[1\] is not a valid alias"):
        parse_alias_query("tok_a,,tok_b", max_items=20)
    with pytest.raises(BadRequest, match="aliases is required"):
        parse_alias_query(None, max_items=20)
    assert parse_storage(None) == "PERSISTENT"
    with pytest.raises(BadRequest, match="storage must be one of"):
        parse_storage("persistent")


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b'{"data": NaN}', b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000, b"1" * 5000],
)
def test_parse_json_malformed_is_400(raw: bytes) -> None:
    with pytest.raises(BadRequest) as info:
        parse_json(raw)
    assert info.value.code == "MALFORMED_JSON"


def test_content_type() -> None:
    check_json_content_type("application/json; charset=utf-8")
    for bad in (None, "text/plain", "application/x-www-form-urlencoded"):
        with pytest.raises(UnsupportedMediaType):
            check_json_content_type(bad)


async def test_read_body_stops_at_the_limit() -> None:
    sent = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        sent += 1
        return {"type": "http.request", "body": b"x" * 1000, "more_body": True}

    with pytest.raises(PayloadTooLarge):
        await read_body(receive, None, 5000)
    assert sent == 6  # stopped right after crossing the limit, not at the end of the stream
    with pytest.raises(PayloadTooLarge):
        await read_body(receive, "999999", 5000)


def test_error_payload_has_both_parsers_fields() -> None:
    body = error_payload(
        status=404, title="Not found", code="ALIAS_NOT_FOUND", detail="d", href="h", trace_id="t"
    )
    assert body == {
        "errors": [
            {
                "status": 404,
                "title": "Not found",
                "code": "ALIAS_NOT_FOUND",
                "detail": "d",
                "href": "h",
            }
        ],
        "trace_id": "t",
    }


# --- the quick paths give the same results as the general ones ------------------------------

from datetime import UTC, datetime, timedelta, timezone  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from vaultswitch.domain.secret import Secret  # noqa: E402
from vaultswitch.vault.core.errors import VaultApiError  # noqa: E402
from vaultswitch.vault.core.models import AliasInfo, Record, iso_utc  # noqa: E402
from vaultswitch.vault.http import wire  # noqa: E402

_ITEM_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(["", "4111111111111111", "1234", "abc", "UUID", "PERSISTENT", "VOLATILE"]),
    st.sampled_from(["FPE_SIX_T_FOUR", "CUSTOM", "NOPE", "RAW_UUID", "tok_sandbox_abc"]),
    st.lists(st.sampled_from(["pan", "pan", "a:b", "-bad", "", "x" * 65, 3]), max_size=4),
    st.text(max_size=8),
)
_ITEMS = st.dictionaries(
    st.sampled_from(["value", "format", "classifiers", "storage", "alias", "other"]),
    _ITEM_VALUES,
    max_size=5,
)


def _outcome(body: Any) -> Any:
    try:
        return ("ok", parse_create(body, max_items=20))
    except VaultApiError as exc:
        return ("error", exc.status, exc.code, exc.detail)


@settings(max_examples=400, deadline=None)
@given(items=st.lists(st.one_of(_ITEMS, _ITEM_VALUES), min_size=1, max_size=3))
def test_parse_create_quick_path_accepts_and_rejects_as_the_checks(
    items: list[Any],
) -> None:
    body = {"data": items}
    quick = _outcome(body)
    original = wire._valid_new_value
    wire._valid_new_value = lambda item: None  # type: ignore[assignment]
    try:
        checked = _outcome(body)
    finally:
        wire._valid_new_value = original
    assert quick == checked


def test_dumps_records_is_the_compact_json_of_records_payload() -> None:
    records = [
        Record(
            value=Secret('quote " backslash \\ newline \n tab \t é ✓ \x01 \u2028'),
            classifiers=("pan", "a:b"),
            aliases=(
                AliasInfo("tok_sandbox_1", "UUID"),
                AliasInfo("1234", "NUM_LENGTH_PRESERVING"),
            ),
            created_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
            storage="PERSISTENT",
        ),
        Record(
            value=Secret(""),
            classifiers=(),
            aliases=(AliasInfo("tok_sandbox_2", "UUID"),),
            created_at=None,
            storage="VOLATILE",
        ),
        Record(  # a withheld value (create by reference, caller may not reveal)
            value=None,
            classifiers=("x",),
            aliases=(AliasInfo("tok_sandbox_3", "RAW_UUID"),),
            created_at=None,
            storage="PERSISTENT",
        ),
    ]
    for chosen in (records, records[:1], records[1:], records[2:], []):
        assert wire.dumps_records(chosen) == wire.dumps(wire.records_payload(chosen))
    assert b'"value"' not in wire.dumps_records(records[2:])


def test_iso_utc_matches_strftime_for_any_timezone() -> None:
    moments = [
        datetime(2026, 11, 29, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 11, 29, 23, 59, 59, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        datetime(2026, 1, 1, 0, 0, 0),  # naive: UTC
        datetime(999, 5, 6, 7, 8, 9, tzinfo=UTC),
    ]
    for moment in moments:
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        assert iso_utc(moment) == aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert iso_utc(None) is None
