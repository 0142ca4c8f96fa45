"""The vault service: one synchronous method per API call, each one transaction.

``VaultService`` is composed of one mixin per concern, each in its own module and
all derived from ``ServiceCore`` (base.py, over the units of work in transactions.py):
vaults.py, accounts.py, keys.py, aliases_create.py, aliases_reveal.py,
aliases_change.py (shared alias helpers in aliases.py), audit.py and routes.py.

Used by the HTTP layer (in group-committed batches on SQLite, see vault/http/groupcommit.py; in
worker threads on PostgreSQL) and by the admin CLI.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine

from vaultswitch.vault.core import crypto, store
from vaultswitch.vault.core.accounts import AccountsMixin
from vaultswitch.vault.core.aliases_change import AliasChangeMixin
from vaultswitch.vault.core.aliases_create import AliasCreateMixin
from vaultswitch.vault.core.aliases_reveal import AliasRevealMixin
from vaultswitch.vault.core.audit import AuditMixin
from vaultswitch.vault.core.errors import MasterKeyMismatch, NoVaultData
from vaultswitch.vault.core.keys import KeysMixin
from vaultswitch.vault.core.master_key import MasterKeySource
from vaultswitch.vault.core.routes import RoutesMixin
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
    RoutesMixin,
):
    """Vaults, credentials, aliases, audit and routes over SQLite/PostgreSQL (+ memory/Redis)."""

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def open(cls, settings: VaultSettings, *, existing: bool = False) -> VaultService:
        """Load (or create) the master key, migrate the database, verify the key.

        ``existing``: only open vault data that is already there (admin commands that read,
        or that change an existing vault): raise NoVaultData instead of creating a store,
        and never create a master key file.
        """
        url = settings.resolved_database_url()
        source = MasterKeySource.of(settings)
        if existing:
            _require_sqlite_file(url, settings)
        engine = store.create_engine(url)
        try:
            if existing and not sa.inspect(engine).has_table(store.VERSION_TABLE):
                raise NoVaultData(
                    "no vault data in the configured database (no vault tables): "
                    + _where(settings)
                )
            master = source.load(create=not existing)
            if master is None:
                raise MasterKeyMismatch(
                    f"no master key: {source.key_file} does not exist and "
                    "VAULTSWITCH_MASTER_KEY is not set, but the vault database needs the key "
                    "it is sealed with"
                )
            store.migrate(engine)
            master = _check_or_register_master(engine, master, source)
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


def _where(settings: VaultSettings) -> str:
    if settings.database_url:
        return "--database-url / VAULTSWITCH_DATABASE_URL"
    return f"data dir {settings.data_dir.resolve()}"


def _require_sqlite_file(url: str, settings: VaultSettings) -> None:
    """NoVaultData if url is a SQLite file that does not exist (nothing is created)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    path = Path(parsed.database)
    if not path.is_file():
        raise NoVaultData(f"no vault data at {path.resolve()} ({_where(settings)})")


def _check_or_register_master(
    engine: Engine, master: crypto.MasterKey, source: MasterKeySource
) -> crypto.MasterKey:
    """First open stores the key's check value; later opens verify it (clear error if wrong).

    Returns the key to use: the configured one, or the staged key of a rotation that
    committed but did not yet replace the key file (``master.key.new``).
    """
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
        staged = source.find(row.key_id)
        if staged is None:
            raise MasterKeyMismatch(
                f"wrong master key: this database is under master key id {row.key_id}, "
                f"{source.describe()} holds key id {master.key_id}; set VAULTSWITCH_MASTER_KEY "
                "or the key file to the key the database is under now (after a rotation: the "
                "newest key `vaultswitch vault rotate-master-key` wrote)"
            )
        log.warning(
            "vault.master_key_staged",
            detail=f"using {source.staged_file}: a master key rotation committed but did not "
            "replace the key file; run `vaultswitch vault rotate-master-key` again to finish it",
        )
        master = staged
    master.verify(bytes(row.check_value), row.key_id)
    return master
