"""What every alias operation shares: storage kinds, argument checks, opening records.

The operations themselves: ``aliases_create.py`` (create, also by reference),
``aliases_reveal.py`` (reveal), ``aliases_change.py`` (update classifiers, delete).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from vaultswitch.domain.secret import Secret
from vaultswitch.vault.core import crypto, formats, rawsql
from vaultswitch.vault.core.base import ServiceCore
from vaultswitch.vault.core.errors import AliasNotFoundError, BadRequest
from vaultswitch.vault.core.models import (
    MAX_CLASSIFIER_LENGTH,
    MAX_CLASSIFIERS,
    STORAGES,
    AliasInfo,
    AliasReference,
    Record,
)
from vaultswitch.vault.core.store import aliases as alias_table
from vaultswitch.vault.core.volatile import VolatileEntry

PERSISTENT = "PERSISTENT"
VOLATILE = "VOLATILE"
_SEL_RECORD_ALIASES = (
    sa.select(alias_table.c.alias, alias_table.c.format)
    .where(alias_table.c.record_id == sa.bindparam("rid"))
    .order_by(alias_table.c.created_at, alias_table.c.alias)
)


def check_storage(storage: str, field: str = "storage") -> str:
    """Raise BadRequest unless storage is PERSISTENT or VOLATILE."""
    if storage not in STORAGES:
        raise BadRequest(f"{field}: must be PERSISTENT or VOLATILE", code="INVALID_STORAGE")
    return storage


def check_classifiers(classifiers: Sequence[str], field: str = "classifiers") -> tuple[str, ...]:
    """Classifiers are short non-empty strings (MAX_CLASSIFIERS of MAX_CLASSIFIER_LENGTH)."""
    if isinstance(classifiers, str):
        raise BadRequest(f"{field}: must be a list of strings", code="INVALID_CLASSIFIERS")
    result = tuple(classifiers)
    if len(result) > MAX_CLASSIFIERS:
        raise BadRequest(
            f"{field}: at most {MAX_CLASSIFIERS} classifiers are allowed",
            code="INVALID_CLASSIFIERS",
        )
    for j, tag in enumerate(result):
        if not isinstance(tag, str) or not tag or len(tag) > MAX_CLASSIFIER_LENGTH:
            raise BadRequest(
                f"{field}[{j}]: a classifier is a string of 1-{MAX_CLASSIFIER_LENGTH} characters",
                code="INVALID_CLASSIFIERS",
            )
    return result


class AliasSupport(ServiceCore):
    """Helpers shared by the alias operations (PERSISTENT and VOLATILE)."""

    @staticmethod
    def _check_reference_format(item: AliasReference, value: str, index: int) -> None:
        try:
            formats.validate_value_for_format(item.format, value)
        except BadRequest:
            raise BadRequest(
                f"data[{index}].format: the value of alias {item.alias} does not fit "
                f"{item.format} ({item.format} needs {formats.format_rule(item.format)})",
                code="INVALID_VALUE",
            ) from None

    def _record_aliases(self, conn: Connection, record_id: str) -> tuple[AliasInfo, ...]:
        raw = self._raw(conn)
        if raw is not None:
            found = raw.execute(rawsql.SEL_RECORD_ALIASES, (record_id,)).fetchall()
            return tuple(AliasInfo(alias, fmt) for alias, fmt in found)
        rows = conn.execute(_SEL_RECORD_ALIASES, {"rid": record_id})
        return tuple(AliasInfo(r.alias, r.format) for r in rows)

    def _open_record(
        self, conn: Connection, vault_id: str, record_id: str, version: int, blob: bytes
    ) -> str:
        key = self._data_key(conn, vault_id, version)
        return key.open(bytes(blob), crypto.value_aad(vault_id, record_id)).decode("utf-8")

    @staticmethod
    def _volatile_record(value: str, alias: str, fmt: str) -> Record:
        return Record(
            value=Secret(value),
            classifiers=(),
            aliases=(AliasInfo(alias, fmt),),
            created_at=None,
            storage=VOLATILE,
        )

    def _open_volatile(
        self, conn: Connection, vault_id: str, alias: str, entry: VolatileEntry
    ) -> str:
        key = self._data_key(conn, vault_id, entry.key_version)
        return key.open(entry.sealed, crypto.volatile_aad(vault_id, alias)).decode("utf-8")

    def _unique_aliases(self, alias_list: Sequence[str], what: str) -> list[str]:
        if isinstance(alias_list, str):
            alias_list = [alias_list]
        self._check_count(len(alias_list), what)
        unique = list(dict.fromkeys(alias_list))
        for i, alias in enumerate(unique):
            if not isinstance(alias, str) or not formats.is_alias_shaped(alias):
                raise BadRequest(f"{what}[{i}]: not a valid alias", code="INVALID_ALIAS")
        return unique

    @staticmethod
    def _not_found(missing: Sequence[str]) -> AliasNotFoundError:
        noun = "alias" if len(missing) == 1 else "aliases"
        return AliasNotFoundError(f"{noun} not found: {', '.join(missing)}")
