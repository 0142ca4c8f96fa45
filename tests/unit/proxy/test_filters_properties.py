"""Properties of the filters, over generated messages: card fields at the configured places
are redacted exactly there and nowhere else, and revealing the result gives back what was
sent — for JSON bodies, form bodies and REGEX on any text."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from vaultswitch.proxy.filters import MemoryAliasBackend, Message, Storage, apply_filters_sync
from vaultswitch.proxy.routes.model import Entry
from vaultswitch.proxy.routes.parse import parse_entry

PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CARD_KEYS = frozenset({"card", "number", "payments", "cvc", "holder"})


def entry(
    transformer: str,
    config: str,
    op: str,
    fmt: str = "UUID",
    storage: str = "PERSISTENT",
    tags: tuple[str, ...] = (),
) -> Entry:
    return parse_entry(
        {
            "phase": "REQUEST",
            "operation": op,
            "token_manager": storage,
            "public_token_generator": fmt,
            "transformer": transformer,
            "transformer_config": [config],
            "targets": ["body"],
            "classifiers": {"TAGS": list(tags)} if tags else {},
        },
        "entry",
    )


def revealed_by(backend: MemoryAliasBackend, alias: str, storage: Storage = "PERSISTENT") -> str:
    found = backend.reveal([alias], storage)[alias]
    assert found is not None, "not an alias the backend holds"
    return found.reveal()


pans = st.from_regex(r"[1-9][0-9]{11,18}", fullmatch=True)
cvcs = st.from_regex(r"[0-9]{3,4}", fullmatch=True)


# --- JSON -------------------------------------------------------------------------------------

json_keys = st.text(max_size=6).filter(lambda k: k not in CARD_KEYS)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(json_keys, inner, max_size=3),
    max_leaves=12,
)


def _objects(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        found.append(node)
        for child in node.values():
            found.extend(_objects(child))
    elif isinstance(node, list):
        for child in node:
            found.extend(_objects(child))
    return found


def _shuffled_in(data: st.DataObject, obj: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """obj with key: value at a drawn position among its members."""
    items = list(obj.items())
    at = data.draw(st.integers(0, len(items)))
    items.insert(at, (key, value))
    return dict(items)


@st.composite
def card_documents(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A JSON object with a card number at $.card.number (string or number), CVCs at
    $.payments[*].cvc and holder names under "holder" anywhere; and what was placed."""
    data = draw(st.data())
    pan = draw(pans)
    number: Any = int(pan) if draw(st.booleans()) else pan
    card = _shuffled_in(
        data, draw(st.dictionaries(json_keys, json_values, max_size=3)), "number", number
    )
    payments = [
        _shuffled_in(data, draw(st.dictionaries(json_keys, json_values, max_size=2)), "cvc", cvc)
        for cvc in draw(st.lists(cvcs, max_size=3))
    ]
    doc = draw(st.dictionaries(json_keys, json_values, max_size=4))
    doc = _shuffled_in(data, doc, "card", card)
    doc = _shuffled_in(data, doc, "payments", payments)
    holders: list[str] = []
    for obj in _objects(doc):
        if draw(st.booleans()):
            holder = draw(st.text(min_size=1, max_size=10))
            holders.append(holder)
            obj["holder"] = holder  # appended last; order elsewhere is drawn
    return doc, {
        "pan": pan,
        "number": number,
        "cvcs": [p["cvc"] for p in payments],
        "holders": holders,
    }


def _dump(data: st.DataObject, doc: dict[str, Any]) -> tuple[str, bool]:
    ensure_ascii = data.draw(st.booleans())
    indent = data.draw(st.sampled_from([None, 0, 2]))
    separators = data.draw(st.sampled_from([None, (",", ":"), (" , ", " : ")]))
    return json.dumps(doc, ensure_ascii=ensure_ascii, indent=indent, separators=separators), (
        ensure_ascii
    )


