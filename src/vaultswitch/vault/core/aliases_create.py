"""Creating aliases: new values, references to existing aliases, PERSISTENT and VOLATILE.

With fingerprinting on, a value already stored gets its existing alias of the format
(or a new alias of another format on the same record) instead of a second record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from vaultswitch.domain.secret import Secret
from vaultswitch.vault.core import crypto, formats, rawsql
from vaultswitch.vault.core.aliases import (
    PERSISTENT,
    VOLATILE,
    AliasSupport,
    check_classifiers,
    check_storage,
)
from vaultswitch.vault.core.audit import audit_params
from vaultswitch.vault.core.errors import AliasNotFoundError, BadRequest, Conflict, PayloadTooLarge
from vaultswitch.vault.core.models import (
    AliasInfo,
    AliasReference,
    AuditContext,
    CreateItem,
    NewValue,
    Record,
)
from vaultswitch.vault.core.store import aliases as alias_table
from vaultswitch.vault.core.store import as_utc, insert_ignore, records, utcnow
from vaultswitch.vault.core.transactions import Retry
from vaultswitch.vault.core.values import classifiers_json, classifiers_of, new_record_id
from vaultswitch.vault.core.vault_row import VaultRow
from vaultswitch.vault.core.volatile import VolatileEntry

_ALIAS_RETRIES = 32
_SEL_RECORD_BY_FP = sa.select(records.c.id, records.c.classifiers, records.c.created_at).where(
    records.c.vault_id == sa.bindparam("vid"), records.c.fingerprint == sa.bindparam("fp")
)
_SEL_ALIAS_OF_FORMAT = sa.select(alias_table.c.alias).where(
    alias_table.c.record_id == sa.bindparam("rid"), alias_table.c.format == sa.bindparam("fmt")
)
_INS_RECORD = records.insert()


class AliasCreateMixin(AliasSupport):
    """``create_aliases`` and its PERSISTENT and VOLATILE halves."""

    def _validate_items(self, items: Sequence[CreateItem]) -> None:
        self._check_count(len(items))
        referenced: set[str] = set()
        for i, item in enumerate(items):
            field = f"data[{i}]"
            check_storage(item.storage, f"{field}.storage")
            formats.check_format(item.format, f"{field}.format")
            if isinstance(item, AliasReference):
                if not formats.is_alias_shaped(item.alias):
                    raise BadRequest(f"{field}.alias: not a valid alias", code="INVALID_ALIAS")
                if item.alias in referenced:
                    raise BadRequest(
                        f"{field}.alias: alias {item.alias} is referenced twice in one request",
                        code="DUPLICATE_ALIAS_REFERENCE",
                    )
                referenced.add(item.alias)
                continue
            value = item.value.reveal() if isinstance(item.value, Secret) else item.value
            if not isinstance(value, str):
                raise BadRequest(f"{field}.value: must be a string", code="INVALID_VALUE")
            if len(value) * 4 > self.settings.max_body_bytes and (
                len(value.encode("utf-8")) > self.settings.max_body_bytes
            ):
                raise PayloadTooLarge(
                    f"{field}.value: larger than {self.settings.max_body_bytes} bytes"
                )
            formats.validate_value_for_format(item.format, value, f"{field}.value")
            check_classifiers(item.classifiers, f"{field}.classifiers")

    def create_aliases(
        self,
        vault_id: str,
        items: Sequence[CreateItem],
        ctx: AuditContext,
        validated: bool = False,
        caller_may_reveal: bool = False,
    ) -> list[Record]:
        """Create (or find, with fingerprinting) one record per item, in request order.

        ``validated``: the items come from ``wire.parse_create``, which checks everything
        this method would check (and more), so the checks are not repeated.

        A record carries the value its item sent. A reference item sent no value: its
        record carries the stored value only when ``caller_may_reveal`` (the caller holds
        the reveal scope, ``aliases:read``) and the vault has reveal on - and that is
        audited as an ``alias.reveal``; otherwise its ``value`` is None.
        """
        if not validated:
            self._validate_items(items)

        def run(conn: Connection) -> list[Record]:
            vault = self._vault(conn, vault_id)
            show_references = caller_may_reveal and vault.reveal_enabled
            now = utcnow()
            result: list[Record] = []
            audit_rows: list[tuple[Any, ...]] = []
            volatile_created: list[str] = []
            try:
                for i, item in enumerate(items):
                    if item.storage == VOLATILE:
                        rec, outcome = self._create_volatile(conn, vault, item, i)
                        if outcome == "created":
                            volatile_created.append(rec.aliases[0].alias)
                    elif isinstance(item, AliasReference):
                        rec, outcome = self._reference_persistent(conn, vault, item, i, now)
                    else:
                        rec, outcome = self._create_persistent(conn, vault, item, now)
                    if isinstance(item, AliasReference) and not show_references:
                        rec = replace(rec, value=None)  # a value the caller did not send
                    result.append(rec)
                    if outcome == "created":  # a new record or entry: its one alias
                        alias = rec.aliases[0].alias
                    else:
                        alias = next(a.alias for a in rec.aliases if a.format == item.format)
                    audit_rows.append(
                        audit_params(
                            ctx,
                            now,
                            vault.id,
                            "alias.create",
                            alias,
                            "success",
                            f"{outcome} format={item.format} storage={item.storage}",
                        )
                    )
                    if isinstance(item, AliasReference) and show_references:
                        audit_rows.append(
                            audit_params(
                                ctx,
                                now,
                                vault.id,
                                "alias.reveal",
                                item.alias,
                                detail=f"{item.storage} by create reference",
                            )
                        )
                self._insert_audit_params(conn, audit_rows)
            except BaseException:
                if volatile_created:
                    self._volatile.delete_many(vault.id, volatile_created)
                raise
            return result

        return self._run(run)

    def _create_persistent(
        self, conn: Connection, vault: VaultRow, item: NewValue, now: datetime
    ) -> tuple[Record, str]:
        value = item.value.reveal() if isinstance(item.value, Secret) else str(item.value)
        secret = item.value if isinstance(item.value, Secret) else Secret(value)
        fp = crypto.fingerprint(self._fp_key(vault), value) if vault.fingerprinting else None
        record_id = new_record_id()
        data_key = self._data_key(conn, vault.id, vault.key_version)
        sealed = data_key.seal(value.encode("utf-8"), crypto.value_aad(vault.id, record_id))
        classifiers = classifiers_json(tuple(item.classifiers))
        raw = self._raw(conn)
        if raw is not None:
            params = (
                record_id,
                vault.id,
                fp,
                data_key.version,
                sealed,
                classifiers,
                rawsql.ts(now),
            )
            sql = rawsql.INS_RECORD if fp is None else rawsql.INS_RECORD_IGNORE
            inserted = raw.execute(sql, params).rowcount == 1
        else:
            row = {
                "id": record_id,
                "vault_id": vault.id,
                "fingerprint": fp,
                "key_version": data_key.version,
                "ciphertext": sealed,
                "classifiers": classifiers,
                "created_at": now,
            }
            if fp is None:
                conn.execute(_INS_RECORD, row)
                inserted = True
            else:
                inserted = insert_ignore(conn, records, row) == 1
        if inserted:
            alias, _ = self._insert_alias(conn, vault, record_id, item.format, value, now)
            rec = Record(
                value=secret,
                classifiers=tuple(item.classifiers),
                aliases=(AliasInfo(alias, item.format),),
                created_at=now,
                storage=PERSISTENT,
            )
            return rec, "created"
        if raw is not None:
            existing = raw.execute(rawsql.SEL_RECORD_BY_FP, (vault.id, fp)).fetchone()
        else:
            existing = conn.execute(_SEL_RECORD_BY_FP, {"vid": vault.id, "fp": fp}).first()
        if existing is None:
            raise Retry  # the record was deleted concurrently
        existing_id, existing_classifiers, existing_created = existing
        infos = self._record_aliases(conn, existing_id)
        outcome = "deduplicated"
        if not any(a.format == item.format for a in infos):
            _, found = self._insert_alias(conn, vault, existing_id, item.format, value, now)
            infos = self._record_aliases(conn, existing_id)
            outcome = "deduplicated" if found else "realiased"
        return (
            Record(
                value=secret,
                classifiers=classifiers_of(existing_classifiers),
                aliases=infos,
                created_at=rawsql.parse_ts(existing_created),
                storage=PERSISTENT,
            ),
            outcome,
        )

    def _reference_persistent(
        self, conn: Connection, vault: VaultRow, item: AliasReference, index: int, now: datetime
    ) -> tuple[Record, str]:
        row = conn.execute(
            sa.select(
                records.c.id,
                records.c.key_version,
                records.c.ciphertext,
                records.c.classifiers,
                records.c.created_at,
            )
            .select_from(alias_table.join(records, records.c.id == alias_table.c.record_id))
            .where(alias_table.c.vault_id == vault.id, alias_table.c.alias == item.alias)
        ).first()
        if row is None:
            raise AliasNotFoundError(f"data[{index}].alias: alias {item.alias} not found")
        value = self._open_record(conn, vault.id, row.id, row.key_version, row.ciphertext)
        self._check_reference_format(item, value, index)
        _, found = self._insert_alias(conn, vault, row.id, item.format, value, now)
        return (
            Record(
                value=Secret(value),
                classifiers=classifiers_of(row.classifiers),
                aliases=self._record_aliases(conn, row.id),
                created_at=as_utc(row.created_at),
                storage=PERSISTENT,
            ),
            "deduplicated" if found else "realiased",
        )

    def _insert_alias(
        self,
        conn: Connection,
        vault: VaultRow,
        record_id: str,
        fmt: str,
        value: str,
        now: datetime,
    ) -> tuple[str, bool]:
        """Add an alias of fmt to a record; (alias, True) if the record already had one."""
        raw = self._raw(conn)
        if raw is not None:
            stamp = rawsql.ts(now)
            for _ in range(_ALIAS_RETRIES):
                # callers pass values already validated for fmt
                alias = formats.new_alias(fmt, value, vault.environment)
                params = (vault.id, alias, record_id, fmt, stamp)
                if raw.execute(rawsql.INS_ALIAS_IGNORE, params).rowcount == 1:
                    return alias, False
                had = raw.execute(rawsql.SEL_ALIAS_OF_FORMAT, (record_id, fmt)).fetchone()
                if had is not None:
                    return str(had[0]), True
            raise Conflict(
                f"no free {fmt} alias found for this value after {_ALIAS_RETRIES} tries; "
                "use a format with more room (e.g. UUID)",
                code="ALIAS_SPACE_EXHAUSTED",
            )
        for _ in range(_ALIAS_RETRIES):
            alias = formats.generate_alias(fmt, value, vault.environment)
            row = {
                "vault_id": vault.id,
                "alias": alias,
                "record_id": record_id,
                "format": fmt,
                "created_at": now,
            }
            if insert_ignore(conn, alias_table, row):
                return alias, False
            existing = conn.execute(
                _SEL_ALIAS_OF_FORMAT, {"rid": record_id, "fmt": fmt}
            ).scalar_one_or_none()
            if existing is not None:
                return str(existing), True
        raise Conflict(
            f"no free {fmt} alias found for this value after {_ALIAS_RETRIES} tries; "
            "use a format with more room (e.g. UUID)",
            code="ALIAS_SPACE_EXHAUSTED",
        )

    def _volatile_fp_key(self, vault: VaultRow, value: str, fmt: str) -> str:
        return crypto.fingerprint(self._fp_key(vault), value).hex() + ":" + fmt

    def _create_volatile(
        self, conn: Connection, vault: VaultRow, item: CreateItem, index: int
    ) -> tuple[Record, str]:
        ttl = self.settings.volatile_ttl
        if isinstance(item, AliasReference):
            found = self._volatile.get_many(vault.id, [item.alias]).get(item.alias)
            if found is None:
                raise AliasNotFoundError(f"data[{index}].alias: alias {item.alias} not found")
            value = self._open_volatile(conn, vault.id, item.alias, found)
            self._check_reference_format(item, value, index)
        else:
            value = item.value.reveal() if isinstance(item.value, Secret) else str(item.value)
        fp_key = self._volatile_fp_key(vault, value, item.format) if vault.fingerprinting else None
        if fp_key is not None:
            existing = self._volatile.get_fingerprint(vault.id, fp_key)
            if existing is not None and self._volatile.touch(vault.id, existing, ttl):
                self._volatile.set_fingerprint(vault.id, fp_key, existing, ttl)
                return self._volatile_record(value, existing, item.format), "deduplicated"
        data_key = self._data_key(conn, vault.id, vault.key_version)
        for _ in range(_ALIAS_RETRIES):
            alias = formats.generate_alias(item.format, value, vault.environment)
            entry = VolatileEntry(
                data_key.version,
                item.format,
                data_key.seal(value.encode("utf-8"), crypto.volatile_aad(vault.id, alias)),
            )
            if self._volatile.put_new(vault.id, alias, entry, ttl):
                break
        else:
            raise Conflict(
                f"no free {item.format} alias found after {_ALIAS_RETRIES} tries",
                code="ALIAS_SPACE_EXHAUSTED",
            )
        if fp_key is not None:
            holder = self._volatile.claim_fingerprint(vault.id, fp_key, alias, ttl)
            if holder is not None and holder != alias:
                if self._volatile.touch(vault.id, holder, ttl):
                    self._volatile.delete_many(vault.id, [alias])
                    return self._volatile_record(value, holder, item.format), "deduplicated"
                self._volatile.set_fingerprint(vault.id, fp_key, alias, ttl)
        return self._volatile_record(value, alias, item.format), "created"
