"""Payment methods, the vault aliases they hold, payment-method sessions.

Revision ID: 0003_payment_methods
Revises: 0002_payments
Create Date: 2025-06-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_payment_methods"
down_revision: str | None = "0002_payments"
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "payment_methods",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("merchant_id", sa.String(80), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("customer_id", sa.String(80), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("profile_id", sa.String(80), nullable=False),
        sa.Column("payment_method_type", sa.String(32), nullable=False),
        sa.Column("payment_method_subtype", sa.String(32), nullable=False),
        sa.Column("token_mode", sa.String(16), nullable=False),
        sa.Column("vault_connector_id", sa.String(80), nullable=False),
        sa.Column("vault_ids_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=True),
        sa.Column("card_isin", sa.String(8), nullable=True),
        sa.Column("last4_digits", sa.String(4), nullable=True),
        sa.Column("card_network", sa.String(32), nullable=True),
        sa.Column("card_type", sa.String(16), nullable=True),
        sa.Column("card_issuer", sa.String(64), nullable=True),
        sa.Column("issuer_country", sa.String(2), nullable=True),
        sa.Column("expiry_month", sa.String(2), nullable=True),
        sa.Column("expiry_year", sa.String(4), nullable=True),
        sa.Column("nick_name", sa.String(64), nullable=True),
        sa.Column("card_holder_name_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("cvc_expires_at", _TS, nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("last_used_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("modified_at", _TS, nullable=False),
        sa.UniqueConstraint(
            "merchant_id", "customer_id", "fingerprint", name="uq_payment_methods_fingerprint"
        ),
    )
    op.create_index(
        "ix_payment_methods_customer",
        "payment_methods",
        ["merchant_id", "customer_id", "created_at"],
    )
    op.create_table(
        "payment_method_aliases",
        sa.Column(
            "payment_method_id",
            sa.String(80),
            sa.ForeignKey("payment_methods.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("alias_ref", sa.String(64), primary_key=True),
    )
    op.create_index("ix_payment_method_aliases_ref", "payment_method_aliases", ["alias_ref"])
    op.create_table(
        "payment_method_sessions",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("merchant_id", sa.String(80), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("profile_id", sa.String(80), nullable=False),
        sa.Column("customer_id", sa.String(80), sa.ForeignKey("customers.id"), nullable=True),
        sa.Column("vault_connector_id", sa.String(80), nullable=False),
        sa.Column("client_secret_hash", sa.String(64), nullable=False),
        sa.Column("return_url", sa.String(2048), nullable=True),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("payment_method_sessions")
    op.drop_table("payment_method_aliases")
    op.drop_table("payment_methods")
