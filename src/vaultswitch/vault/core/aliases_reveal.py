"""Revealing aliases: all or nothing, PERSISTENT (one query) and VOLATILE."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from vaultswitch.domain.secret import Secret
from vaultswitch.vault.core import rawsql
from vaultswitch.vault.core.aliases import PERSISTENT, VOLATILE, AliasSupport, check_storage
from vaultswitch.vault.core.audit import audit_params
from vaultswitch.vault.core.errors import Forbidden
from vaultswitch.vault.core.models import AliasInfo, AuditContext, Record
from vaultswitch.vault.core.store import aliases as alias_table
from vaultswitch.vault.core.store import records, utcnow
from vaultswitch.vault.core.values import classifiers_of
from vaultswitch.vault.core.vault_row import VaultRow

_REQ = alias_table.alias("req")
_SEL_REVEAL = (
    sa.select(
        _REQ.c.alias.label("requested"),
        records.c.id,
        records.c.key_version,
        records.c.ciphertext,
        records.c.classifiers,
        records.c.created_at,
        alias_table.c.alias,
        alias_table.c.format,
    )
    .select_from(
        _REQ.join(records, records.c.id == _REQ.c.record_id).join(
            alias_table, alias_table.c.record_id == records.c.id
        )
    )
    .where(
        _REQ.c.vault_id == sa.bindparam("vid"),
        _REQ.c.alias.in_(sa.bindparam("aliases", expanding=True)),
    )
    .order_by(alias_table.c.created_at, alias_table.c.alias)
)


class AliasRevealMixin(AliasSupport):
    """``reveal`` and its PERSISTENT and VOLATILE halves."""

    def reveal(
        self, vault_id: str, aliases: Sequence[str], storage: str, ctx: AuditContext
    ) -> dict[str, Record]:
        """Records keyed by alias; all or nothing (404 naming every missing alias)."""
        check_storage(storage)
        wanted = self._unique_aliases(aliases, "aliases")

        def run(conn: Connection) -> dict[str, Record]:
            vault = self._vault(conn, vault_id)
            if not vault.reveal_enabled:
                raise Forbidden(
                    f"reveal is disabled for vault {vault.id}; enable it with `vaultswitch "
                    f"vault reveal enable --vault {vault.id}{self.settings.data_dir_flag()}`",
                    code="REVEAL_DISABLED",
                )
            if storage == VOLATILE:
                result = self._reveal_volatile(conn, vault, wanted)
            else:
                result = self._reveal_persistent(conn, vault, wanted)
            now = utcnow()
            self._insert_audit_params(
                conn,
                [
                    audit_params(ctx, now, vault.id, "alias.reveal", a, detail=storage)
                    for a in wanted
                ],
            )
            return result

        return self._run(run, read_only=True)  # its only write is the audit row

    def _reveal_persistent(
        self, conn: Connection, vault: VaultRow, wanted: list[str]
    ) -> dict[str, Record]:
        # row: requested alias, record id, key version, ciphertext, classifiers,
        #      record created_at, alias, alias format
        raw = self._raw(conn)
        rows: Sequence[Any]
        if raw is not None:
            rows = raw.execute(rawsql.sel_reveal(len(wanted)), (vault.id, *wanted)).fetchall()
        else:
            rows = conn.execute(_SEL_REVEAL, {"vid": vault.id, "aliases": wanted}).all()
        by_record: dict[str, list[Any]] = {}
        record_of: dict[str, str] = {}
        for row in rows:
            record_of[row[0]] = row[1]
            by_record.setdefault(row[1], []).append(row)
        missing = [a for a in wanted if a not in record_of]
        if missing:
            raise self._not_found(missing)
        built: dict[str, Record] = {}
        for record_id, group in by_record.items():
            first = group[0]
            seen: dict[str, AliasInfo] = {}
            for r in group:
                seen.setdefault(r[6], AliasInfo(r[6], r[7]))
            built[record_id] = Record(
                value=Secret(self._open_record(conn, vault.id, record_id, first[2], first[3])),
                classifiers=classifiers_of(first[4]),
                aliases=tuple(seen.values()),
                created_at=rawsql.parse_ts(first[5]),
                storage=PERSISTENT,
            )
        return {a: built[record_of[a]] for a in wanted}

    def _reveal_volatile(
        self, conn: Connection, vault: VaultRow, wanted: list[str]
    ) -> dict[str, Record]:
        found = self._volatile.get_many(vault.id, wanted)
        missing = [a for a in wanted if a not in found]
        if missing:
            raise self._not_found(missing)
        return {
            a: self._volatile_record(
                self._open_volatile(conn, vault.id, a, found[a]), a, found[a].format
            )
            for a in wanted
        }
