"""Which routes and entries apply to a request: host patterns, direction, clients, order,
phase and conditions (PathInfo, ContentType, QueryString; equals, matches, begins_with,
ends_with; AND / OR)."""

from __future__ import annotations

from typing import Any

import pytest

from vaultswitch.proxy.routes import (
    RequestFacts,
    Route,
    applicable_entries,
    client_allowed,
    entries_for,
    first_route,
    holds,
    host_matches,
    host_name,
    matching_routes,
    parse_route,
)
from vaultswitch.proxy.routes.conditions import parse_config


def expr(field: str, operator: str, *values: str) -> dict[str, Any]:
    return {
        "expression": {
            "field": field,
            "type": "string",
            "operator": operator,
            "values": list(values),
        }
    }


def group(condition: str, *rules: dict[str, Any]) -> dict[str, Any]:
    return {"condition": condition, "rules": list(rules), "expression": None}


def entry(
    phase: str = "REQUEST", config: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "phase": phase,
        "operation": "REDACT",
        "transformer": "JSON_PATH",
        "transformer_config": ["$.card"],
        "config": config,
        **extra,
    }


def route(
    host: str | None = r"(.*)\.example\.com",
    destination: str = "https://upstream.test",
    entries: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> Route:
    attributes = {
        "destination_override_endpoint": destination,
        "host_endpoint": host,
        "entries": entries if entries is not None else [entry()],
        **extra,
    }
    return parse_route({"type": "rule_chain", "attributes": attributes})


@pytest.mark.parametrize(
    ("config", "facts", "expected"),
    [
        (expr("PathInfo", "equals", "/post"), RequestFacts("/post"), True),
        (expr("PathInfo", "equals", "/post"), RequestFacts("/post/1"), False),
        (expr("PathInfo", "equals", "/a", "/post"), RequestFacts("/post"), True),  # any value
        (expr("PathInfo", "matches", "/post"), RequestFacts("/post"), True),
        (expr("PathInfo", "matches", "/post"), RequestFacts("/posts"), False),  # whole path
        (expr("PathInfo", "matches", r"/v\d+/cards/.*"), RequestFacts("/v2/cards/7"), True),
        (expr("PathInfo", "begins_with", "/v1/"), RequestFacts("/v1/pay"), True),
        (expr("PathInfo", "begins_with", "/v1/"), RequestFacts("/v2/pay"), False),
        (expr("PathInfo", "ends_with", ".json"), RequestFacts("/a/b.json"), True),
        (expr("QueryString", "equals", "a=1&b=2"), RequestFacts("/", "a=1&b=2"), True),
        (expr("QueryString", "begins_with", "mode=live"), RequestFacts("/", "mode=test"), False),
        (
            expr("QueryString", "matches", r".*function_name=x.*"),
            RequestFacts("/", "y=1&function_name=x"),
            True,
        ),
        # ContentType: a value without parameters compares with the media type
        (
            expr("ContentType", "equals", "application/json"),
            RequestFacts("/", "", "application/json; charset=utf-8"),
            True,
        ),
        (
            expr("ContentType", "equals", "application/json"),
            RequestFacts("/", "", "Application/JSON"),
            True,
        ),
        (
            expr("ContentType", "equals", "application/json;charset=UTF-8"),
            RequestFacts("/", "", "application/json; charset=utf-8"),
            True,
        ),
        (
            expr("ContentType", "equals", "application/json;charset=UTF-8"),
            RequestFacts("/", "", "application/json"),
            False,
        ),
        (expr("ContentType", "equals", "application/json"), RequestFacts("/", "", None), False),
        (
            expr("ContentType", "begins_with", "application/"),
            RequestFacts("/", "", "application/xml"),
            True,
        ),
        (
            expr("ContentType", "ends_with", "+json"),
            RequestFacts("/", "", "application/vnd.api+json"),
            True,
        ),
        (
            expr("ContentType", "matches", "application/(x-www-form-urlencoded|json)"),
            RequestFacts("/", "", "application/json; charset=utf-8"),
            True,
        ),
        (
            group(
                "AND",
                expr("PathInfo", "equals", "/p"),
                expr("ContentType", "equals", "application/json"),
            ),
            RequestFacts("/p", "", "application/json"),
            True,
        ),
        (
            group(
                "AND",
                expr("PathInfo", "equals", "/p"),
                expr("ContentType", "equals", "application/json"),
            ),
            RequestFacts("/p", "", "text/plain"),
            False,
        ),
        (
            group(
                "OR",
                expr("PathInfo", "equals", "/p"),
                expr("ContentType", "equals", "application/json"),
            ),
            RequestFacts("/x", "", "application/json"),
            True,
        ),
        (
            group("OR", expr("PathInfo", "equals", "/p"), expr("PathInfo", "equals", "/q")),
            RequestFacts("/x"),
            False,
        ),
        (
            group(
                "AND",
                expr("PathInfo", "begins_with", "/v1"),
                group("OR", expr("QueryString", "equals", "a"), expr("QueryString", "equals", "b")),
            ),
            RequestFacts("/v1/x", "b"),
            True,
        ),
        (group("AND"), RequestFacts("/"), True),
        (group("OR"), RequestFacts("/"), False),
        (None, RequestFacts("/anything"), True),
    ],
)
def test_conditions(config: dict[str, Any] | None, facts: RequestFacts, expected: bool) -> None:
    assert holds(parse_config(config, "config"), facts) is expected


def test_hosts_are_matched_whole_and_without_port_or_case() -> None:
    inbound = route(r"tnt[a-z0-9]{8}\.sandbox\.verygoodproxy\.com")
    assert host_matches(inbound, "tntabc12345.sandbox.verygoodproxy.com")
    assert host_matches(inbound, "TNTABC12345.Sandbox.VeryGoodProxy.com:8443")
    assert not host_matches(inbound, "tntabc12345.sandbox.verygoodproxy.com.evil.test")
    assert not host_matches(inbound, "x.tntabc12345.sandbox.verygoodproxy.com")
    assert host_matches(route("*"), "anything.test")
    assert host_matches(route(None), "anything.test")
    assert host_name("[::1]:8080") == "::1"
    assert host_name("Example.COM.") == "example.com"


def test_direction_order_and_first_route() -> None:
    outbound = route(r"api\.stripe\.com", "*")
    late = route(r".*", entries=[])
    first = route(r".*", ordinal=1, entries=[])
    zeroth = route(r".*", ordinal=0, entries=[])
    listed = [outbound, late, first, zeroth]
    assert matching_routes(listed, "api.stripe.com", outbound=True) == [outbound]
    assert matching_routes(listed, "api.stripe.com", outbound=False) == [zeroth, first, late]
    assert first_route(listed, "x.test", outbound=False) is zeroth
    assert first_route(listed, "api.other.com", outbound=True) is None


def test_source_endpoint_limits_clients() -> None:
    limited = route(source_endpoint="10.0.0.0/8, 127.0.0.1")
    assert client_allowed(limited, "10.1.2.3")
    assert client_allowed(limited, "127.0.0.1")
    assert not client_allowed(limited, "192.168.0.1")
    assert not client_allowed(limited, None)
    assert not client_allowed(limited, "not-an-ip")
    assert client_allowed(route(), None)
    assert matching_routes([limited], "a.example.com", outbound=False, client="192.168.0.1") == []


def test_entries_by_phase_and_condition() -> None:
    r = route(
        entries=[
            entry("REQUEST", expr("PathInfo", "equals", "/pay")),
            entry("RESPONSE"),
            entry("REQUEST", expr("PathInfo", "equals", "/other")),
            entry("REQUEST"),
        ]
    )
    facts = RequestFacts("/pay")
    assert applicable_entries(r, "REQUEST", facts) == [r.entries[0], r.entries[3]]
    assert applicable_entries(r, "RESPONSE", facts) == [r.entries[1]]
    assert entries_for([r, r], "RESPONSE", facts) == [(r, r.entries[1]), (r, r.entries[1])]
