"""The vault service: one synchronous method per API call, each one transaction.

``VaultService`` is composed of one mixin per concern, each in its own module and
all derived from ``ServiceCore`` (base.py, over the units of work in transactions.py):
vaults.py, accounts.py, keys.py, aliases_create.py, aliases_reveal.py,
aliases_change.py (shared alias helpers in aliases.py) and audit.py.

Used by the HTTP layer (in group-committed batches on SQLite, see vault/http/groupcommit.py; in
worker threads on PostgreSQL) and by the admin CLI.
"""

from __future__ import annotations

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine

from vaultswitch.domain.secret import reveal_optional
from vaultswitch.vault.core import crypto, store
from vaultswitch.vault.core.accounts import AccountsMixin
from vaultswitch.vault.core.aliases_change import AliasChangeMixin
from vaultswitch.vault.core.aliases_create import AliasCreateMixin
from vaultswitch.vault.core.aliases_reveal import AliasRevealMixin
from vaultswitch.vault.core.audit import AuditMixin
from vaultswitch.vault.core.errors import MasterKeyMismatch
from vaultswitch.vault.core.keys import KeysMixin
from vaultswitch.vault.core.store import insert_ignore, master_key_check, utcnow
from vaultswitch.vault.core.vaults import VaultsMixin
from vaultswitch.vault.core.volatile import open_volatile_store
from vaultswitch.vault.settings import VaultSettings

log = structlog.get_logger(__name__)


class VaultService(
    VaultsMixin,
    AccountsMixin,
    KeysMixin,
    AliasCreateMixin,
    AliasRevealMixin,
    AliasChangeMixin,
    AuditMixin,
):
    """Vaults, credentials, aliases and audit over SQLite/PostgreSQL (+ memory/Redis)."""

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def open(cls, settings: VaultSettings) -> VaultService:
        """Load (or create) the master key, migrate the database, verify the key."""
        key = crypto.load_or_create_master_key(
            reveal_optional(settings.master_key), settings.resolved_master_key_file()
        )
        master = crypto.MasterKey(key)
        engine = store.create_engine(settings.resolved_database_url())
        try:
            store.migrate(engine)
            _check_or_register_master(engine, master)
            volatile = open_volatile_store(settings.redis_url, settings.redis_prefix)
        except BaseException:
            engine.dispose()
            raise
        log.info(
            "vault.opened",
            dialect=engine.dialect.name,
            master_key_id=master.key_id,
            volatile="redis" if settings.redis_url else "memory",
        )
        return cls(settings, engine, master, volatile)

    def close(self) -> None:
        self._volatile.close()
        self._engine.dispose()

    def __enter__(self) -> VaultService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_or_register_master(engine: Engine, master: crypto.MasterKey) -> None:
    """First open stores the key's check value; later opens verify it (clear error if wrong)."""
    with engine.begin() as conn:
        insert_ignore(
            conn,
            master_key_check,
            {
                "id": 1,
                "key_id": master.key_id,
                "check_value": master.check_value(),
                "updated_at": utcnow(),
            },
        )
        row = conn.execute(
            sa.select(master_key_check.c.key_id, master_key_check.c.check_value).where(
                master_key_check.c.id == 1
            )
        ).one()
    if row.key_id != master.key_id:
        raise MasterKeyMismatch(
            f"wrong master key: this database was sealed with master key id {row.key_id}, "
            f"the configured key has id {master.key_id}; set VAULTSWITCH_MASTER_KEY or the "
            "key file to the original key"
        )
    master.verify(bytes(row.check_value), row.key_id)
