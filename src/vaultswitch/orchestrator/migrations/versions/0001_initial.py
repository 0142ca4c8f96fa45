"""Orchestrator schema: merchants, API keys, profiles, customers, connector accounts.

Revision ID: 0001_initial
Revises:
Create Date: 2025-06-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "merchants",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("merchant_name", sa.String(64), nullable=False),
        sa.Column("organization_id", sa.String(80), nullable=False),
        sa.Column("publishable_key", sa.String(64), nullable=False, unique=True),
        sa.Column("default_profile_id", sa.String(80), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("modified_at", _TS, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("merchant_id", sa.String(80), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("description", sa.String(256), nullable=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=True),
        sa.Column("revoked_at", _TS, nullable=True),
    )
    op.create_index("ix_api_keys_merchant", "api_keys", ["merchant_id"])
    op.create_table(
        "profiles",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("merchant_id", sa.String(80), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("profile_name", sa.String(64), nullable=False),
        sa.Column("return_url", sa.String(2048), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("is_external_vault_enabled", sa.Boolean(), nullable=False),
        sa.Column("external_vault_connector_details", sa.JSON(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("modified_at", _TS, nullable=False),
        sa.UniqueConstraint("merchant_id", "profile_name", name="uq_profiles_merchant_name"),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("merchant_id", sa.String(80), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("merchant_reference_id", sa.String(64), nullable=True),
        sa.Column("name_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("email_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("phone_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("phone_country_code", sa.String(8), nullable=True),
        sa.Column("description", sa.String(255), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("modified_at", _TS, nullable=False),
        sa.UniqueConstraint(
            "merchant_id", "merchant_reference_id", name="uq_customers_merchant_reference"
        ),
    )
    op.create_index("ix_customers_merchant_created", "customers", ["merchant_id", "created_at"])
    op.create_table(
        "connector_accounts",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("merchant_id", sa.String(80), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("profile_id", sa.String(80), sa.ForeignKey("profiles.id"), nullable=False),
        sa.Column("connector_type", sa.String(32), nullable=False),
        sa.Column("connector_name", sa.String(32), nullable=False),
        sa.Column("connector_label", sa.String(128), nullable=False),
        sa.Column("auth_type", sa.String(32), nullable=False),
        sa.Column("secrets_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("verification", sa.JSON(), nullable=True),
        sa.Column("verified_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("modified_at", _TS, nullable=False),
        sa.UniqueConstraint("profile_id", "connector_label", name="uq_connector_accounts_label"),
    )
    op.create_index("ix_connector_accounts_merchant", "connector_accounts", ["merchant_id"])


def downgrade() -> None:
    op.drop_table("connector_accounts")
    op.drop_table("customers")
    op.drop_table("profiles")
    op.drop_table("api_keys")
    op.drop_table("merchants")
