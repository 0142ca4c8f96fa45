"""Service accounts (OAuth clients, v2 API) and access credentials (HTTP Basic, v1 API)."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from vaultswitch.domain.secret import Secret
from vaultswitch.vault.core import crypto
from vaultswitch.vault.core.base import ServiceCore
from vaultswitch.vault.core.errors import BadRequest
from vaultswitch.vault.core.models import SCOPES, AccessCredential, ServiceAccount
from vaultswitch.vault.core.store import access_credentials, as_utc, service_accounts, utcnow
from vaultswitch.vault.core.values import compact_json, random_base58

MIN_TOKEN_LIFESPAN = 60
PEPPER_SECRET_NAME = "credential-pepper"  # noqa: S105 - a name, not a secret


def _account_from_row(row: Row[Any]) -> ServiceAccount:
    created = as_utc(row.created_at)
    assert created is not None
    return ServiceAccount(
        client_id=row.client_id,
        name=row.name,
        vault_ids=tuple(json.loads(row.vault_ids)),
        scopes=tuple(json.loads(row.scopes)),
        token_lifespan=int(row.token_lifespan),
        disabled=bool(row.disabled),
        created_at=created,
    )


def _credential_from_row(row: Any) -> AccessCredential:
    created = as_utc(row.created_at)
    assert created is not None
    return AccessCredential(username=row.username, vault_id=row.vault_id, created_at=created)


class AccountsMixin(ServiceCore):
    """Creating, listing, disabling and authenticating service accounts and credentials."""

    def _pepper(self) -> bytes:
        return self.server_secret(PEPPER_SECRET_NAME, crypto.generate_key)

    # ------------------------------------------------------------------ service accounts

    def create_service_account(
        self,
        vault_ids: Sequence[str],
        scopes: Sequence[str] = SCOPES,
        token_lifespan: int | None = None,
        name: str | None = None,
    ) -> tuple[ServiceAccount, Secret]:
        """Create an OAuth client bound to vaults; the secret is returned once, stored hashed."""
        if isinstance(vault_ids, str):
            vault_ids = [vault_ids]
        vids = tuple(dict.fromkeys(vault_ids))
        if not vids:
            raise BadRequest("vault_ids: at least one vault is required", code="INVALID_REQUEST")
        bad = [s for s in scopes if s not in SCOPES]
        if bad or not scopes:
            raise BadRequest(
                f"scopes: use one or more of {', '.join(SCOPES)}", code="INVALID_SCOPE"
            )
        lifespan = (
            self.settings.default_token_lifespan if token_lifespan is None else token_lifespan
        )
        if lifespan < MIN_TOKEN_LIFESPAN:
            raise BadRequest(
                f"token_lifespan: must be at least {MIN_TOKEN_LIFESPAN} seconds",
                code="INVALID_TOKEN_LIFESPAN",
            )
        pepper = self._pepper()
        client_id = "AC" + random_base58(20)
        secret = secrets.token_urlsafe(32)
        now = utcnow()

        def run(conn: Connection) -> ServiceAccount:
            for vid in vids:
                self._vault(conn, vid)
            conn.execute(
                service_accounts.insert().values(
                    client_id=client_id,
                    name=(name or client_id)[:255],
                    secret_hash=crypto.hash_secret(pepper, secret),
                    vault_ids=compact_json(vids),
                    scopes=compact_json(tuple(dict.fromkeys(scopes))),
                    token_lifespan=lifespan,
                    disabled=False,
                    created_at=now,
                )
            )
            row = conn.execute(
                sa.select(service_accounts).where(service_accounts.c.client_id == client_id)
            ).one()
            return _account_from_row(row)

        return self._run(run), Secret(secret)

    def get_service_account(self, client_id: str) -> ServiceAccount | None:
        with self._tx() as conn:
            row = conn.execute(
                sa.select(service_accounts).where(service_accounts.c.client_id == client_id)
            ).first()
        return None if row is None else _account_from_row(row)

    def list_service_accounts(self, vault_id: str | None = None) -> list[ServiceAccount]:
        """Every account, oldest first; with vault_id those assigned to that vault."""
        with self._read() as conn:
            if vault_id is not None:
                self._vault(conn, vault_id)  # VaultNotFoundError for an unknown vault
            rows = conn.execute(
                sa.select(service_accounts).order_by(
                    service_accounts.c.created_at, service_accounts.c.client_id
                )
            ).all()
        accounts = [_account_from_row(r) for r in rows]
        return [a for a in accounts if vault_id is None or vault_id in a.vault_ids]

    def set_service_account_disabled(self, client_id: str, disabled: bool) -> ServiceAccount:
        """Disable (or re-enable) a service account; raises BadRequest if unknown."""
        with self._tx() as conn:
            n = conn.execute(
                service_accounts.update()
                .where(service_accounts.c.client_id == client_id)
                .values(disabled=disabled)
            ).rowcount
            if not n:
                raise BadRequest(
                    f"service account {client_id[:64]} not found", code="CLIENT_NOT_FOUND"
                )
            row = conn.execute(
                sa.select(service_accounts).where(service_accounts.c.client_id == client_id)
            ).one()
            return _account_from_row(row)

    def authenticate_client(self, client_id: str, client_secret: str) -> ServiceAccount | None:
        """The account if the secret matches and it is enabled, else None (constant-time)."""
        pepper = self._pepper()
        with self._tx() as conn:
            row = conn.execute(
                sa.select(service_accounts).where(service_accounts.c.client_id == client_id)
            ).first()
        stored = bytes(row.secret_hash) if row is not None else b"\x00" * 32
        ok = crypto.verify_secret(pepper, client_secret, stored)
        if row is None or not ok or row.disabled:
            return None
        return _account_from_row(row)

    # ------------------------------------------------------------------ access credentials

    def create_access_credentials(self, vault_id: str) -> tuple[str, Secret]:
        """HTTP Basic credentials for the v1 API / proxy of one vault (password shown once)."""
        pepper = self._pepper()
        username = "US" + random_base58(22)
        password = str(uuid.uuid4())

        def run(conn: Connection) -> None:
            self._vault(conn, vault_id)
            conn.execute(
                access_credentials.insert().values(
                    username=username,
                    vault_id=vault_id,
                    password_hash=crypto.hash_secret(pepper, password),
                    created_at=utcnow(),
                )
            )

        self._run(run)
        return username, Secret(password)

    def list_access_credentials(self, vault_id: str | None = None) -> list[AccessCredential]:
        """Every v1 credential (never its password or hash), oldest first; or of one vault."""
        stmt = sa.select(
            access_credentials.c.username,
            access_credentials.c.vault_id,
            access_credentials.c.created_at,
        ).order_by(access_credentials.c.created_at, access_credentials.c.username)
        with self._read() as conn:
            if vault_id is not None:
                self._vault(conn, vault_id)  # VaultNotFoundError for an unknown vault
                stmt = stmt.where(access_credentials.c.vault_id == vault_id)
            rows = conn.execute(stmt).all()
        return [_credential_from_row(r) for r in rows]

    def revoke_access_credentials(self, username: str) -> AccessCredential:
        """Delete v1 credentials: the next request made with them gets 401."""

        def run(conn: Connection) -> AccessCredential:
            row = conn.execute(
                sa.select(
                    access_credentials.c.username,
                    access_credentials.c.vault_id,
                    access_credentials.c.created_at,
                ).where(access_credentials.c.username == username)
            ).first()
            if row is None:
                raise BadRequest(
                    f"access credentials {username[:64]} not found", code="CREDENTIALS_NOT_FOUND"
                )
            conn.execute(
                access_credentials.delete().where(access_credentials.c.username == username)
            )
            return _credential_from_row(row)

        return self._run(run)

    def has_access_credentials(self, username: str) -> bool:
        """Whether a v1 access-credential username exists (to record failures without it)."""
        with self._read() as conn:
            found = conn.execute(
                sa.select(access_credentials.c.username).where(
                    access_credentials.c.username == username
                )
            ).first()
        return found is not None

    def authenticate_access_credentials(self, username: str, password: str) -> str | None:
        """The vault id the credentials belong to, or None."""
        pepper = self._pepper()
        with self._tx() as conn:
            row = conn.execute(
                sa.select(access_credentials.c.vault_id, access_credentials.c.password_hash).where(
                    access_credentials.c.username == username
                )
            ).first()
        stored = bytes(row.password_hash) if row is not None else b"\x00" * 32
        ok = crypto.verify_secret(pepper, password, stored)
        return str(row.vault_id) if row is not None and ok else None
