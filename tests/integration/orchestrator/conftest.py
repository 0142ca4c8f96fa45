"""Fixtures: a live orchestrator on loopback (SQLite, or PostgreSQL too), our live vault."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from orch_support import (
    LiveVault,
    Orchestrator,
    orchestrator_settings,
    serve_orchestrator,
    serve_vault,
)

# the shared end-to-end scenarios assert as test code does (with the values on failure)
pytest.register_assert_rewrite("e2e_scenarios")


@pytest.fixture
def orchestrator(tmp_path: Path) -> Iterator[Orchestrator]:
    """The orchestrator on a SQLite file in tmp_path/orchestrator."""
    with serve_orchestrator(orchestrator_settings(tmp_path / "orchestrator")) as live:
        yield live


@pytest.fixture(params=["sqlite", "postgres"])
def any_orchestrator(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Orchestrator]:
    """The orchestrator once on SQLite and once on a fresh PostgreSQL database."""
    overrides = {}
    if request.param == "postgres":
        overrides["database_url"] = request.getfixturevalue("postgres_url")
    settings = orchestrator_settings(tmp_path / "orchestrator", **overrides)
    with serve_orchestrator(settings) as live:
        yield live


@pytest.fixture
def live_vault(tmp_path: Path) -> Iterator[LiveVault]:
    """Our vault on loopback: one vault, a service account (client id + secret) for it."""
    with serve_vault(tmp_path / "vault") as vault:
        yield vault
