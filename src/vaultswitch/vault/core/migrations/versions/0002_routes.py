"""Routes (VGS rule chains) per vault; the routes:read / routes:write scopes.

Service accounts created with every scope there was (aliases:read, aliases:write and
aliases:delete: the default of `vaultswitch vault service-account` and of `vaultswitch up`)
also get the new routes scopes, so "all scopes" keeps meaning all of them.

Revision ID: 0002_routes
Revises: 0001_initial
Create Date: 2025-06-01
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0002_routes"
down_revision: str | None = "0001_initial"
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.String(32)
_TS = sa.DateTime(timezone=True)
_ALL_ALIAS_SCOPES = ("aliases:read", "aliases:write", "aliases:delete")
_ROUTE_SCOPES = ("routes:read", "routes:write")
_accounts = sa.table(
    "service_accounts", sa.column("client_id", sa.String), sa.column("scopes", sa.Text)
)


def upgrade() -> None:
    op.create_table(
        "routes",
        sa.Column(
            "vault_id", _ID, sa.ForeignKey("vaults.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_index("ix_routes_vault_created", "routes", ["vault_id", "created_at"])
    _change_scopes(add=True)


def downgrade() -> None:
    _change_scopes(add=False)
    op.drop_index("ix_routes_vault_created", table_name="routes")
    op.drop_table("routes")


def _change_scopes(*, add: bool) -> None:
    conn = op.get_bind()
    for client_id, stored in conn.execute(sa.select(_accounts.c.client_id, _accounts.c.scopes)):
        scopes = list(json.loads(stored))
        if add:
            if not set(_ALL_ALIAS_SCOPES) <= set(scopes):
                continue
            changed = scopes + [s for s in _ROUTE_SCOPES if s not in scopes]
        else:
            changed = [s for s in scopes if s not in _ROUTE_SCOPES]
        if changed != scopes:
            conn.execute(
                _accounts.update()
                .where(_accounts.c.client_id == client_id)
                .values(scopes=json.dumps(changed, separators=(",", ":")))
            )
