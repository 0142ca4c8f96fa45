"""Changing aliases: replacing a record's classifiers, deleting aliases (atomically)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from vaultswitch.vault.core import formats
from vaultswitch.vault.core.aliases import VOLATILE, AliasSupport, check_classifiers, check_storage
from vaultswitch.vault.core.audit import audit_row
from vaultswitch.vault.core.errors import BadRequest
from vaultswitch.vault.core.models import AuditContext
from vaultswitch.vault.core.store import aliases as alias_table
from vaultswitch.vault.core.store import audit_log, records, utcnow
from vaultswitch.vault.core.values import compact_json

_INS_AUDIT = audit_log.insert()


class AliasChangeMixin(AliasSupport):
    """``update_classifiers``, ``delete_alias`` and ``delete_aliases``."""

    def update_classifiers(
        self,
        vault_id: str,
        alias: str,
        classifiers: Sequence[str],
        storage: str,
        ctx: AuditContext,
    ) -> None:
        """Replace a record's classifiers (VOLATILE keeps none: only checks the alias exists)."""
        check_storage(storage)
        tags = check_classifiers(classifiers, "data.classifiers")
        if not formats.is_alias_shaped(alias):
            raise BadRequest("alias: not a valid alias", code="INVALID_ALIAS")

        def run(conn: Connection) -> None:
            vault = self._vault(conn, vault_id)
            if storage == VOLATILE:
                if not self._volatile.get_many(vault.id, [alias]):
                    raise self._not_found([alias])
            else:
                record_id = conn.execute(
                    sa.select(alias_table.c.record_id).where(
                        alias_table.c.vault_id == vault.id, alias_table.c.alias == alias
                    )
                ).scalar_one_or_none()
                if record_id is None:
                    raise self._not_found([alias])
                conn.execute(
                    records.update()
                    .where(records.c.id == record_id)
                    .values(classifiers=compact_json(tags))
                )
            conn.execute(
                audit_log.insert().values(
                    **audit_row(ctx, utcnow(), vault.id, "alias.update", alias, detail=storage)
                )
            )

        self._run(run)

    def delete_alias(self, vault_id: str, alias: str, storage: str, ctx: AuditContext) -> None:
        """Delete one alias (and the value when it was the record's last alias)."""
        self.delete_aliases(vault_id, [alias], storage, ctx)

    def delete_aliases(
        self, vault_id: str, aliases: Sequence[str], storage: str, ctx: AuditContext
    ) -> None:
        """Delete aliases atomically: if any is missing, 404 and nothing is deleted."""
        check_storage(storage)
        wanted = self._unique_aliases(aliases, "data")

        def run(conn: Connection) -> None:
            vault = self._vault(conn, vault_id)
            if storage == VOLATILE:
                found = self._volatile.get_many(vault.id, wanted)
                missing = [a for a in wanted if a not in found]
                if missing:
                    raise self._not_found(missing)
            else:
                rows = conn.execute(
                    sa.select(alias_table.c.alias, alias_table.c.record_id).where(
                        alias_table.c.vault_id == vault.id, alias_table.c.alias.in_(wanted)
                    )
                ).all()
                present = {r.alias for r in rows}
                missing = [a for a in wanted if a not in present]
                if missing:
                    raise self._not_found(missing)
                conn.execute(
                    alias_table.delete().where(
                        alias_table.c.vault_id == vault.id, alias_table.c.alias.in_(wanted)
                    )
                )
                record_ids = list({r.record_id for r in rows})
                orphan = ~sa.exists().where(alias_table.c.record_id == records.c.id)
                conn.execute(records.delete().where(records.c.id.in_(record_ids), orphan))
            now = utcnow()
            conn.execute(
                _INS_AUDIT,
                [audit_row(ctx, now, vault.id, "alias.delete", a, detail=storage) for a in wanted],
            )
            if storage == VOLATILE:
                # Last step, so a failed audit write leaves the entries in place.
                self._volatile.delete_many(vault.id, wanted)

        self._run(run)
