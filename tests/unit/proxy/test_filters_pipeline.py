"""The pipeline as a whole: batching per storage, entry order, unknown aliases and strict
mode, framing headers, compressed bodies, limits, and errors that never show a value."""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from vaultswitch.domain.secret import Secret
from vaultswitch.proxy.filters import (
    AliasBackendError,
    AliasNotFound,
    AsyncBackend,
    BodyTooLarge,
    FilterError,
    FilterPlan,
    InvalidContentEncoding,
    InvalidHeaderValue,
    MemoryAliasBackend,
    Message,
    RedactItem,
    Storage,
    TooManyValues,
    UnsupportedContentEncoding,
    ValueNotRedactable,
    apply_filters,
    apply_filters_sync,
    with_body,
)
from vaultswitch.proxy.routes import parse_route
from vaultswitch.proxy.routes.model import Entry
from vaultswitch.proxy.routes.parse import parse_entry

PAN = "4111111111111111"
PAN2 = "5555555555554444"
JSON_CT = ("Content-Type", "application/json")


def entry(transformer: str, *config: str, op: str = "REDACT", **extra: Any) -> Entry:
    raw = {
        "phase": extra.pop("phase", "REQUEST"),
        "operation": op,
        "token_manager": extra.pop("storage", "PERSISTENT"),
        "public_token_generator": extra.pop("fmt", "UUID"),
        "transformer": transformer,
        "transformer_config": list(config),
        "targets": list(extra.pop("targets", ("body",))),
        **extra,
    }
    return parse_entry(raw, "entry")


def card_body(**card: Any) -> bytes:
    return json.dumps({"card": card}).encode()


# --- batching ----------------------------------------------------------------------------------


def test_one_redact_call_per_storage_with_distinct_values() -> None:
    backend = MemoryAliasBackend()
    entries = [
        entry("JSON_PATH", "$.cards[*].number", "$.again"),
        entry("JSON_PATH", "$.cards[*].cvc", storage="VOLATILE"),
        entry("REGEX", r"ref=(\d+)", targets=("headers",)),
    ]
    body = json.dumps(
        {"cards": [{"number": PAN, "cvc": "123"}, {"number": PAN2, "cvc": "123"}], "again": PAN}
    ).encode()
    message = Message.of([JSON_CT, ("X-Ref", f"ref={PAN2}")], body)
    result = apply_filters_sync(entries, message, backend)
    assert sorted(backend.calls) == [("redact", "PERSISTENT", 2), ("redact", "VOLATILE", 1)]
    doc = json.loads(result.message.body)
    assert doc["cards"][0]["number"] == doc["again"] != doc["cards"][1]["number"]
    assert doc["cards"][0]["cvc"] == doc["cards"][1]["cvc"]
    assert backend.holds(doc["cards"][0]["cvc"], "VOLATILE")
    assert dict(result.message.headers)[b"X-Ref"] == f"ref={doc['cards'][1]['number']}".encode()
    assert result.redacted == 6


def test_one_reveal_call_per_storage() -> None:
    backend = MemoryAliasBackend()
    [a1, a2] = backend.redact([RedactItem(Secret(PAN), "UUID"), RedactItem(Secret(PAN2), "UUID")])
    [c1] = backend.redact([RedactItem(Secret("123"), "UUID", "VOLATILE")])
    backend.calls.clear()
    body = json.dumps({"l": [{"n": a1, "c": c1}, {"n": a2, "c": c1}, {"n": a1}]}).encode()
    entries = [
        entry("JSON_PATH", "$.l[*].n", op="ENRICH"),
        entry("JSON_PATH", "$.l[*].c", op="ENRICH", storage="VOLATILE"),
    ]
    result = apply_filters_sync(entries, Message.of([JSON_CT], body), backend)
    assert sorted(backend.calls) == [("reveal", "PERSISTENT", 2), ("reveal", "VOLATILE", 1)]
    assert json.loads(result.message.body) == {
        "l": [{"n": PAN, "c": "123"}, {"n": PAN2, "c": "123"}, {"n": PAN}]
    }
    assert result.revealed == 5


def test_the_first_entry_that_selects_a_place_wins() -> None:
    body = json.dumps({"number": PAN, "card": {"number": PAN2}}).encode()
    backend = MemoryAliasBackend()
    entries = [
        entry("JSON_PATH", "$.number", storage="VOLATILE"),
        entry("JSON_PATH", "$..number"),
        entry("REGEX", r"\d{16}", fmt="FPE_SIX_T_FOUR"),
    ]
    doc = json.loads(apply_filters_sync(entries, Message.of([JSON_CT], body), backend).message.body)
    assert backend.holds(doc["number"], "VOLATILE")
    assert backend.holds(doc["card"]["number"], "PERSISTENT")
    assert doc["card"]["number"].startswith("tok_")  # the JSON_PATH entry's UUID, not FPE
    assert sorted(backend.calls) == [("redact", "PERSISTENT", 1), ("redact", "VOLATILE", 1)]

    regex_first = [entries[2], entries[0]]
    doc = json.loads(
        apply_filters_sync(regex_first, Message.of([JSON_CT], body), backend).message.body
    )
    assert doc["number"][:6] == PAN[:6]
    assert doc["number"] != PAN
    assert not backend.holds(doc["number"], "VOLATILE")


