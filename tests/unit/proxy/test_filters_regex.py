"""REGEX entries on bodies and header values: first capture group, else the whole match."""

from __future__ import annotations

from typing import Any

from vaultswitch.proxy.filters import MemoryAliasBackend, Message, apply_filters_sync
from vaultswitch.proxy.filters.regex_body import select_regex
from vaultswitch.proxy.routes.model import Entry
from vaultswitch.proxy.routes.parse import parse_entry
from vaultswitch.proxy.routes.transformers import RegexTransformer

PAN = "4111111111111111"


def entry(
    *patterns: str, op: str = "REDACT", targets: tuple[str, ...] = ("body",), **extra: Any
) -> Entry:
    raw = {
        "phase": "REQUEST",
        "operation": op,
        "token_manager": "PERSISTENT",
        "public_token_generator": extra.pop("fmt", "UUID"),
        "transformer": "REGEX",
        "transformer_config": list(patterns),
        "targets": list(targets),
        **extra,
    }
    return parse_entry(raw, "entry")


def spans(text: str, *patterns: str) -> list[str]:
    transformer = entry(*patterns).transformer
    assert isinstance(transformer, RegexTransformer)
    return [text[s.start : s.end] for s in select_regex(text, transformer, "body")]


def test_group_or_whole_match_and_no_empty_matches() -> None:
    text = "pan=4111 cvc=123 x="
    assert spans(text, r"cvc=(\d+)") == ["123"]
    assert spans(text, r"\d{4}") == ["4111"]
    assert spans(text, r"x=(\d*)", r"q*") == []
    assert spans(text, r"(?:pan|cvc)=(\d+)?") == ["4111", "123"]


def test_patterns_come_from_the_config_map_too() -> None:
    e = entry(transformer_config_map={"patterns": [r"card=(\d+)"]})
    result = apply_filters_sync([e], Message.of([], f"card={PAN};".encode()), MemoryAliasBackend())
    assert PAN.encode() not in result.message.body
    assert result.message.body.startswith(b"card=tok_")


def test_regex_replaces_only_the_match_in_any_body() -> None:
    body = f"<xml><pan>{PAN}</pan><pan2>{PAN}</pan2></xml>".encode()
    result = apply_filters_sync(
        [entry(r"<pan>(\d+)</pan>")], Message.of([], body), MemoryAliasBackend()
    )
    out = result.message.body.decode()
    alias = out.split("<pan>")[1].split("</pan>")[0]
    assert out == f"<xml><pan>{alias}</pan><pan2>{PAN}</pan2></xml>"


def test_bytes_that_are_not_utf8_stay_as_they_were() -> None:
    body = b"\xff\xfe card=" + PAN.encode() + b" \x80"
    result = apply_filters_sync([entry(r"card=(\d+)")], Message.of([], body), MemoryAliasBackend())
    assert result.message.body.startswith(b"\xff\xfe card=tok_sandbox_")
    assert result.message.body.endswith(b" \x80")


def test_overlapping_patterns_the_first_wins() -> None:
    text = f"n={PAN}"
    e = entry(r"n=(\d+)", r"\d{6}")
    result = apply_filters_sync([e], Message.of([], text.encode()), backend := MemoryAliasBackend())
    assert result.redacted == 1
    assert backend.calls == [("redact", "PERSISTENT", 1)]
    assert text[:2] in result.message.body.decode()


def test_regex_on_header_values_and_round_trip() -> None:
    backend = MemoryAliasBackend()
    message = Message.of([("Authorization", f"Card {PAN}"), ("X-Other", "1234567890123456")], b"")
    redacted = apply_filters_sync([entry(r"Card (\d+)", targets=("headers",))], message, backend)
    auth = dict(redacted.message.headers)[b"Authorization"].decode()
    assert auth.startswith("Card tok_sandbox_")
    assert dict(redacted.message.headers)[b"X-Other"] == b"1234567890123456"
    revealed = apply_filters_sync(
        [entry(r"Card (tok_sandbox_\w+)", op="ENRICH", targets=("headers",))],
        redacted.message,
        backend,
    )
    assert revealed.message == message


def test_framing_headers_are_never_transformed() -> None:
    body = f"x{PAN}".encode()
    message = Message.of([("Content-Length", str(len(body))), ("X-N", "17")], body)
    result = apply_filters_sync(
        [entry(r"\d+", targets=("headers",))], message, MemoryAliasBackend()
    )
    headers = dict(result.message.headers)
    assert headers[b"Content-Length"] == str(len(body)).encode()
    assert headers[b"X-N"].startswith(b"tok_sandbox_")
