"""Alembic environment for the orchestrator schema; run programmatically by db.migrate()."""

from __future__ import annotations

from alembic import context

from vaultswitch.orchestrator.db import VERSION_TABLE

_connection = context.config.attributes.get("connection")
if _connection is None:  # pragma: no cover - migrations always run via db.migrate()
    raise RuntimeError("run orchestrator migrations through vaultswitch.orchestrator.db.migrate()")

context.configure(
    connection=_connection,
    target_metadata=None,
    version_table=VERSION_TABLE,
    render_as_batch=_connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