def test_plan_reports_what_it_reads() -> None:
    header_only = FilterPlan.of([entry("FORM_FIELD", "X-Card", targets=("headers",))])
    assert header_only.touches_headers
    assert not header_only.touches_body
    body = FilterPlan.of([entry("REGEX", r"\d+")])
    assert body.touches_body
    assert not body.touches_headers
    assert FilterPlan.of([]).empty


def test_no_entries_or_nothing_selected_returns_the_message_untouched() -> None:
    message = Message.of([JSON_CT, ("Content-Length", "2")], b"{}")
    backend = MemoryAliasBackend()
    assert apply_filters_sync([], message, backend).message is message
    result = apply_filters_sync([entry("JSON_PATH", "$.x")], message, backend)
    assert result.message.body is message.body
    assert result.message.headers is message.headers
    assert backend.calls == []


def test_a_header_only_plan_never_reads_the_body() -> None:
    message = Message.of([("Content-Encoding", "br"), ("X-Card", PAN)], b"\x00compressed")
    result = apply_filters_sync(
        [entry("FORM_FIELD", "x-card", targets=("headers",))], message, MemoryAliasBackend()
    )
    assert result.message.body is message.body
    assert result.headers_changed


def test_a_body_plan_reads_no_json_without_json_path_entries() -> None:
    # a REDACT on a body that says JSON but is not: only JSON_PATH entries parse it
    message = Message.of([JSON_CT], f"pan={PAN} ,}}".encode())
    result = apply_filters_sync([entry("REGEX", r"\d{16}")], message, MemoryAliasBackend())
    assert PAN.encode() not in result.message.body


# --- unknown aliases ---------------------------------------------------------------------------


def test_unknown_aliases_pass_through_unchanged() -> None:
    backend = MemoryAliasBackend()
    [known] = backend.redact([RedactItem(Secret(PAN), "UUID")])
    body = json.dumps({"a": known, "b": "tok_sandbox_unknownunknown", "c": PAN2}).encode()
    result = apply_filters_sync(
        [entry("JSON_PATH", "$.a", "$.b", "$.c", op="ENRICH")], Message.of([JSON_CT], body), backend
    )
    assert json.loads(result.message.body) == {
        "a": PAN,
        "b": "tok_sandbox_unknownunknown",
        "c": PAN2,
    }
    assert (result.revealed, result.unknown) == (1, 2)


def test_strict_mode_names_the_places_of_unknown_aliases_never_their_text() -> None:
    backend = MemoryAliasBackend()
    body = json.dumps({"a": "tok_sandbox_nope", "card": {"n": PAN2}}).encode()
    with pytest.raises(AliasNotFound) as caught:
        apply_filters_sync(
            [entry("JSON_PATH", "$.a", "$.card.n", op="ENRICH")],
            Message.of([JSON_CT], body),
            backend,
            strict=True,
        )
    err = caught.value
    assert err.status == 400
    assert err.code == "ALIAS_NOT_FOUND"
    assert "body $.a" in err.detail
    assert "body $.card.n" in err.detail
    for text in (str(err), repr(err), err.detail, err.hint):
        assert PAN2 not in text
        assert "tok_sandbox_nope" not in text


def test_strict_on_a_response_is_a_bad_gateway() -> None:
    with pytest.raises(AliasNotFound) as caught:
        apply_filters_sync(
            [entry("REGEX", r"tok_\w+", op="ENRICH", phase="RESPONSE")],
            Message.of([], b"tok_sandbox_x"),
            MemoryAliasBackend(),
            strict=True,
        )
    assert caught.value.status == 502


def test_strict_counts_values_that_cannot_be_aliases_too() -> None:
    with pytest.raises(AliasNotFound):
        apply_filters_sync(
            [entry("FORM_FIELD", "n", op="ENRICH")],
            Message.of([], b"n=%FF"),
            MemoryAliasBackend(),
            strict=True,
        )


# --- framing -------------------------------------------------------------------------------


