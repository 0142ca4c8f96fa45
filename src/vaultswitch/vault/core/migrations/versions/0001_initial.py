"""Initial vault schema.

Revision ID: 0001_initial
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.String(32)
_ALIAS = sa.String(128)
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "vaults",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("reveal_enabled", sa.Boolean(), nullable=False),
        sa.Column("fingerprinting", sa.Boolean(), nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("fingerprint_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "data_keys",
        sa.Column(
            "vault_id", _ID, sa.ForeignKey("vaults.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "records",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("vault_id", _ID, sa.ForeignKey("vaults.id", ondelete="CASCADE"), nullable=False),
        sa.Column("fingerprint", sa.LargeBinary(), nullable=True),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("classifiers", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("vault_id", "fingerprint", name="uq_records_vault_fingerprint"),
    )
    op.create_index("ix_records_vault_key_version", "records", ["vault_id", "key_version"])
    op.create_table(
        "aliases",
        sa.Column("vault_id", _ID, primary_key=True),
        sa.Column("alias", _ALIAS, primary_key=True),
        sa.Column(
            "record_id", _ID, sa.ForeignKey("records.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("format", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("record_id", "format", name="uq_aliases_record_format"),
    )
    op.create_table(
        "service_accounts",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(), nullable=False),
        sa.Column("vault_ids", sa.Text(), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("token_lifespan", sa.Integer(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "access_credentials",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("vault_id", _ID, sa.ForeignKey("vaults.id", ondelete="CASCADE"), nullable=False),
        sa.Column("password_hash", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("at", _TS, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("vault_id", _ID, nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("alias", _ALIAS, nullable=True),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("source", sa.String(255), nullable=True),
        sa.Column("trace_id", sa.String(128), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
    )
    op.create_index("ix_audit_log_vault_id", "audit_log", ["vault_id", "id"])
    op.create_index("ix_audit_log_action", "audit_log", ["action", "id"])
    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "master_key_check",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("check_value", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "master_key_check",
        "server_secrets",
        "audit_log",
        "access_credentials",
        "service_accounts",
        "aliases",
        "records",
        "data_keys",
        "vaults",
    ):
        op.drop_table(table)
