"""The route model reads VGS route documents: the reference's example, vgs-cli's own template,
the shape `vgs get routes` prints; and refuses what it does not implement, naming the place."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from vaultswitch.proxy.routes import (
    Expression,
    FormFieldTransformer,
    Group,
    JsonPathTransformer,
    RegexTransformer,
    RouteError,
    UnsupportedRouteFeature,
    dump_yaml,
    load_document,
    parse_document,
    parse_route,
    with_entry_ids,
)
from vaultswitch.proxy.routes.transformers import Descendant, Every, Index, Key, parse_json_path

DATA = Path(__file__).resolve().parents[2] / "data" / "routes"
ROUTE_ID = "04b2e1b7-fb60-472f-a79f-af7e2353f122"
ENTRY_ID = "39f2f5db-06a0-461d-9387-dd9a7ab19035"


def _vgscli_template(name: str) -> str:
    return (resources.files("vgscli") / "resource-templates" / name).read_text("utf-8")


def _base() -> dict[str, Any]:
    data = yaml.safe_load((DATA / "reference-example.yaml").read_text())
    assert isinstance(data, dict)
    return data


def test_the_reference_example_parses() -> None:
    document = load_document((DATA / "reference-example.yaml").read_text())
    (route,) = document.routes
    assert route.id == ROUTE_ID
    assert route.destination_override_endpoint == "https://echo.apps.verygood.systems"
    assert not route.outbound
    assert route.host_endpoint == r"(.*)\.verygoodproxy\.com"
    assert (route.protocol, route.source_endpoint, route.port, route.ordinal) == (
        "http",
        "*",
        80,
        None,
    )
    assert route.tags == {"name": "inbound-echo", "source": "RouteContainer"}
    assert route.name == "inbound-echo"
    (entry,) = route.entries
    assert entry.id == ENTRY_ID
    assert (entry.phase, entry.operation, entry.token_manager) == (
        "REQUEST",
        "REDACT",
        "PERSISTENT",
    )
    assert entry.public_token_generator == "UUID"
    assert isinstance(entry.transformer, JsonPathTransformer)
    assert [p.text for p in entry.transformer.paths] == ["$.account_number"]
    assert entry.targets == ("body",)
    assert entry.condition == Group(
        "AND",
        (
            Expression("PathInfo", "matches", ("/post",)),
            Expression("ContentType", "equals", ("application/json",)),
        ),
    )


def test_the_exported_shape_parses_with_times_and_both_directions() -> None:
    document = load_document((DATA / "vgs-exported.yaml").read_text())
    outbound, inbound = document.routes
    assert outbound.outbound
    assert outbound.entries[0].operation == "ENRICH"
    assert outbound.created_at == datetime(2021, 5, 2, 11, 30, tzinfo=UTC)
    assert not inbound.outbound
    assert isinstance(inbound.entries[0].transformer, FormFieldTransformer)
    assert inbound.entries[0].transformer.fields == ("name",)
    # times come back as VGS prints them
    assert outbound.to_wire()["attributes"]["updated_at"] == "2021-05-02T11:30:00"


def test_vgs_clis_own_http_route_template_parses() -> None:
    document = load_document(_vgscli_template("http-route-template.yaml"))
    (route,) = document.routes
    assert route.id is None  # a template: ids are assigned on create
    assert route.host_endpoint == "*"
    assert route.entries[0].id is None
    assert with_entry_ids(route).entries[0].id is not None


def test_vgs_clis_sftp_template_is_refused_at_its_protocol() -> None:
    with pytest.raises(UnsupportedRouteFeature) as caught:
        load_document(_vgscli_template("sftp-route-template.yaml"))
    assert caught.value.where == "data[0].attributes.protocol"
    assert caught.value.code == "UNSUPPORTED_ROUTE_FEATURE"


def test_json_is_read_too() -> None:
    text = json.dumps(_base())
    assert load_document(text) == load_document((DATA / "reference-example.yaml").read_text())


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    """Set (or with value ... delete) a key by a dotted path with [i] indexes."""
    parts: list[str | int] = []
    for piece in path.split("."):
        name, _, rest = piece.partition("[")
        if name:
            parts.append(name)
        while rest:
            index, _, rest = rest.partition("]")
            parts.append(int(index))
            rest = rest.lstrip("[")
    target: Any = doc
    for part in parts[:-1]:
        target = target[part]
    if value is ...:
        del target[parts[-1]]
    else:
        target[parts[-1]] = value


E0 = "data[0].attributes.entries[0]"
LARKY = [
    {
        "name": "github.com/verygoodsecurity/common/compute/larky/http/Process",
        "parameters": {"script": "def process(input, ctx):\n    return input\n"},
    }
]
REFUSED = [
    # (change, value, where the error names, unsupported feature?)
    (f"{E0}.operations", LARKY, f"{E0}.operations", True),
    (f"{E0}.transformer", "XPATH", f"{E0}.transformer", True),
    (f"{E0}.transformer", "NOPE", f"{E0}.transformer", False),
    (f"{E0}.transformer", ..., f"{E0}.transformer", False),
    (
        f"{E0}.config.rules[1].expression.field",
        "Header",
        f"{E0}.config.rules[1].expression.field",
        True,
    ),
    (
        f"{E0}.config.rules[1].expression.operator",
        "contains",
        f"{E0}.config.rules[1].expression.operator",
        True,
    ),
    (
        f"{E0}.config.rules[0].expression.values",
        [],
        f"{E0}.config.rules[0].expression.values",
        False,
    ),
    (
        f"{E0}.config.rules[0].expression.values",
        ["("],
        f"{E0}.config.rules[0].expression.values[0]",
        False,
    ),
    (f"{E0}.config.condition", "XOR", f"{E0}.config.condition", True),
    (f"{E0}.config.rules[0].condition", "AND", f"{E0}.config.rules[0]", False),
    (f"{E0}.config.rules[0].expression", ..., f"{E0}.config.rules[0].condition", False),
    (f"{E0}.phase", "BOTH", f"{E0}.phase", False),
    (f"{E0}.operation", "REVEAL", f"{E0}.operation", False),
    (f"{E0}.token_manager", "DISK", f"{E0}.token_manager", False),
    (f"{E0}.public_token_generator", "NOPE", f"{E0}.public_token_generator", False),
    (f"{E0}.public_token_generator", "CUSTOM", f"{E0}.public_token_generator", True),
    (f"{E0}.transformer_config", [], f"{E0}.transformer_config", False),
    (f"{E0}.transformer_config", ["account_number"], f"{E0}.transformer_config[0]", False),
    (f"{E0}.transformer_config", ["$.a[?(@.b)]"], f"{E0}.transformer_config[0]", True),
    (f"{E0}.transformer_config_map", {"patterns": ["x"]}, f"{E0}.transformer_config_map", True),
    (f"{E0}.targets", ["query"], f"{E0}.targets[0]", True),
    (f"{E0}.targets", ["body", "headers"], f"{E0}.targets", True),  # JSON_PATH on headers
    (f"{E0}.id_selector", "x", f"{E0}.id_selector", True),
    (f"{E0}.id", "not-a-uuid", f"{E0}.id", False),
    (f"{E0}.classifiers", {"TAGS": ["bad tag"]}, f"{E0}.classifiers.TAGS[0]", False),
    (f"{E0}.classifiers", {"colour": ["x"]}, f"{E0}.classifiers.colour", False),
    (f"{E0}.surprise", 1, f"{E0}.surprise", False),
    (
        "data[0].attributes.destination_override_endpoint",
        "ftp://x",
        "data[0].attributes.destination_override_endpoint",
        False,
    ),
    (
        "data[0].attributes.destination_override_endpoint",
        "https://u:p@x",
        "data[0].attributes.destination_override_endpoint",
        False,
    ),
    (
        "data[0].attributes.destination_override_endpoint",
        ...,
        "data[0].attributes.destination_override_endpoint",
        False,
    ),
    ("data[0].attributes.host_endpoint", "(", "data[0].attributes.host_endpoint", False),
    ("data[0].attributes.source_endpoint", "everyone", "data[0].attributes.source_endpoint", False),
    ("data[0].attributes.port", 70000, "data[0].attributes.port", False),
    ("data[0].attributes.port", "80", "data[0].attributes.port", False),
    ("data[0].attributes.protocol", "sftp", "data[0].attributes.protocol", True),
    ("data[0].attributes.transport", "TCP", "data[0].attributes.transport", True),
    ("data[0].attributes.entries", ..., "data[0].attributes.entries", False),
    (
        "data[0].attributes.id",
        "5b0e3c1a-7d44-4f0e-9a51-2f6a8c3d9e10",
        "data[0].attributes.id",
        False,
    ),
    ("data[0].attributes.tags", ["x"], "data[0].attributes.tags", False),
    ("data[0].attributes.created_at", "yesterday", "data[0].attributes.created_at", False),
    ("data[0].attributes.extra", True, "data[0].attributes.extra", False),
    ("data[0].type", "route", "data[0].type", False),
    ("data[0].attributes", ..., "data[0].attributes", False),
    ("version", 2, "version", False),
    ("data", {}, "data", False),
]


@pytest.mark.parametrize(("change", "value", "where", "unsupported"), REFUSED)
def test_a_refusal_names_its_place(change: str, value: Any, where: str, unsupported: bool) -> None:
    doc = _base()
    _set(doc, change, value)
    with pytest.raises(RouteError) as caught:
        parse_document(doc)
    assert caught.value.where == where, str(caught.value)
    assert str(caught.value).startswith(f"{where}: ")
    assert isinstance(caught.value, UnsupportedRouteFeature) is unsupported, str(caught.value)
    assert caught.value.code == ("UNSUPPORTED_ROUTE_FEATURE" if unsupported else "INVALID_ROUTE")


def test_a_refusal_in_a_later_entry_names_that_entry() -> None:
    doc = _base()
    entries = doc["data"][0]["attributes"]["entries"]
    for _ in range(2):
        extra = copy.deepcopy(entries[0])
        del extra["id"]
        entries.append(extra)
    entries[2]["transformer"] = "PDF"
    with pytest.raises(UnsupportedRouteFeature) as caught:
        parse_document(doc)
    assert caught.value.where == "data[0].attributes.entries[2].transformer"
    assert "PDF" in str(caught.value)


def test_duplicate_ids_are_refused() -> None:
    doc = _base()
    doc["data"].append(copy.deepcopy(doc["data"][0]))
    with pytest.raises(RouteError, match=r"^data\[1\]\.id: the same id as data\[0\]"):
        parse_document(doc)
    doc = _base()
    entries = doc["data"][0]["attributes"]["entries"]
    entries.append(copy.deepcopy(entries[0]))
    with pytest.raises(RouteError) as caught:
        parse_document(doc)
    assert caught.value.where == "data[0].attributes.entries[1].id"


def test_an_outbound_route_needs_a_host_pattern() -> None:
    doc = _base()
    doc["data"][0]["attributes"]["destination_override_endpoint"] = "*"
    doc["data"][0]["attributes"]["host_endpoint"] = "*"
    with pytest.raises(RouteError) as caught:
        parse_document(doc)
    assert caught.value.where == "data[0].attributes.host_endpoint"


def test_unreadable_text_is_refused_at_the_document() -> None:
    for text in ("data: [", '{"data": ', "- just\n- a list\n", ""):
        with pytest.raises(RouteError) as caught:
            load_document(text)
        assert caught.value.where in ("document", "data"), str(caught.value)


def test_defaults_and_normalisation() -> None:
    route = parse_route(
        {
            "type": "rule_chain",
            "id": ROUTE_ID.upper(),
            "attributes": {
                "protocol": "HTTP",
                "destination_override_endpoint": "*",
                "host_endpoint": r"api\.example\.com",
                "entries": [
                    {
                        "phase": "REQUEST",
                        "operation": "ENRICH",
                        "transformer": "JSON_PATH",
                        "transformer_config": "$.card.number",
                        "config": {
                            "expression": {
                                "field": "PathInfo",
                                "operator": "begins_with",
                                "values": "/v1",
                            }
                        },
                        "classifiers": {"tags": ["pan"], "INCLUDE": ["PII"]},
                    }
                ],
            },
        }
    )
    assert route.id == ROUTE_ID  # lower case, canonical
    assert route.protocol == "http"
    assert route.outbound
    (entry,) = route.entries
    assert (entry.token_manager, entry.public_token_generator, entry.targets) == (
        "PERSISTENT",
        "UUID",
        ("body",),
    )
    assert entry.condition == Expression("PathInfo", "begins_with", ("/v1",))
    assert entry.classifiers.tags == ("pan",)
    assert entry.classifiers.include == ("PII",)
    wire = entry.to_wire()
    assert wire["classifiers"] == {"TAGS": ["pan"], "INCLUDE": ["PII"]}
    assert wire["operations"] is None  # VGS's SDK reads this key on every entry
    assert wire["config"] == {
        "condition": None,
        "rules": None,
        "expression": {
            "field": "PathInfo",
            "type": "string",
            "operator": "begins_with",
            "values": ["/v1"],
        },
    }


def test_regex_and_form_field_transformers() -> None:
    doc = _base()
    entry = doc["data"][0]["attributes"]["entries"][0]
    entry.update(
        transformer="REGEX",
        transformer_config=[r"card=(\d{12,19})"],
        transformer_config_map={"patterns": [r"\b\d{3}\b"], "charset": "UTF-8"},
        targets=["body", "headers"],
    )
    (route,) = parse_document(doc).routes
    transformer = route.entries[0].transformer
    assert isinstance(transformer, RegexTransformer)
    assert transformer.patterns == (r"card=(\d{12,19})",)
    assert transformer.map_patterns == (r"\b\d{3}\b",)
    assert len(transformer.compiled) == 2
    assert route.entries[0].to_wire()["transformer_config_map"] == {
        "patterns": [r"\b\d{3}\b"],
        "charset": "UTF-8",
    }
    entry.update(
        transformer="FORM_FIELD",
        transformer_config=["card_number", "X-Card"],
        transformer_config_map=None,
    )
    (route,) = parse_document(doc).routes
    assert route.entries[0].transformer == FormFieldTransformer(("card_number", "X-Card"))
    entry.update(transformer="REGEX", transformer_config=[], transformer_config_map=None)
    with pytest.raises(RouteError, match="at least one pattern"):
        parse_document(doc)


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("$.card.number", (Key("card"), Key("number"))),
        ("$['card']['number']", (Key("card"), Key("number"))),
        ('$["a.b"]', (Key("a.b"),)),
        ("$['it\\'s']", (Key("it's"),)),
        ("$.cards[*].number", (Key("cards"), Every(), Key("number"))),
        ("$.cards[-1].cvc", (Key("cards"), Index(-1), Key("cvc"))),
        ("$.*.pan", (Every(), Key("pan"))),
        ("$..cvc", (Descendant("cvc"),)),
        ("$.data[0]", (Key("data"), Index(0))),
    ],
)
def test_json_paths_of_the_supported_subset(text: str, segments: tuple[object, ...]) -> None:
    assert parse_json_path(text, "p").segments == segments


@pytest.mark.parametrize(
    ("text", "unsupported"),
    [
        ("card.number", False),
        ("$", False),
        ("$.", False),
        ("$[", False),
        ("$['x'", False),
        ("$[x]", False),
        ("$ .x", False),
        ("$.a[1:3]", True),
        ("$.a[0,1]", True),
        ("$.a[?(@.x)]", True),
        ("$..", True),
    ],
)
def test_json_paths_outside_the_subset_are_refused(text: str, unsupported: bool) -> None:
    with pytest.raises(RouteError) as caught:
        parse_json_path(text, "here")
    assert caught.value.where == "here"
    assert isinstance(caught.value, UnsupportedRouteFeature) is unsupported


def test_dump_reads_back_and_keeps_what_vgs_prints() -> None:
    document = load_document((DATA / "vgs-exported.yaml").read_text())
    text = dump_yaml(document)
    assert load_document(text) == document
    again = yaml.safe_load(text)
    first = again["data"][0]
    assert first["id"] == first["attributes"]["id"]
    assert first["attributes"]["created_at"] == "2021-05-02T11:30:00"
    assert set(first["attributes"]["entries"][0]) >= {
        "id", "phase", "operation", "token_manager", "public_token_generator", "transformer",
        "transformer_config", "transformer_config_map", "targets", "classifiers",
        "id_selector", "operations", "config",
    }  # fmt: skip


def test_yaml_keeps_unicode_line_breaks_and_other_text() -> None:
    """PyYAML writes U+0085 / U+2028 / U+2029 raw, and reads them back as spaces, unless
    they are double-quoted (found by the round-trip property test)."""
    doc = _base()
    doc["data"][0]["attributes"]["tags"] = {
        "nel": "a\x85b",
        "ls": "\u2028",
        "ps": "x\u2029",
        "name": "café ☕",
        "bool-like": "yes",
        "number-like": "0012",
        "spaces": " padded ",
    }
    document = parse_document(doc)
    text = dump_yaml(document)
    assert "café ☕" in text  # readable, not escaped
    assert load_document(text) == document


def test_vgs_sdks_larky_function_route_is_refused_at_its_operations() -> None:
    """vgs-api-client's Functions store Larky code as a route; this vault runs no Larky."""
    from string import Template

    from vgs.functions_api import ROUTE_TEMPLATE

    ids = {k: str(uuid.uuid4()) for k in ("function_filter", "execution_flag_filter", "route_id")}
    text = Template(ROUTE_TEMPLATE).safe_substitute(
        name="echo", definition="def process(input, ctx): return input", **ids
    )
    with pytest.raises(UnsupportedRouteFeature) as caught:
        load_document(text)
    assert caught.value.where == "data[0].attributes.entries[0].operations"
    assert "Larky" in str(caught.value)
