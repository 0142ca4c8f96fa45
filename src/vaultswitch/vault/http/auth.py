"""Who is calling: Bearer access tokens (v2) or Basic access credentials (v1), with caches.

Verified tokens are cached by token until they expire (their service account is
re-checked at least every ACCOUNT_RECHECK_SECONDS); checked access credentials are
cached under a keyed digest (never the password) for a short time, which saves the
password check but not the look-up: revoked credentials fail on their next request.
Failures are never cached.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import time
from dataclasses import dataclass

import anyio.to_thread

from vaultswitch.vault.core.errors import Forbidden, Unauthorized, VaultNotFoundError
from vaultswitch.vault.core.log_refs import LogRefs
from vaultswitch.vault.core.service import VaultService
from vaultswitch.vault.http.oauth import InvalidToken, TokenIssuer
from vaultswitch.vault.http.wire import can_be_identifier

_CACHE_MAX = 50_000
BASIC_CACHE_SECONDS = 60.0
# (worded so that the log scrubber, which masks "Basic <credential>", leaves it readable)
_MALFORMED_BASIC = "malformed Basic auth: send base64 of username:password (access credentials)"
ACCOUNT_RECHECK_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller bound to one vault."""

    kind: str  # "bearer" or "basic"
    vault_id: str
    actor: str  # client id or access-credential username
    scopes: frozenset[str] | None  # None: every scope (v1 access credentials)

    def holds(self, scope: str) -> bool:
        """Whether the caller holds scope (v1 access credentials hold every scope)."""
        return self.scopes is None or scope in self.scopes

    def require(self, scope: str) -> None:
        """403 INSUFFICIENT_SCOPE unless the caller holds scope."""
        if not self.holds(scope):
            raise Forbidden(f"the access token lacks the {scope} scope", code="INSUFFICIENT_SCOPE")


def _purge(cache: dict[str, tuple[object, float]], now: float) -> None:
    for key in [k for k, (_, until) in cache.items() if until <= now]:
        del cache[key]
    if len(cache) >= _CACHE_MAX:
        cache.clear()


class RejectedCredentials(Unauthorized):
    """401 for Basic credentials; ``actor`` is how the request log may name the caller."""

    def __init__(self, detail: str, actor: str) -> None:
        super().__init__(detail)
        self.actor = actor


class Authenticator:
    """Turns an Authorization header (plus the vault named by host/path) into a Principal."""

    def __init__(self, service: VaultService, issuer: TokenIssuer, refs: LogRefs) -> None:
        self._service = service
        self._issuer = issuer
        self._refs = refs
        self._digest_key = os.urandom(32)
        self._bearer: dict[str, tuple[object, float]] = {}
        self._basic: dict[str, tuple[object, float]] = {}

    async def authenticate(self, authorization: str | None, tenant: str | None) -> Principal:
        """Raise Unauthorized / VaultNotFoundError (404 when the named vault does not exist)."""
        try:
            return await self._authenticate(authorization, tenant)
        except Unauthorized:
            if tenant is not None and not await self._vault_exists(tenant):
                raise VaultNotFoundError("vault not found") from None
            raise

    def cached(self, authorization: str | None, tenant: str | None) -> Principal | None:
        """The principal of a cached, unexpired Bearer token valid for tenant; else None.

        None means "ask :meth:`authenticate`", which also produces every error.
        """
        if not authorization or tenant is None:
            return None
        scheme, _, param = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return None
        cached = self._bearer.get(param.strip())
        if cached is None or cached[1] <= time.time():
            return None
        claims = cached[0]
        if not isinstance(claims, _Verified) or tenant not in claims.vault_ids:
            return None
        return Principal("bearer", tenant, claims.client_id, claims.scopes)

    async def _authenticate(self, authorization: str | None, tenant: str | None) -> Principal:
        if not authorization:
            raise Unauthorized(
                "missing Authorization header: send a Bearer access token "
                "or Basic vault access credentials"
            )
        scheme, _, param = authorization.partition(" ")
        scheme = scheme.lower()
        param = param.strip()
        if scheme == "bearer" and param:
            return await self._bearer_principal(param, tenant)
        if scheme == "basic" and param:
            return await self._basic_principal(param, tenant)
        raise Unauthorized("unsupported Authorization scheme: use Bearer or Basic")

    async def _bearer_principal(self, token: str, tenant: str | None) -> Principal:
        now = time.time()
        cached = self._bearer.get(token)
        if cached is not None and cached[1] > now:
            claims = cached[0]
            assert isinstance(claims, _Verified)
        else:
            try:
                verified = self._issuer.verify(token)
            except InvalidToken as exc:
                raise Unauthorized(str(exc)) from None
            account = await anyio.to_thread.run_sync(
                self._service.get_service_account, verified.client_id
            )
            if account is None or account.disabled:
                raise Unauthorized("the service account of this token is disabled or deleted")
            claims = _Verified(verified.client_id, verified.vault_ids, verified.scopes)
            until = min(float(verified.expires_at), now + ACCOUNT_RECHECK_SECONDS)
            if len(self._bearer) >= _CACHE_MAX:
                _purge(self._bearer, now)
            self._bearer[token] = (claims, until)
        if tenant is None:
            raise VaultNotFoundError(
                "no vault id in the request: use host tntxxxxxxxx.<host> "
                "or path prefix /tntxxxxxxxx/ with a Bearer token"
            )
        if tenant not in claims.vault_ids:
            raise Unauthorized("the access token is not valid for this vault")
        return Principal("bearer", tenant, claims.client_id, claims.scopes)

    async def _basic_principal(self, param: str, tenant: str | None) -> Principal:
        try:
            decoded = base64.b64decode(param, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise Unauthorized(_MALFORMED_BASIC) from None
        username, sep, password = decoded.partition(":")
        if not sep or not username or not password:
            raise Unauthorized(_MALFORMED_BASIC)
        if not can_be_identifier(username):  # names no account: refused without a query
            actor = self._refs.actor(username, known=False)
            raise RejectedCredentials("invalid vault access credentials", actor)
        key = hashlib.blake2b(decoded.encode(), key=self._digest_key, digest_size=32).hexdigest()
        now = time.time()
        cached = self._basic.get(key)
        if cached is not None and cached[1] > now:
            vault_id = cached[0]
            assert isinstance(vault_id, str)
            if not await anyio.to_thread.run_sync(self._service.has_access_credentials, username):
                self._basic.pop(key, None)  # revoked (`vault access-credentials revoke`)
                actor = self._refs.actor(username, known=False)
                raise RejectedCredentials("invalid vault access credentials", actor)
        else:
            found = await anyio.to_thread.run_sync(
                self._service.authenticate_access_credentials, username, password
            )
            if found is None:
                known = await anyio.to_thread.run_sync(
                    self._service.has_access_credentials, username
                )
                actor = self._refs.actor(username, known=known)
                raise RejectedCredentials("invalid vault access credentials", actor)
            vault_id = found
            if len(self._basic) >= _CACHE_MAX:
                _purge(self._basic, now)
            self._basic[key] = (vault_id, now + BASIC_CACHE_SECONDS)
        if tenant is not None and tenant != vault_id:
            raise Unauthorized("these access credentials are not valid for this vault")
        return Principal("basic", vault_id, username, None)

    async def _vault_exists(self, vault_id: str) -> bool:
        try:
            await anyio.to_thread.run_sync(self._service.get_vault, vault_id)
        except VaultNotFoundError:
            return False
        return True


@dataclass(frozen=True, slots=True)
class _Verified:
    client_id: str
    vault_ids: frozenset[str]
    scopes: frozenset[str]
