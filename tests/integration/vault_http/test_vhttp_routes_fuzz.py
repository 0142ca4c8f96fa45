"""Property test of the management API (/rule-chains) on a live vault: valid routes with one
part changed (a value replaced by any JSON, a key dropped or added), arbitrary JSON and bytes,
odd media types, tenants and credentials, every method. For every answer: no 5xx; a 4xx in the
VGS error shape with its status; what the vault accepted always lists as a document vgs-cli's
route schema and our model both read; no submitted string in any log event."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import LogCapture
from vgscli.operations.routes import load_route_document
from vhttp_support import Vault, make_settings, start_vault

from vaultswitch.proxy.routes import parse_document
from vaultswitch.vault.core.service import VaultService

DATA = Path(__file__).resolve().parents[2] / "data" / "routes"
SENTINEL = "Zq9route"
FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vault]:
    settings_ = make_settings(tmp_path_factory.mktemp("routes-fuzz"), rate_limit_per_minute=10**6)
    service = VaultService.open(settings_)
    server, vault = start_vault(settings_, service)
    try:
        yield vault
    finally:
        server.stop()
        service.close()


def _valid() -> dict[str, Any]:
    return dict(yaml.safe_load((DATA / "vgs-exported.yaml").read_text())["data"][1])


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20).map(lambda t: SENTINEL + t),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def _places(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _places(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _places(value, (*path, i))


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    route = _valid()
    route["id"] = route["attributes"]["id"] = str(draw(st.uuids()))
    places = [p for p in _places(route) if p]
    path = draw(st.sampled_from(places))
    parent: Any = route
    for part in path[:-1]:
        parent = parent[part]
    how = draw(st.sampled_from(["replace", "drop", "add"]))
    if how == "replace":
        parent[path[-1]] = draw(JSON)
    elif how == "drop":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[SENTINEL + draw(st.text(max_size=5))] = draw(JSON)
    else:
        parent.append(draw(JSON))
    return route


BODIES = st.one_of(
    mutated().map(lambda r: {"data": r}),
    mutated(),
    JSON.map(lambda j: {"data": j}),
    JSON,
    st.just({"data": _valid()}),
)


GOOD = [("POST", "/rule-chains"), ("PUT", "/rule-chains/{id}"), ("GET", "/rule-chains")]
GOOD += [("GET", "/rule-chains/{id}"), ("DELETE", "/rule-chains/{id}")]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]
PATHS = ["/rule-chains", "/rule-chains/{id}", "/rule-chains/{junk}", "/{vault}/rule-chains"]


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str], bytes]:
    """Mostly well-framed requests (a method the path takes, our tenant and token, a JSON
    media type) with odd bodies; the rest odd in every part."""
    framed = draw(st.integers(0, 9)) < 7
    if framed:
        method, path = draw(st.sampled_from(GOOD))
    else:
        method, path = draw(st.sampled_from(METHODS)), draw(st.sampled_from(PATHS))
    body = draw(BODIES)
    text = json.dumps(body).encode()
    raw = draw(
        st.one_of(
            st.just(text),
            st.just(text),
            st.just(text[:-1]),
            st.binary(max_size=40).map(lambda b: SENTINEL.encode() + b),
        )
    )
    if isinstance(body, dict) and isinstance(body.get("data"), dict) and "/{id}" in path:
        route_id = body["data"].get("id")
        path = path.replace("{id}", route_id if isinstance(route_id, str) else str(uuid.uuid4()))
    path = path.replace("{id}", str(uuid.uuid4()))
    posted = isinstance(body, dict) and isinstance(body.get("data"), dict)
    if method == "POST" and posted and draw(st.booleans()):  # POST assigns ids: often none
        body = copy.deepcopy(body)
        body["data"].pop("id", None)
        if isinstance(body["data"].get("attributes"), dict):
            body["data"]["attributes"].pop("id", None)
        raw = json.dumps(body).encode()
    path = path.replace("{junk}", draw(st.text("abc-%.0123456789", min_size=1, max_size=40)))
    media = ["application/vnd.api+json", "application/json; charset=utf-8"]
    tenants = ["{vault}"]
    tokens = ["{token}"]
    if not framed:
        media += ["text/plain", ""]
        tenants += ["{other}", "tntzzzzzzzz", "bad", ""]
        tokens += ["Bearer " + SENTINEL, ""]
    headers = {
        "Content-Type": draw(st.sampled_from(media)),
        "VGS-Tenant": draw(st.sampled_from(tenants)),
        "Authorization": draw(st.sampled_from(tokens)),
    }
    return method, path, headers, raw


def test_the_management_api_never_fails_and_keeps_only_valid_routes(live: Vault) -> None:
    other = live.service.create_vault("other").vault_id
    token = live.token()
    client = httpx.Client(base_url=live.url)
    capture = LogCapture()
    structlog.configure(processors=[capture])
    statuses: dict[int, int] = {}

    @FUZZ
    @given(requests())
    def call(request: tuple[str, str, dict[str, str], bytes]) -> None:
        method, path, raw_headers, body = request
        fill = {"{vault}": live.vault_id, "{other}": other, "{token}": f"Bearer {token}"}
        headers = {}
        for name, value in raw_headers.items():
            for key, real in fill.items():
                value = value.replace(key, real)
            if value:
                headers[name] = value
        for key, real in fill.items():
            path = path.replace(key, real)
        response = client.request(method, path, headers=headers, content=body)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, response.text
        if response.status_code >= 400 and method != "HEAD":  # a HEAD answer has no body
            payload = response.json()
            assert payload["errors"][0]["status"] == response.status_code
            assert payload["errors"][0]["code"]
            assert payload["trace_id"]

    try:
        call()
    finally:
        structlog.reset_defaults()
        client.close()
    assert statuses.get(201, 0) + statuses.get(200, 0) > 10, statuses  # some got through
    assert statuses.get(400, 0) > 10, statuses
    # what was accepted is a valid document for vgs-cli's schema and for our model
    listed = httpx.get(
        live.url + "/rule-chains",
        headers={"Authorization": f"Bearer {token}", "VGS-Tenant": live.vault_id},
    ).json()["data"]
    document = {"version": 1, "data": copy.deepcopy(listed)}
    load_route_document(yaml.safe_dump(document))
    assert len(parse_document(document).routes) == len(listed) >= 2
    logged = json.dumps([str(entry) for entry in capture.entries])
    assert SENTINEL not in logged
