"""GET /openapi.json: the document a live vault serves describes that vault.

It is valid OpenAPI 3, lists exactly the routes and methods the server routes, and
schemathesis, generating requests from it against the live server (v2 with a Bearer token
and the vault in the path, v1 with Basic credentials), finds no server error and no answer
that the document does not describe (status, content type, headers, body schema), and every
request the document calls invalid is refused.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from openapi_spec_validator import validate
from schemathesis import checks
from schemathesis.core.errors import InvalidSchema
from schemathesis.generation import GenerationMode
from vhttp_support import Vault, make_settings, start_vault

from vaultswitch.vault.core.service import VaultService
from vaultswitch.vault.http.app import create_app
from vaultswitch.vault.http.methods import Methods
from vaultswitch.vault.http.openapi import openapi_document

EXAMPLES = 8  # per operation, generation mode and API version
CLI_EXAMPLES = 8  # per operation and phase, for the schemathesis command
# Routes of the vault server that are not the VGS Vault API this document describes: the
# admin API for the control center (vault/http/admin_api.py) and the route management API
# for the proxies (VGS's vault-management shape).
NOT_DESCRIBED = ("/admin/", "/rule-chains")
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
RUN = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vault]:
    cfg = make_settings(tmp_path_factory.mktemp("openapi"), rate_limit_per_minute=10**6)
    service = VaultService.open(cfg)
    server, v = start_vault(cfg, service)
    try:
        yield v
    finally:
        server.stop()
        service.close()


def test_the_served_document_is_the_vaults(vault: Vault) -> None:
    for url in (f"{vault.url}/openapi.json", f"{vault.url}/{vault.vault_id}/openapi.json"):
        r = httpx.get(url)
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        assert r.json() == openapi_document(vault.settings)
    validate(r.json())
    assert httpx.head(f"{vault.url}/openapi.json").status_code == 200


def test_a_server_serves_its_own_limits(tmp_path: Any) -> None:
    cfg = make_settings(tmp_path, max_items=5)
    service = VaultService.open(cfg)
    app = create_app(cfg, service)
    try:
        transport = httpx.ASGITransport(app=app)

        async def fetch() -> dict[str, Any]:
            async with httpx.AsyncClient(transport=transport, base_url="http://v") as c:
                return (await c.get("/openapi.json")).json()  # type: ignore[no-any-return]

        doc = anyio.run(fetch)
    finally:
        service.close()
    assert (
        doc["components"]["schemas"]["CreateAliasesRequest"]["properties"]["data"]["maxItems"] == 5
    )


def test_documented_routes_and_methods_are_the_routed_ones(vault: Vault) -> None:
    """Every route of the Vault API and the token endpoint, with its methods, no more."""
    app = create_app(vault.settings, vault.service)
    router = app.app  # type: ignore[attr-defined]  # VaultMiddleware -> DirectRouter
    routed = {}
    for route in router.routes:
        if route.path.startswith(NOT_DESCRIBED):
            continue
        assert isinstance(route.app, Methods), route.path
        allow = {m.strip().lower() for m in route.app.allow.split(",")}
        routed[route.path] = allow - {"head", "options"}
    doc = openapi_document(vault.settings)
    documented = {
        path: {m for m in item if m in {"get", "post", "put", "delete", "patch"}}
        for path, item in doc["paths"].items()
    }
    assert documented == routed


def _operations(schema: Any) -> Iterator[Any]:
    for result in schema.get_all_operations():
        operation = result.ok()
        assert not isinstance(operation, InvalidSchema)
        yield operation


def _generate(
    strategy: Any,
    label: str,
    run: list[Any],
    base_url: str,
    headers: dict[str, str],
    statuses: Counter[tuple[str, int]],
) -> None:
    """Call the server with cases drawn from strategy and check each answer."""

    @RUN
    @given(case=strategy)
    def call(case: Any) -> None:
        response = case.call_and_validate(base_url=base_url, headers=headers, checks=run)
        statuses[(label, response.status_code)] += 1

    call()


def _run(
    vault: Vault, headers: dict[str, str], base_url: str, statuses: Counter[tuple[str, int]]
) -> None:
    schema = schemathesis.openapi.from_url(f"{vault.url}/openapi.json")
    # seeded aliases, so that reveals, updates and deletes also reach their 2xx answers
    with vault.v2() as c:
        r = c.post("/aliases", json={"data": [
            {"value": "4111111111111111", "format": "FPE_SIX_T_FOUR", "classifiers": ["pan"]},
            {"value": "seed", "format": "UUID"},
        ]})  # fmt: skip
    assert r.status_code == 201, r.text
    seeded = [rec["aliases"][0]["alias"] for rec in r.json()["data"]]
    for operation in _operations(schema):
        fixed: dict[str, Any] = {}
        if "{alias}" in operation.path:
            fixed["path_parameters"] = {"alias": seeded[0]}
        elif operation.label == "GET /aliases":
            fixed["query"] = {"aliases": ",".join(seeded)}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            run = CHECKS + (
                [checks.negative_data_rejection] if mode is GenerationMode.NEGATIVE else []
            )
            strategies = [operation.as_strategy(generation_mode=mode)]
            if fixed and mode is GenerationMode.POSITIVE:
                strategies.append(operation.as_strategy(generation_mode=mode, **fixed))
            for strategy in strategies:
                try:
                    _generate(strategy, operation.label, run, base_url, headers, statuses)
                except Unsatisfiable:  # an operation without inputs has no negative case
                    if mode is GenerationMode.POSITIVE:
                        raise


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_schemathesis_finds_nothing_the_document_does_not_describe(vault: Vault, api: str) -> None:
    if api == "v2":
        headers = {"Authorization": f"Bearer {vault.token()}"}
        base_url = f"{vault.url}/{vault.vault_id}"
    else:
        basic = base64.b64encode(f"{vault.username}:{vault.password}".encode()).decode()
        headers = {"Authorization": f"Basic {basic}"}
        base_url = vault.url
    statuses: Counter[tuple[str, int]] = Counter()
    _run(vault, headers, base_url, statuses)
    # the run reached the answers that carry data, not only refusals
    reached = {(label, status) for label, status in statuses}
    for expected in [
        ("POST /aliases", 201),
        ("GET /aliases", 200),
        ("GET /aliases/{alias}", 200),
        ("PUT /aliases/{alias}", 204),
        ("GET /health", 200),
        ("GET /auth/realms/vgs/protocol/openid-connect/certs", 200),
    ]:
        assert expected in reached, (expected, sorted(statuses.items()))


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_the_schemathesis_command_passes_every_phase(
    vault: Vault, api: str, tmp_path: Path
) -> None:
    """`schemathesis run` as docs/vault-api.md shows it: examples, coverage (boundary values,
    nulls, missing fields), fuzzing and stateful phases, every check but one - a rule JSON
    Schema cannot state (an alias referenced twice in one create is refused) would fail
    positive_data_acceptance."""
    if api == "v2":
        target = ["--url", f"{vault.url}/{vault.vault_id}",
                  "-H", f"Authorization: Bearer {vault.token()}"]  # fmt: skip
    else:  # Basic on every request: the token endpoint would see it as client credentials
        target = ["--url", vault.url, "-a", f"{vault.username}:{vault.password}",
                  "--exclude-operation-id", "issueAccessToken"]  # fmt: skip
    command = Path(sys.executable).with_name("schemathesis")
    result = subprocess.run(
        [str(command), "run", f"{vault.url}/openapi.json", *target,
         "--max-examples", str(CLI_EXAMPLES), "--generation-deterministic",
         "--exclude-checks", "positive_data_acceptance", "--no-color"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
