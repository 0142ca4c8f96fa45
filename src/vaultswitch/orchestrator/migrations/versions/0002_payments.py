"""Payments and their idempotency keys.

Revision ID: 0002_payments
Revises: 0001_initial
Create Date: 2025-06-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_payments"
down_revision: str | None = "0001_initial"
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("merchant_id", sa.String(80), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("profile_id", sa.String(80), sa.ForeignKey("profiles.id"), nullable=False),
        sa.Column("customer_id", sa.String(80), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("merchant_reference_id", sa.String(64), nullable=True),
        sa.Column("description", sa.String(255), nullable=True),
        sa.Column("return_url", sa.String(2048), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("payment_method_id", sa.String(80), nullable=True),
        sa.Column("payment_method_type", sa.String(32), nullable=True),
        sa.Column("payment_method_subtype", sa.String(32), nullable=True),
        sa.Column("connector_id", sa.String(80), nullable=True),
        sa.Column("connector", sa.String(32), nullable=True),
        sa.Column("connector_transaction_id", sa.String(128), nullable=True),
        sa.Column("attempt_id", sa.String(80), nullable=True),
        sa.Column("attempt_state", sa.String(16), nullable=False),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column("lease_token", sa.String(32), nullable=True),
        sa.Column("lease_until", _TS, nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_message", sa.String(512), nullable=True),
        sa.Column("error_reason", sa.String(512), nullable=True),
        sa.Column("failure", sa.JSON(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("modified_at", _TS, nullable=False),
    )
    op.create_index("ix_payments_merchant_created", "payments", ["merchant_id", "created_at"])
    op.create_index("ix_payments_merchant_customer", "payments", ["merchant_id", "customer_id"])
    op.create_table(
        "payment_idempotency_keys",
        sa.Column("merchant_id", sa.String(80), sa.ForeignKey("merchants.id"), primary_key=True),
        sa.Column("idempotency_key", sa.String(255), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("operation", sa.String(16), nullable=False),
        sa.Column("payment_id", sa.String(80), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("payment_idempotency_keys")
    op.drop_index("ix_payments_merchant_customer", table_name="payments")
    op.drop_index("ix_payments_merchant_created", table_name="payments")
    op.drop_table("payments")
