"""parse → dump → parse is the identity on the model, for any valid route document (hypothesis):
as YAML (`vaultswitch routes get` / `apply`), as JSON:API resources (the management API), and
as the stored form (attributes without server fields)."""

from __future__ import annotations

import json
import string
import uuid
from datetime import UTC, datetime
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from vaultswitch.proxy.routes import (
    dump_yaml,
    load_document,
    parse_attributes,
    parse_document,
    parse_route,
)

NAME = st.text(string.ascii_letters + string.digits + "_-", min_size=1, max_size=12)
TAG = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,10}", fullmatch=True)
TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20
)
UUIDS = st.uuids().map(str)
FORMATS = st.sampled_from(["UUID", "FPE_SIX_T_FOUR", "RAW_UUID", "NUM_LENGTH_PRESERVING"])
REGEXES = st.sampled_from([r"/post", r"/v\d+/cards", r".*", r"(?i)APPLICATION/JSON", r"a|b"])


def json_paths() -> st.SearchStrategy[str]:
    segment = st.one_of(
        NAME.map(lambda n: "." + n),
        NAME.map(lambda n: f"['{n}']"),
        st.integers(-3, 20).map(lambda i: f"[{i}]"),
        st.just("[*]"),
        st.just(".*"),
        NAME.map(lambda n: ".." + n),
    )
    return st.lists(segment, min_size=1, max_size=4).map(lambda s: "$" + "".join(s))


def expressions() -> st.SearchStrategy[dict[str, Any]]:
    def build(field: str, operator: str, values: list[str]) -> dict[str, Any]:
        return {
            "condition": None,
            "rules": None,
            "expression": {
                "field": field,
                "type": "string",
                "operator": operator,
                "values": values,
            },
        }

    plain = st.builds(
        build,
        st.sampled_from(["PathInfo", "ContentType", "QueryString"]),
        st.sampled_from(["equals", "begins_with", "ends_with"]),
        st.lists(TEXT, min_size=1, max_size=3),
    )
    regex = st.builds(
        build,
        st.sampled_from(["PathInfo", "ContentType", "QueryString"]),
        st.just("matches"),
        st.lists(REGEXES, min_size=1, max_size=2),
    )
    return st.one_of(plain, regex)


def configs() -> st.SearchStrategy[dict[str, Any] | None]:
    tree = st.recursive(
        expressions(),
        lambda children: st.builds(
            lambda c, r: {"condition": c, "rules": r, "expression": None},
            st.sampled_from(["AND", "OR"]),
            st.lists(children, max_size=3),
        ),
        max_leaves=6,
    )
    return st.one_of(st.none(), tree)


def transformers() -> st.SearchStrategy[dict[str, Any]]:
    json_path = st.builds(
        lambda paths: {
            "transformer": "JSON_PATH",
            "transformer_config": paths,
            "transformer_config_map": None,
            "targets": ["body"],
        },
        st.lists(json_paths(), min_size=1, max_size=3),
    )
    form = st.builds(
        lambda names, targets: {
            "transformer": "FORM_FIELD",
            "transformer_config": names,
            "transformer_config_map": None,
            "targets": targets,
        },
        st.lists(NAME, min_size=1, max_size=3),
        st.sampled_from([["body"], ["headers"], ["body", "headers"]]),
    )
    regex = st.builds(
        lambda patterns, mapped: {
            "transformer": "REGEX",
            "transformer_config": patterns,
            "transformer_config_map": mapped,
            "targets": ["body"],
        },
        st.lists(REGEXES, min_size=1, max_size=2),
        st.one_of(
            st.none(), st.lists(REGEXES, min_size=1, max_size=2).map(lambda p: {"patterns": p})
        ),
    )
    return st.one_of(json_path, form, regex)


def entries() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda entry_id, phase, operation, storage, fmt, transformer, tags, config: {
            **({"id": entry_id} if entry_id else {}),
            "phase": phase,
            "operation": operation,
            "token_manager": storage,
            "public_token_generator": fmt,
            **transformer,
            "classifiers": {"TAGS": tags} if tags else {},
            "id_selector": None,
            "operations": None,
            "config": config,
        },
        st.one_of(st.none(), UUIDS),
        st.sampled_from(["REQUEST", "RESPONSE"]),
        st.sampled_from(["REDACT", "ENRICH"]),
        st.sampled_from(["PERSISTENT", "VOLATILE"]),
        FORMATS,
        transformers(),
        st.lists(TAG, max_size=3, unique=True),
        configs(),
    )


TIMES = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ).map(lambda d: d.replace(tzinfo=None).isoformat()),
)


def routes() -> st.SearchStrategy[dict[str, Any]]:
    def build(
        route_id: str | None,
        outbound: bool,
        host: str,
        entries_: list[dict[str, Any]],
        port: int | None,
        ordinal: int | None,
        tags: dict[str, Any],
        created: str | None,
        source: str,
    ) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "protocol": "http",
            "source_endpoint": source,
            "destination_override_endpoint": "*"
            if outbound
            else "https://upstream.example:8443/base",
            "host_endpoint": host,
            "port": port,
            "ordinal": ordinal,
            "tags": tags,
            "entries": entries_,
        }
        if created is not None:
            attributes["created_at"] = created
            attributes["updated_at"] = created
        item: dict[str, Any] = {"type": "rule_chain", "attributes": attributes}
        if route_id is not None:
            item["id"] = route_id
            attributes["id"] = route_id
        return item

    return st.builds(
        build,
        st.one_of(st.none(), UUIDS),
        st.booleans(),
        st.sampled_from([r"api\.example\.com", r"(.*)\.verygoodproxy\.com", r"tnt[a-z0-9]{8}\..*"]),
        st.lists(entries(), max_size=3),
        st.one_of(st.none(), st.integers(1, 65535)),
        st.one_of(st.none(), st.integers(-5, 5)),
        st.dictionaries(NAME, st.one_of(TEXT, st.integers(), st.booleans(), st.none()), max_size=3),
        TIMES,
        st.sampled_from(["*", "10.0.0.0/8", "127.0.0.1, ::1"]),
    )


def _unique_ids(doc: dict[str, Any]) -> dict[str, Any]:
    """Generated ids may repeat (a refusal, tested elsewhere): make them unique."""
    for item in doc["data"]:
        if "id" in item:
            item["id"] = item["attributes"]["id"] = str(uuid.uuid4())
        for entry in item["attributes"]["entries"]:
            if "id" in entry:
                entry["id"] = str(uuid.uuid4())
    return doc


DOCUMENTS = st.lists(routes(), max_size=3).map(lambda r: _unique_ids({"version": 1, "data": r}))


@settings(max_examples=150, deadline=None)
@given(DOCUMENTS)
def test_yaml_round_trip(doc: dict[str, Any]) -> None:
    parsed = parse_document(doc)
    text = dump_yaml(parsed)
    again = load_document(text)
    assert again == parsed
    assert dump_yaml(again) == text  # the dump is stable too
    assert yaml.safe_load(text) == json.loads(json.dumps(parsed.to_wire()))


@settings(max_examples=100, deadline=None)
@given(routes())
def test_json_api_and_stored_round_trips(item: dict[str, Any]) -> None:
    route = parse_route(item)
    wire = json.loads(json.dumps(route.to_wire()))
    assert parse_route(wire) == route
    if route.id is not None:
        stored = json.loads(json.dumps(route.attributes(server_fields=False)))
        assert "id" not in stored
        assert "created_at" not in stored
        back = parse_attributes(stored, "stored", route.id)
        assert back.with_times(route.created_at, route.updated_at) == route  # type: ignore[arg-type]
