"""A vault's row as the service uses it (read per call, cached within SQLite batches)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Row

from vaultswitch.vault.core import rawsql
from vaultswitch.vault.core.models import VaultInfo


@dataclass(frozen=True, slots=True)
class VaultRow:
    id: str
    name: str
    reveal_enabled: bool
    fingerprinting: bool
    environment: str
    key_version: int
    fingerprint_key: bytes
    created_at: datetime | str  # SQLite rows keep the stored text until info() needs it

    def info(self) -> VaultInfo:
        created = rawsql.parse_ts(self.created_at)
        assert created is not None
        return VaultInfo(
            vault_id=self.id,
            name=self.name,
            reveal_enabled=self.reveal_enabled,
            fingerprinting=self.fingerprinting,
            environment=self.environment,
            created_at=created,
            key_version=self.key_version,
        )


def vault_from_row(row: Row[Any]) -> VaultRow:
    return VaultRow(
        id=row.id,
        name=row.name,
        reveal_enabled=bool(row.reveal_enabled),
        fingerprinting=bool(row.fingerprinting),
        environment=row.environment,
        key_version=int(row.key_version),
        fingerprint_key=bytes(row.fingerprint_key),
        created_at=row.created_at,
    )
