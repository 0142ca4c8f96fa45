"""Property: whatever body, query or id reaches the vault-migration routes, on SQLite and
PostgreSQL, the answer is a migration or a 4xx Hyperswitch error with a hint — never a 5xx,
never an echoed card number."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from orch_migrate_support import MigrationWorld, luhn_number, migration_world

PAN = "4111111111111111"
FIELDS = (
    "from_connector_id",
    "to_connector_id",
    "customer_id",
    "limit",
    "dry_run",
    "token_mode",
    "batch_size",
    "restart",
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(("keep", "single", "multi", "internal", PAN, "mca_x", "vmig_x", "", "a\x00")),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
bodies = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS), values, max_size=6), values, st.binary(max_size=30)
)
ids = st.one_of(
    st.text(min_size=1, max_size=40), st.sampled_from(("vmig_x", PAN, "%00", "..", "a\x00b"))
)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MigrationWorld]:
    url = request.getfixturevalue("postgres_module_url") if request.param == "postgres" else None
    with migration_world(Path(tmp_path_factory.mktemp("fuzz")), database_url=url) as built:
        built.save(luhn_number())
        yield built


def _check(response: Any) -> None:
    assert response.status_code < 500, response.text
    assert PAN not in response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"]
        assert error["hint"]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=bodies, accounts=st.booleans())
def test_any_start_body(world: MigrationWorld, body: Any, accounts: bool) -> None:
    if accounts and isinstance(body, dict):
        body = {"from_connector_id": world.account_a, "to_connector_id": world.account_b, **body}
    elif isinstance(body, dict) and accounts is False and "customer_id" not in body:
        body = {**body, "customer_id": "c\x00"}  # PostgreSQL refuses NUL characters
    sent: dict[str, Any] = {"content": body} if isinstance(body, bytes) else {"json": body}
    _check(world.http.post("/v2/vault-migrations", headers=world.headers, **sent))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    migration_id=ids,
    phase=st.sampled_from(("step", "verify", "delete-source", "items", "")),
    body=bodies,
    query=st.dictionaries(
        st.sampled_from(("offset", "limit", "status")), st.text(max_size=12), max_size=3
    ),
    real=st.booleans(),
)
def test_any_id_body_and_query(
    world: MigrationWorld,
    migration_id: str,
    phase: str,
    body: Any,
    query: dict[str, str],
    real: bool,
) -> None:
    if real:
        migration_id = world.start(dry_run=True)["id"]
    path = f"/v2/vault-migrations/{quote(migration_id, safe='')}" + (f"/{phase}" if phase else "")
    if phase in ("items", ""):
        response = world.http.get(path, params=query, headers=world.headers)
    else:
        sent: dict[str, Any] = {"content": body} if isinstance(body, bytes) else {"json": body}
        response = world.http.post(path, headers=world.headers, **sent)
    _check(response)
