"""Vault migrations (moving payment methods between vault connector accounts) and their items.

Revision ID: 0005_vault_migrations
Revises: 0004_payment_method_imports
Create Date: 2025-06-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_vault_migrations"
down_revision: str | None = "0004_payment_method_imports"
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "vault_migrations",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("merchant_id", sa.String(80), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("profile_id", sa.String(80), nullable=False),
        sa.Column("from_connector_id", sa.String(80), nullable=False),
        sa.Column("to_connector_id", sa.String(80), nullable=False),
        sa.Column("customer_id", sa.String(80), nullable=True),
        sa.Column("limit_count", sa.Integer(), nullable=True),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("token_mode", sa.String(8), nullable=False),
        sa.Column("source_deleted_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("modified_at", _TS, nullable=False),
    )
    op.create_index(
        "ix_vault_migrations_pair",
        "vault_migrations",
        ["merchant_id", "from_connector_id", "to_connector_id"],
    )
    op.create_table(
        "vault_migration_items",
        sa.Column(
            "migration_id",
            sa.String(80),
            sa.ForeignKey("vault_migrations.id"),
            primary_key=True,
        ),
        sa.Column("payment_method_id", sa.String(80), primary_key=True),
        sa.Column("merchant_id", sa.String(80), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("message", sa.String(512), nullable=True),
        sa.Column("source_ids_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("verify_status", sa.String(16), nullable=True),
        sa.Column("verify_reason", sa.String(64), nullable=True),
        sa.Column("source_status", sa.String(16), nullable=True),
        sa.Column("source_reason", sa.String(64), nullable=True),
        sa.Column("claim_token", sa.String(32), nullable=True),
        sa.Column("claim_until", _TS, nullable=True),
        sa.Column("modified_at", _TS, nullable=False),
    )
    op.create_index(
        "ix_vault_migration_items_seq",
        "vault_migration_items",
        ["migration_id", "status", "seq"],
    )
    op.create_index(
        "ix_vault_migration_items_phases",
        "vault_migration_items",
        ["migration_id", "status", "verify_status", "source_status"],
    )


def downgrade() -> None:
    op.drop_table("vault_migration_items")
    op.drop_table("vault_migrations")
