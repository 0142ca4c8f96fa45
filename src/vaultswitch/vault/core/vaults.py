"""Vault administration: create, get, list, switch reveal on or off."""

from __future__ import annotations

import re
import secrets

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection

from vaultswitch.vault.core import crypto
from vaultswitch.vault.core.base import ServiceCore
from vaultswitch.vault.core.errors import BadRequest, Conflict
from vaultswitch.vault.core.models import VaultInfo
from vaultswitch.vault.core.store import data_keys, insert_ignore, utcnow, vaults
from vaultswitch.vault.core.vault_row import vault_from_row

log = structlog.get_logger(__name__)

_VAULT_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{2,31}")
_LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


class VaultsMixin(ServiceCore):
    """Creating and administering vaults."""

    def create_vault(
        self,
        name: str | None = None,
        *,
        reveal_enabled: bool = True,
        fingerprinting: bool = True,
        vault_id: str | None = None,
    ) -> VaultInfo:
        """Create a vault with its first data key and its fingerprint key."""
        if vault_id is not None and not _VAULT_ID_RE.fullmatch(vault_id):
            raise BadRequest(
                "vault_id: 3-32 lowercase letters, digits or '-', starting with a letter or digit",
                code="INVALID_VAULT_ID",
            )
        vid = vault_id or "tnt" + "".join(secrets.choice(_LOWER_ALNUM) for _ in range(8))
        if name is not None and not 0 < len(name) <= 255:
            raise BadRequest("name: 1-255 characters", code="INVALID_REQUEST")
        data_key = crypto.generate_key()
        fp_key = crypto.generate_key()
        now = utcnow()

        def run(conn: Connection) -> VaultInfo:
            self._assert_master_current(conn)
            row = {
                "id": vid,
                "name": name or vid,
                "reveal_enabled": reveal_enabled,
                "fingerprinting": fingerprinting,
                "environment": self.settings.environment,
                "key_version": 1,
                "fingerprint_key": self._master.wrap(fp_key, crypto.fingerprint_key_aad(vid)),
                "created_at": now,
            }
            if not insert_ignore(conn, vaults, row):
                raise Conflict(f"vault {vid} already exists", code="VAULT_EXISTS")
            conn.execute(
                data_keys.insert().values(
                    vault_id=vid,
                    version=1,
                    wrapped=self._master.wrap(data_key, crypto.data_key_aad(vid, 1)),
                    created_at=now,
                )
            )
            return self._vault(conn, vid).info()

        info = self._run(run)
        log.info("vault.created", vault_id=vid, fingerprinting=fingerprinting)
        return info

    def get_vault(self, vault_id: str) -> VaultInfo:
        with self._tx() as conn:
            return self._vault(conn, vault_id).info()

    def list_vaults(self) -> list[VaultInfo]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(vaults).order_by(vaults.c.created_at, vaults.c.id))
            return [vault_from_row(r).info() for r in rows]

    def set_reveal(self, vault_id: str, enabled: bool) -> VaultInfo:
        """Switch the reveal API on or off for a vault."""
        with self._tx() as conn:
            self._vault(conn, vault_id)
            conn.execute(
                vaults.update().where(vaults.c.id == vault_id).values(reveal_enabled=enabled)
            )
            self._vault_cache.clear()
            return self._vault(conn, vault_id).info()
