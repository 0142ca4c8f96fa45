"""Shared fixtures: real PostgreSQL and Redis, skipped (or failed under
VAULTSWITCH_REQUIRE_SERVICES=1) when the server is not there; and the run-wide check that
no test card number is in any orchestrator log or database file (:mod:`card_leaks`)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

import card_leaks

PG_ADMIN_URL = os.environ.get(
    "VAULTSWITCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("VAULTSWITCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _require_services() -> bool:
    return os.environ.get("VAULTSWITCH_REQUIRE_SERVICES") == "1"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def service_missing(name: str, host: str, port: int) -> None:
    """Skip the test (or fail it when services are required) if host:port is closed."""
    if _reachable(host, port):
        return
    reason = f"{name} is not reachable at {host}:{port}"
    if _require_services():
        pytest.fail(f"{reason} and VAULTSWITCH_REQUIRE_SERVICES=1 requires it")
    pytest.skip(f"{reason}; start it or set VAULTSWITCH_TEST_* to run these tests")


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """URL of the PostgreSQL admin database (`test`)."""
    service_missing("PostgreSQL", "127.0.0.1", 5432)
    return PG_ADMIN_URL


@contextmanager
def fresh_postgres_database(server_url: str, owner: str) -> Iterator[str]:
    """A new, empty PostgreSQL database; an orchestrator's is scanned for card numbers
    (findings named after ``owner``) before it is dropped."""
    import sqlalchemy as sa

    name = f"vs_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base, _, _ = server_url.rpartition("/")
    url = f"{base}/{name}"
    try:
        yield url
    finally:
        try:
            card_leaks.record(card_leaks.scan_postgres(url, f"{owner}: postgresql {name}"))
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


@pytest.fixture
def postgres_url(postgres_server_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    with fresh_postgres_database(postgres_server_url, request.node.nodeid) as url:
        yield url


@pytest.fixture(scope="module")
def postgres_module_url(postgres_server_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh PostgreSQL database shared by the tests of one module, dropped afterwards."""
    with fresh_postgres_database(postgres_server_url, request.node.nodeid) as url:
        yield url


@pytest.fixture(scope="session")
def redis_server_url() -> str:
    service_missing("Redis", "127.0.0.1", 6379)
    return REDIS_URL


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    """The Redis URL; tests must use `redis_prefix` for every key they write."""
    return redis_server_url


@pytest.fixture
def redis_prefix() -> str:
    return f"vstest:{uuid.uuid4().hex[:10]}:"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """Runs a test once on a SQLite file and once on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/vault.db"
    return str(request.getfixturevalue("postgres_url"))


# --- no test card number in any orchestrator log or database file ---------------------------


@pytest.fixture(scope="session", autouse=True)
def _card_leak_check(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Starts the run-wide scan: server logs go under the base temp dir from now on."""
    card_leaks.begin(tmp_path_factory.getbasetemp())


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Fails the run when a test card number is in an orchestrator log or database."""
    card_leaks.finish(session)
