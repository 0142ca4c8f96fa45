"""The orchestrator's tables (SQLAlchemy Core). Migrations in ``migrations/versions`` create
them; a new table or column goes in both places (a test compares the two).

Conventions: ids are strings made by :mod:`vaultswitch.orchestrator.ids`; every row
carries ``merchant_id`` so each query filters by the caller's merchant; times are
timezone-aware UTC; ``*_sealed`` columns hold :class:`~vaultswitch.orchestrator.crypto.Keyring`
blobs (AES-256-GCM, bound to the row id) and are never returned as such.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
TS = sa.DateTime(timezone=True)

merchants = sa.Table(
    "merchants",
    metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("merchant_name", sa.String(64), nullable=False),
    sa.Column("organization_id", sa.String(80), nullable=False),
    sa.Column("publishable_key", sa.String(64), nullable=False, unique=True),
    sa.Column("default_profile_id", sa.String(80), nullable=True),
    sa.Column("metadata", sa.JSON(), nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("modified_at", TS, nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String(64), primary_key=True),
    sa.Column("merchant_id", sa.String(80), sa.ForeignKey("merchants.id"), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("description", sa.String(256), nullable=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=True),
    sa.Column("revoked_at", TS, nullable=True),
    sa.Index("ix_api_keys_merchant", "merchant_id"),
)

profiles = sa.Table(
    "profiles",
    metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("merchant_id", sa.String(80), sa.ForeignKey("merchants.id"), nullable=False),
    sa.Column("profile_name", sa.String(64), nullable=False),
    sa.Column("return_url", sa.String(2048), nullable=True),
    sa.Column("metadata", sa.JSON(), nullable=True),
    sa.Column("is_external_vault_enabled", sa.Boolean(), nullable=False),
    sa.Column("external_vault_connector_details", sa.JSON(), nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("modified_at", TS, nullable=False),
    sa.UniqueConstraint("merchant_id", "profile_name", name="uq_profiles_merchant_name"),
)

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("merchant_id", sa.String(80), sa.ForeignKey("merchants.id"), nullable=False),
    sa.Column("merchant_reference_id", sa.String(64), nullable=True),
    # PII, sealed with the row id as associated data
    sa.Column("name_sealed", sa.LargeBinary(), nullable=True),
    sa.Column("email_sealed", sa.LargeBinary(), nullable=True),
    sa.Column("phone_sealed", sa.LargeBinary(), nullable=True),
    sa.Column("phone_country_code", sa.String(8), nullable=True),
    sa.Column("description", sa.String(255), nullable=True),
    sa.Column("metadata", sa.JSON(), nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("modified_at", TS, nullable=False),
    sa.UniqueConstraint(
        "merchant_id", "merchant_reference_id", name="uq_customers_merchant_reference"
    ),
    sa.Index("ix_customers_merchant_created", "merchant_id", "created_at"),
)

connector_accounts = sa.Table(
    "connector_accounts",
    metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("merchant_id", sa.String(80), sa.ForeignKey("merchants.id"), nullable=False),
    sa.Column("profile_id", sa.String(80), sa.ForeignKey("profiles.id"), nullable=False),
    sa.Column("connector_type", sa.String(32), nullable=False),
    sa.Column("connector_name", sa.String(32), nullable=False),
    sa.Column("connector_label", sa.String(128), nullable=False),
    sa.Column("auth_type", sa.String(32), nullable=False),
    # {"credentials": {...}, "metadata": {...}} sealed with the account id as associated data
    sa.Column("secrets_sealed", sa.LargeBinary(), nullable=False),
    sa.Column("disabled", sa.Boolean(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("verification", sa.JSON(), nullable=True),
    sa.Column("verified_at", TS, nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("modified_at", TS, nullable=False),
    sa.UniqueConstraint("profile_id", "connector_label", name="uq_connector_accounts_label"),
    sa.Index("ix_connector_accounts_merchant", "merchant_id"),
)

payments = sa.Table(
    "payments",
    metadata,
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
    # the one processor attempt: its id is the processor's idempotency key; its state says
    # whether the processor may have seen it (none, started, not_authorized, unknown, completed)
    sa.Column("attempt_id", sa.String(80), nullable=True),
    sa.Column("attempt_state", sa.String(16), nullable=False),
    sa.Column("attempt_count", sa.Integer(), nullable=False),
    sa.Column("lease_token", sa.String(32), nullable=True),
    sa.Column("lease_until", TS, nullable=True),
    sa.Column("error_code", sa.String(64), nullable=True),
    sa.Column("error_message", sa.String(512), nullable=True),
    sa.Column("error_reason", sa.String(512), nullable=True),
    # the HTTP error an attempt ended with (status, code, message, hint, type, field)
    sa.Column("failure", sa.JSON(), nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("modified_at", TS, nullable=False),
    sa.Index("ix_payments_merchant_created", "merchant_id", "created_at"),
    sa.Index("ix_payments_merchant_customer", "merchant_id", "customer_id"),
)

payment_idempotency_keys = sa.Table(
    "payment_idempotency_keys",
    metadata,
    sa.Column("merchant_id", sa.String(80), sa.ForeignKey("merchants.id"), primary_key=True),
    sa.Column("idempotency_key", sa.String(255), primary_key=True),
    # keyed HMAC of the operation and the canonical request body
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("operation", sa.String(16), nullable=False),
    sa.Column("payment_id", sa.String(80), nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

payment_methods = sa.Table(
    "payment_methods",
    metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("merchant_id", sa.String(80), sa.ForeignKey("merchants.id"), nullable=False),
    sa.Column("customer_id", sa.String(80), sa.ForeignKey("customers.id"), nullable=False),
    sa.Column("profile_id", sa.String(80), nullable=False),
    sa.Column("payment_method_type", sa.String(32), nullable=False),
    sa.Column("payment_method_subtype", sa.String(32), nullable=False),
    # "single" | "multi" (we wrote the card to the vault) | "proxy" (aliases we were given)
    sa.Column("token_mode", sa.String(16), nullable=False),
    # the vault connector account id, or "internal"
    sa.Column("vault_connector_id", sa.String(80), nullable=False),
    # the alias(es) as JSON, sealed with the row id as associated data
    sa.Column("vault_ids_sealed", sa.LargeBinary(), nullable=False),
    # HMAC-SHA256 under a per-merchant key; NULL: no dedup
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
    # when the VOLATILE CVC alias (if any) is expected to expire
    sa.Column("cvc_expires_at", TS, nullable=True),
    sa.Column("metadata", sa.JSON(), nullable=True),
    sa.Column("last_used_at", TS, nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("modified_at", TS, nullable=False),
    sa.UniqueConstraint(
        "merchant_id", "customer_id", "fingerprint", name="uq_payment_methods_fingerprint"
    ),
    sa.Index("ix_payment_methods_customer", "merchant_id", "customer_id", "created_at"),
)

# Which vault aliases each payment method holds, as HMACs of (vault, alias): the vault's
# fingerprinting gives the same value one alias, so payment methods can share one; an
# alias is deleted from the vault only when no other payment method holds it.
payment_method_aliases = sa.Table(
    "payment_method_aliases",
    metadata,
    sa.Column(
        "payment_method_id",
        sa.String(80),
        sa.ForeignKey("payment_methods.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("alias_ref", sa.String(64), primary_key=True),
    sa.Index("ix_payment_method_aliases_ref", "alias_ref"),
)

# Rows of a `vaultswitch import` (POST /v2/payment-methods/import with an import_id) that
# created a payment method: a replayed row (a resumed import re-sending the batch that was
# in flight) answers that payment method as imported again. No foreign key to
# payment_methods: deleting a payment method leaves the row, which then no longer matches.
payment_method_imports = sa.Table(
    "payment_method_imports",
    metadata,
    sa.Column("merchant_id", sa.String(80), sa.ForeignKey("merchants.id"), primary_key=True),
    sa.Column("import_id", sa.String(64), primary_key=True),
    sa.Column("row_number", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("payment_method_id", sa.String(80), nullable=False),
    # the reason the row was answered with (e.g. its alias could not be checked)
    sa.Column("reason", sa.String(255), nullable=True),
    sa.Column("created_at", TS, nullable=False),
)

payment_method_sessions = sa.Table(
    "payment_method_sessions",
    metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("merchant_id", sa.String(80), sa.ForeignKey("merchants.id"), nullable=False),
    sa.Column("profile_id", sa.String(80), nullable=False),
    sa.Column("customer_id", sa.String(80), sa.ForeignKey("customers.id"), nullable=True),
    sa.Column("vault_connector_id", sa.String(80), nullable=False),
    sa.Column("client_secret_hash", sa.String(64), nullable=False),
    sa.Column("return_url", sa.String(2048), nullable=True),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

# A move of payment methods from one vault connector account to another
# (`vaultswitch migrate`, /v2/vault-migrations); its items are the payment methods it covers.
vault_migrations = sa.Table(
    "vault_migrations",
    metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("merchant_id", sa.String(80), sa.ForeignKey("merchants.id"), nullable=False),
    sa.Column("profile_id", sa.String(80), nullable=False),
    sa.Column("from_connector_id", sa.String(80), nullable=False),
    sa.Column("to_connector_id", sa.String(80), nullable=False),
    sa.Column("customer_id", sa.String(80), nullable=True),
    # at most this many payment methods (NULL: all of them)
    sa.Column("limit_count", sa.Integer(), nullable=True),
    sa.Column("dry_run", sa.Boolean(), nullable=False),
    # "keep" | "single" | "multi": how the target vault stores the cards
    sa.Column("token_mode", sa.String(8), nullable=False),
    # when every moved payment method's source aliases were dealt with (the migration is over)
    sa.Column("source_deleted_at", TS, nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("modified_at", TS, nullable=False),
    sa.Index("ix_vault_migrations_pair", "merchant_id", "from_connector_id", "to_connector_id"),
)

# One payment method of a migration, per phase: the move (status), the verify pass and the
# deletion of the source aliases. No foreign key to payment_methods: a payment method deleted
# after its move keeps its item (its source aliases still have to go).
vault_migration_items = sa.Table(
    "vault_migration_items",
    metadata,
    sa.Column(
        "migration_id", sa.String(80), sa.ForeignKey("vault_migrations.id"), primary_key=True
    ),
    sa.Column("payment_method_id", sa.String(80), primary_key=True),
    sa.Column("merchant_id", sa.String(80), nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    # pending | moved | would_move (dry run) | skipped | failed
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(64), nullable=True),
    sa.Column("message", sa.String(512), nullable=True),
    # the aliases the payment method had in the source vault (sealed, bound to the item)
    sa.Column("source_ids_sealed", sa.LargeBinary(), nullable=True),
    # NULL (not verified) | ok | mismatch | failed | skipped
    sa.Column("verify_status", sa.String(16), nullable=True),
    sa.Column("verify_reason", sa.String(64), nullable=True),
    # NULL (source aliases still there) | deleted | kept | failed
    sa.Column("source_status", sa.String(16), nullable=True),
    sa.Column("source_reason", sa.String(64), nullable=True),
    # a step working on the item: its token and until when the claim holds
    sa.Column("claim_token", sa.String(32), nullable=True),
    sa.Column("claim_until", TS, nullable=True),
    sa.Column("modified_at", TS, nullable=False),
    sa.Index("ix_vault_migration_items_seq", "migration_id", "status", "seq"),
    # the counts of every step, from the index alone
    sa.Index(
        "ix_vault_migration_items_phases",
        "migration_id",
        "status",
        "verify_status",
        "source_status",
    ),
)
