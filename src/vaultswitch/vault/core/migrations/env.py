"""Alembic environment for the vault schema; run programmatically by store.migrate()."""

from __future__ import annotations

from alembic import context

from vaultswitch.vault.core.store import VERSION_TABLE

_connection = context.config.attributes.get("connection")
if _connection is None:  # pragma: no cover - migrations always run via store.migrate()
    raise RuntimeError("run vault migrations through vaultswitch.vault.core.store.migrate()")

context.configure(
    connection=_connection,
    target_metadata=None,
    version_table=VERSION_TABLE,
    render_as_batch=_connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