def test_content_length_is_replaced_in_place() -> None:
    headers = ((b"A", b"1"), (b"content-length", b"5"), (b"B", b"2"), (b"Content-Length", b"5"))
    assert with_body(headers, b"1234567") == ((b"A", b"1"), (b"content-length", b"7"), (b"B", b"2"))
    assert with_body(((b"A", b"1"),), b"12") == ((b"A", b"1"), (b"Content-Length", b"2"))
    chunked = ((b"Transfer-Encoding", b"chunked"), (b"Content-Length", b"9"))
    assert with_body(chunked, b"12") == ((b"Transfer-Encoding", b"chunked"),)


# --- compressed bodies -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("coding", "compress"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send
    ],
)
def test_a_compressed_body_is_read_and_sent_on_uncompressed(coding: str, compress: Any) -> None:
    body = card_body(number=PAN)
    message = Message.of([JSON_CT, ("Content-Encoding", coding)], compress(body))
    result = apply_filters_sync(
        [entry("JSON_PATH", "$.card.number")], message, MemoryAliasBackend()
    )
    assert json.loads(result.message.body)["card"]["number"].startswith("tok_")
    assert result.message.header("content-encoding") is None
    assert result.message.header("content-length") == str(len(result.message.body)).encode()


def test_an_unchanged_compressed_body_keeps_its_bytes_and_coding() -> None:
    message = Message.of([JSON_CT, ("Content-Encoding", "gzip")], gzip.compress(b'{"x": 1}'))
    result = apply_filters_sync(
        [entry("JSON_PATH", "$.card.number")], message, MemoryAliasBackend()
    )
    assert result.message == message


def test_gzip_then_identity_listed_and_several_members() -> None:
    body = gzip.compress(b'{"card": {"number": "') + gzip.compress(PAN.encode() + b'"}}')
    message = Message.of([("Content-Encoding", "identity, gzip")], body)
    result = apply_filters_sync(
        [entry("JSON_PATH", "$.card.number")], message, MemoryAliasBackend()
    )
    assert PAN.encode() not in result.message.body


def test_unreadable_codings_fail_rather_than_pass_data_unexamined() -> None:
    with pytest.raises(UnsupportedContentEncoding) as caught:
        apply_filters_sync(
            [entry("JSON_PATH", "$.n")],
            Message.of([("Content-Encoding", "br")], b"\x1b\x00"),
            MemoryAliasBackend(),
        )
    assert caught.value.status == 415
    with pytest.raises(InvalidContentEncoding):
        apply_filters_sync(
            [entry("JSON_PATH", "$.n")],
            Message.of([("Content-Encoding", "gzip")], gzip.compress(b"{}")[:-3]),
            MemoryAliasBackend(),
        )


def test_decompression_is_bounded() -> None:
    bomb = gzip.compress(b" " * 200_000)
    plan = FilterPlan.of([entry("JSON_PATH", "$.n")], max_decoded_body=100_000)
    with pytest.raises(BodyTooLarge) as caught:
        apply_filters_sync(
            plan, Message.of([("Content-Encoding", "gzip")], bomb), MemoryAliasBackend()
        )
    assert caught.value.status == 413
    small = FilterPlan.of([entry("JSON_PATH", "$.n")], max_decoded_body=200_000)
    body = gzip.compress(b'{"n": "1"}' + b" " * 199_990)
    result = apply_filters_sync(
        small, Message.of([("Content-Encoding", "gzip")], body), MemoryAliasBackend()
    )
    assert result.body_changed


# --- limits and refusals ---------------------------------------------------------------------


def test_too_many_values_in_one_message() -> None:
    plan = FilterPlan.of([entry("JSON_PATH", "$[*]")], max_values=3)
    with pytest.raises(TooManyValues) as caught:
        apply_filters_sync(plan, Message.of([], b'["1","2","3","4"]'), MemoryAliasBackend())
    assert caught.value.status == 413


def test_a_value_the_format_refuses_is_named_by_its_place() -> None:
    body = json.dumps({"card": {"number": PAN, "cvc": "12x"}}).encode()
    entries = [entry("JSON_PATH", "$.card.number", "$.card.cvc", fmt="FPE_SIX_T_FOUR")]
    with pytest.raises(ValueNotRedactable) as caught:
        apply_filters_sync(entries, Message.of([JSON_CT], body), MemoryAliasBackend())
    err = caught.value
    assert "body $.card.cvc" in err.detail
    assert "FPE_SIX_T_FOUR" in err.detail
    assert err.status == 400
    assert "12x" not in str(err)
    assert PAN not in str(err)


def test_a_lone_surrogate_cannot_be_redacted() -> None:
    with pytest.raises(ValueNotRedactable):
        apply_filters_sync(
            [entry("JSON_PATH", "$.n")], Message.of([], rb'{"n": "\ud800"}'), MemoryAliasBackend()
        )