JSON_REDACT = [
    entry("JSON_PATH", "$.card.number", "REDACT", fmt="FPE_SIX_T_FOUR"),
    entry("JSON_PATH", "$.payments[*].cvc", "REDACT", storage="VOLATILE"),
    entry("JSON_PATH", "$..holder", "REDACT", tags=("pii",)),
]
JSON_ENRICH = [
    entry("JSON_PATH", "$.card.number", "ENRICH"),
    entry("JSON_PATH", "$.payments[*].cvc", "ENRICH", storage="VOLATILE"),
    entry("JSON_PATH", "$..holder", "ENRICH"),
]


def _walk_holders(node: Any, visit: Callable[[dict[str, Any]], None]) -> None:
    for obj in _objects(node):
        if "holder" in obj:
            visit(obj)


@PROPERTY
@given(card_documents(), st.data())
def test_json_card_fields_are_redacted_exactly_there_and_revealed_back(
    placed: tuple[dict[str, Any], dict[str, Any]], data: st.DataObject
) -> None:
    doc, cards = placed
    text, ensure_ascii = _dump(data, doc)
    assume(text.count(cards["pan"]) == 1)
    backend = MemoryAliasBackend()
    message = Message.of([("Content-Type", "application/json")], text.encode())

    redacted = apply_filters_sync(JSON_REDACT, message, backend)
    calls = [call[:2] for call in backend.calls]
    out_text = redacted.message.body.decode()
    assert cards["pan"] not in out_text
    out = json.loads(out_text)

    # exactly there: each placed value is now an alias of itself ...
    number = out["card"]["number"]
    assert type(number) is type(cards["number"])  # digit alias of a number stays a number
    assert revealed_by(backend, str(number)) == cards["pan"]
    out["card"]["number"] = cards["number"]
    for payment, cvc in zip(out["payments"], cards["cvcs"], strict=True):
        assert revealed_by(backend, payment["cvc"], "VOLATILE") == cvc
        payment["cvc"] = cvc
    seen: list[str] = []

    def put_back(obj: dict[str, Any]) -> None:
        found = backend.reveal([obj["holder"]], "PERSISTENT")[obj["holder"]]
        assert found is not None
        seen.append(found.reveal())
        obj["holder"] = found.reveal()

    _walk_holders(out, put_back)
    assert sorted(seen) == sorted(cards["holders"])
    # ... and nowhere else: with them put back, the document is the one sent
    assert out == json.loads(text)
    assert redacted.message.header("content-length") == str(len(redacted.message.body)).encode()
    assert sorted(calls) == sorted(
        [("redact", "PERSISTENT")] + ([("redact", "VOLATILE")] if cards["cvcs"] else [])
    )  # one call per storage

    revealed = apply_filters_sync(JSON_ENRICH, redacted.message, backend)
    assert json.loads(revealed.message.body) == json.loads(text)
    if not ensure_ascii or all(h.isascii() for h in cards["holders"]):
        assert revealed.message.body == message.body  # byte for byte


# --- form bodies -------------------------------------------------------------------------------

CARD_FIELDS = ("card_number", "cvc")
ENCODERS: list[Callable[[str], str]] = [
    lambda v: quote_plus(v, safe=""),
    lambda v: quote(v, safe="{}$"),  # braces and dollars left raw, as templates write them
    lambda v: quote_plus(v, safe="{}$*~!'()"),
]
form_names = st.text(min_size=1, max_size=8).filter(lambda n: n not in CARD_FIELDS)
form_values = st.text(max_size=10)


@st.composite
def form_bodies(draw: st.DrawFn) -> tuple[list[tuple[str, str]], list[str]]:
    """(decoded pairs, encoded segments) with card fields among other fields."""
    pairs = draw(st.lists(st.tuples(form_names, form_values), max_size=6))
    cards = draw(
        st.lists(st.tuples(st.sampled_from(CARD_FIELDS), pans | cvcs), min_size=1, max_size=3)
    )
    for card in cards:
        pairs.insert(draw(st.integers(0, len(pairs))), card)
    segments = []
    for name, value in pairs:
        encode = draw(st.sampled_from(ENCODERS))
        segments.append(f"{encode(name)}={encode(value)}")
    return pairs, segments


