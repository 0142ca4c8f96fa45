"""Rows of card imports that created a payment method (replays answer them again).

Revision ID: 0004_payment_method_imports
Revises: 0003_payment_methods
Create Date: 2025-06-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_payment_method_imports"
down_revision: str | None = "0003_payment_methods"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "payment_method_imports",
        sa.Column("merchant_id", sa.String(80), sa.ForeignKey("merchants.id"), primary_key=True),
        sa.Column("import_id", sa.String(64), primary_key=True),
        sa.Column("row_number", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("payment_method_id", sa.String(80), nullable=False),
        sa.Column("reason", sa.String(255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("payment_method_imports")