def test_a_revealed_value_with_a_line_break_cannot_go_into_a_header() -> None:
    backend = MemoryAliasBackend()
    [alias] = backend.redact([RedactItem(Secret("a\r\nInjected: 1"), "UUID")])
    with pytest.raises(InvalidHeaderValue) as caught:
        apply_filters_sync(
            [entry("FORM_FIELD", "x-v", op="ENRICH", targets=("headers",))],
            Message.of([("X-V", alias)]),
            backend,
        )
    assert "Injected" not in str(caught.value)
    assert caught.value.status == 400


def test_a_backend_failure_fails_the_message() -> None:
    class Down:
        def redact(self, items: Sequence[RedactItem]) -> list[str]:
            raise AliasBackendError("storage unavailable", code="STORAGE_UNAVAILABLE", status=503)

        def reveal(self, aliases: Sequence[str], storage: Storage) -> Mapping[str, Secret | None]:
            raise AssertionError("not reached")

    with pytest.raises(AliasBackendError) as caught:
        apply_filters_sync([entry("REGEX", r"\d+")], Message.of([], b"12"), Down())
    assert caught.value.status == 503


def test_a_backend_answering_too_few_aliases_is_caught() -> None:
    class Short:
        def redact(self, items: Sequence[RedactItem]) -> list[str]:
            return []

        def reveal(self, aliases: Sequence[str], storage: Storage) -> Mapping[str, Secret | None]:
            return {}

    with pytest.raises(AliasBackendError) as caught:
        apply_filters_sync([entry("REGEX", r"\d+")], Message.of([], b"12"), Short())
    assert caught.value.code == "BACKEND_FAILED"


def test_values_never_show_in_reprs() -> None:
    message = Message.of([("X-Card", PAN)], card_body(number=PAN))
    plan = FilterPlan.of([entry("JSON_PATH", "$.card.number")])
    selection = plan.select(message)
    for shown in (repr(message), repr(selection), repr(selection.redact_batches), repr(plan)):
        assert PAN not in shown


def test_filter_errors_are_typed() -> None:
    for kind in (AliasNotFound, ValueNotRedactable, TooManyValues, UnsupportedContentEncoding):
        assert issubclass(kind, FilterError)
        assert kind("d", "h", "RESPONSE").status == 502


# --- the async driver and real route documents -----------------------------------------------


async def test_the_async_driver_matches_the_sync_one() -> None:
    route = parse_route(
        {
            "type": "rule_chain",
            "attributes": {
                "destination_override_endpoint": "https://upstream.example",
                "host_endpoint": r"(.*)\.example",
                "entries": [
                    {
                        "phase": "REQUEST",
                        "operation": "REDACT",
                        "token_manager": "PERSISTENT",
                        "public_token_generator": "FPE_SIX_T_FOUR",
                        "transformer": "JSON_PATH",
                        "transformer_config": ["$.card.number"],
                        "targets": ["body"],
                    }
                ],
            },
        }
    )
    backend = MemoryAliasBackend()
    message = Message.of([JSON_CT], card_body(number=PAN, exp="12/30"))
    result = await apply_filters(route.entries, message, backend.asynchronous())
    alias = json.loads(result.message.body)["card"]["number"]
    assert alias != PAN
    assert alias[:6] == PAN[:6]
    assert alias[-4:] == PAN[-4:]
    ran: list[str] = []

    async def runner(call: Any) -> Any:
        ran.append("call")
        return call()

    enrich = [entry("JSON_PATH", "$.card.number", op="ENRICH")]
    back = await apply_filters(enrich, result.message, AsyncBackend(backend, runner))
    assert back.message.body == message.body + b""
    assert ran == ["call"]


def test_no_regular_expression_is_compiled_per_message(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = [
        entry("JSON_PATH", "$.card.number", "$..cvc"),
        entry("FORM_FIELD", "card_number", targets=("body", "headers")),
        entry("REGEX", r"ref=(\d+)", targets=("body", "headers")),
    ]
    json_message = Message.of([JSON_CT, ("X-Ref", f"ref={PAN}")], card_body(number=PAN, cvc="1"))
    form_message = Message.of(
        [("Content-Type", "application/x-www-form-urlencoded"), ("card_number", PAN)],
        f"card_number={PAN}&ref={PAN2}&x=%7B".encode(),
    )
    backend = MemoryAliasBackend()

    def no_compile(*args: object, **kwargs: object) -> None:
        raise AssertionError("a regular expression was compiled while filtering")

    monkeypatch.setattr(re, "_compile", no_compile)
    for message in (json_message, form_message):
        redacted = apply_filters_sync(entries, message, backend)
        assert PAN.encode() not in redacted.message.body