FORM_REDACT = [
    entry("FORM_FIELD", "card_number", "REDACT", fmt="FPE_SIX_T_FOUR"),
    entry("FORM_FIELD", "cvc", "REDACT", storage="VOLATILE"),
]
FORM_ENRICH = [
    entry("FORM_FIELD", "card_number", "ENRICH"),
    entry("FORM_FIELD", "cvc", "ENRICH", storage="VOLATILE"),
]
STORAGE_OF: dict[str, Storage] = {"card_number": "PERSISTENT", "cvc": "VOLATILE"}


@PROPERTY
@given(form_bodies())
def test_form_card_fields_are_redacted_exactly_there_and_revealed_back(
    generated: tuple[list[tuple[str, str]], list[str]],
) -> None:
    pairs, segments = generated
    for name, value in pairs:
        if name == "card_number":
            assume(len(value) >= 12)  # FPE_SIX_T_FOUR takes 12-19 digits
    body = "&".join(segments).encode()
    backend = MemoryAliasBackend()
    message = Message.of([("Content-Type", "application/x-www-form-urlencoded")], body)

    redacted = apply_filters_sync(FORM_REDACT, message, backend)
    out_segments = redacted.message.body.decode("ascii").split("&")
    assert len(out_segments) == len(segments)
    out_pairs = parse_qsl(redacted.message.body.decode(), keep_blank_values=True)
    assert len(out_pairs) == len(pairs)
    for (name, value), (out_name, out_value), segment, out_segment in zip(
        pairs, out_pairs, segments, out_segments, strict=True
    ):
        assert out_name == name
        if name in CARD_FIELDS:
            assert out_value != value
            assert revealed_by(backend, out_value, STORAGE_OF[name]) == value
        else:
            assert out_segment == segment  # every other field byte for byte

    revealed = apply_filters_sync(FORM_ENRICH, redacted.message, backend)
    assert revealed.message.body == body  # digits are written as they were


# --- REGEX -------------------------------------------------------------------------------------

fillers = st.text(alphabet=" ,.;:!?-éß€\n\"{}[]&=%$#'", min_size=1, max_size=8)

REGEX_REDACT = [entry("REGEX", r"[0-9]{12,19}", "REDACT")]
REGEX_ENRICH = [entry("REGEX", r"tok_sandbox_([A-Za-z0-9]+)?", "ENRICH")]


@PROPERTY
@given(st.lists(st.tuples(fillers, pans), max_size=5), st.text(alphabet=" ,;\n", max_size=3))
def test_regex_matches_are_redacted_exactly_there_and_revealed_back(
    parts: list[tuple[str, str]], tail: str
) -> None:
    text = "".join(f + p for f, p in parts) + tail
    backend = MemoryAliasBackend()
    redacted = apply_filters_sync(REGEX_REDACT, Message.of([], text.encode()), backend)
    out = redacted.message.body.decode()
    rebuilt, at = [], 0
    for filler, pan in parts:  # the same fillers, each card number now an alias
        assert out.startswith(filler, at)
        at += len(filler)
        end = out.find("tok_sandbox_", at)
        assert end == at
        alias_end = at + len("tok_sandbox_")
        while alias_end < len(out) and out[alias_end].isascii() and out[alias_end].isalnum():
            alias_end += 1
        alias = out[at:alias_end]
        found = backend.reveal([alias], "PERSISTENT")[alias]
        assert found is not None
        assert found.reveal() == pan
        rebuilt.append(filler + pan)
        at = alias_end
    assert out[at:] == tail
    assert "".join(rebuilt) + tail == text
    # the ENRICH pattern's group is the alias's tail: select the whole alias instead
    enrich = [entry("REGEX", r"tok_sandbox_[A-Za-z0-9]+", "ENRICH")]
    revealed = apply_filters_sync(enrich, redacted.message, backend)
    assert revealed.message.body == text.encode()
