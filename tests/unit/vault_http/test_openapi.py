"""The OpenAPI document is valid OpenAPI 3 and says what the code enforces."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

from vaultswitch.vault.core.formats import SUPPORTED_FORMATS, is_alias_shaped, value_fits
from vaultswitch.vault.core.models import SCOPES, STORAGES
from vaultswitch.vault.http.oauth import CERTS_PATH, TOKEN_PATH
from vaultswitch.vault.http.openapi import OPENAPI_PATH, openapi_document
from vaultswitch.vault.http.wire import CLASSIFIER_RE, MAX_ALIAS_LENGTH, MAX_CLASSIFIERS
from vaultswitch.vault.settings import VaultSettings

DOC = openapi_document(VaultSettings())
SCHEMAS: dict[str, Any] = DOC["components"]["schemas"]
NEW_VALUES = [ref["$ref"].rsplit("/", 1)[1] for ref in SCHEMAS["CreateAliasesRequestNew"]["oneOf"]]
SAMPLES = settings(
    max_examples=150, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip


def ecma(pattern: str) -> re.Pattern[str]:
    """A JSON Schema pattern as ECMA-262 reads it: `$` is the very end (Python's `$` also
    matches before a final newline)."""
    return re.compile(pattern.replace("$", r"\Z"))


def test_the_document_is_valid_openapi_3() -> None:
    validate(DOC)
    assert DOC["openapi"].startswith("3.")


def test_every_route_of_the_vault_is_described() -> None:
    assert set(DOC["paths"]) == {
        TOKEN_PATH, CERTS_PATH, "/aliases", "/aliases/delete", "/aliases/{alias}",
        "/health", "/ready", OPENAPI_PATH,
    }  # fmt: skip
    assert set(DOC["paths"]["/aliases"]) == {"get", "post"}
    assert set(DOC["paths"]["/aliases/{alias}"]) == {"parameters", "get", "put", "delete"}


def test_security_schemes_and_tenant_servers() -> None:
    schemes = DOC["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert schemes["basicAuth"]["scheme"] == "basic"
    assert DOC["security"] == [{"bearerAuth": []}, {"basicAuth": []}]
    assert [s["url"] for s in DOC["servers"]] == ["/", "/{vault_id}"]
    vault_id = DOC["servers"][1]["variables"]["vault_id"]["default"]
    assert re.fullmatch(r"tnt[a-z0-9]{8}", vault_id)
    for scope in [s for s in SCOPES if s.startswith("aliases:")]:  # the Vault API's scopes
        assert scope in schemes["bearerAuth"]["description"]
        assert scope in SCHEMAS["TokenRequest"]["properties"]["scope"]["description"]


def test_formats_are_the_supported_ones_each_with_one_value_rule() -> None:
    assert set(SCHEMAS["AliasFormat"]["enum"]) == SUPPORTED_FORMATS
    described = [f for name in NEW_VALUES for f in SCHEMAS[name]["properties"]["format"]["enum"]]
    assert sorted(described) == sorted(SUPPORTED_FORMATS)  # each exactly once


def _rules() -> list[tuple[str, str | None]]:
    """(format, value pattern or None for any non-empty text) for every format."""
    rules = []
    for name in NEW_VALUES:
        props = SCHEMAS[name]["properties"]
        for fmt in props["format"]["enum"]:
            rules.append((fmt, props["value"].get("pattern")))
    return rules


@pytest.mark.parametrize(("fmt", "pattern"), _rules())
def test_value_patterns_accept_what_the_server_accepts(fmt: str, pattern: str | None) -> None:
    if pattern is None:
        assert SCHEMAS["NewAnyValue"]["properties"]["value"]["minLength"] == 1
        assert value_fits(fmt, "x")
        assert not value_fits(fmt, "")
        return
    rule = ecma(pattern)

    @SAMPLES
    @given(st.one_of(st.from_regex(rule, fullmatch=True), st.text(max_size=30),
                     st.text("0123456789-abcXYZ_ \n", max_size=25)))  # fmt: skip
    def same_verdict(value: str) -> None:
        assert value_fits(fmt, value) == (rule.search(value) is not None), value

    same_verdict()


def test_limits_are_the_enforced_ones() -> None:
    classifiers = SCHEMAS["Classifiers"]
    assert classifiers["maxItems"] == MAX_CLASSIFIERS
    assert classifiers["items"]["pattern"] == CLASSIFIER_RE.pattern
    assert SCHEMAS["Alias"]["maxLength"] == MAX_ALIAS_LENGTH
    assert set(SCHEMAS["Storage"]["enum"]) == set(STORAGES)
    for name in ("CreateAliasesRequest", "BatchAliasesRequest"):
        assert SCHEMAS[name]["properties"]["data"]["maxItems"] == VaultSettings().max_items


@SAMPLES
@given(st.one_of(st.from_regex(r"[A-Za-z0-9_-]{1,140}", fullmatch=True), st.text(max_size=20)))
def test_the_alias_schema_is_what_the_server_takes_for_an_alias(alias: str) -> None:
    schema = SCHEMAS["Alias"]
    described = (
        ecma(schema["pattern"]).search(alias) is not None
        and schema["minLength"] <= len(alias) <= schema["maxLength"]
    )
    assert described == (is_alias_shaped(alias) and len(alias) <= MAX_ALIAS_LENGTH)


def test_the_configured_item_limit_is_served() -> None:
    doc = openapi_document(VaultSettings(max_items=7))
    for name in ("CreateAliasesRequest", "BatchAliasesRequest"):
        assert doc["components"]["schemas"][name]["properties"]["data"]["maxItems"] == 7
    assert (
        DOC["components"]["schemas"]["CreateAliasesRequest"]["properties"]["data"]["maxItems"]
        == VaultSettings().max_items
    )  # a copy each time: the default document is unchanged
