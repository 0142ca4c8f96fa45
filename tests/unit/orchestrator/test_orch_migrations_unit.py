"""The migrations build exactly the schema in schema.py."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from vaultswitch.orchestrator.db import Database
from vaultswitch.orchestrator.schema import metadata


def test_migrations_match_the_schema(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'o.db'}")
    try:
        db.migrate()
        db.migrate()  # idempotent
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        db.close()
    assert [d for d in diff if "vaultswitch_orchestrator_alembic" not in str(d)] == []
