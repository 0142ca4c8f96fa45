"""OAuth2 client-credentials token endpoint (Keycloak-shaped) and RS256 JWT access tokens.

The RSA key pair lives in the database as a server secret (sealed by the master
key), so every worker process signs and verifies with the same key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote

import anyio.to_thread
import jwt
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request
from starlette.responses import Response

from vaultswitch.vault.core.log_refs import LogRefs
from vaultswitch.vault.core.models import SCOPES, AuditEvent, ServiceAccount
from vaultswitch.vault.core.service import VaultService
from vaultswitch.vault.http.wire import JSONBody, can_be_identifier, read_body

log = structlog.get_logger(__name__)

REALM_PATH = "/auth/realms/vgs/protocol/openid-connect"
TOKEN_PATH = f"{REALM_PATH}/token"
CERTS_PATH = f"{REALM_PATH}/certs"
SIGNING_KEY_NAME = "oauth-rs256-private-key"
MAX_FORM_BYTES = 16_384
ISSUER = "vaultswitch/auth/realms/vgs"


class InvalidToken(Exception):
    """The bearer token is malformed, forged or expired (message is safe to show)."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """The verified parts of an access token that authorisation needs."""

    client_id: str
    vault_ids: frozenset[str]
    scopes: frozenset[str]
    expires_at: int


def _new_private_key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _b64url_uint(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class TokenIssuer:
    """Signs and verifies RS256 access tokens with the shared server key."""

    def __init__(self, service: VaultService) -> None:
        pem = service.server_secret(SIGNING_KEY_NAME, _new_private_key_pem)
        private = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(private, rsa.RSAPrivateKey):
            raise TypeError("the stored OAuth signing key is not an RSA key")
        self._private = private
        self._public = private.public_key()
        der = self._public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = hashlib.sha256(der).hexdigest()[:16]

    def issue(self, account: ServiceAccount, scopes: tuple[str, ...]) -> tuple[str, int]:
        """A signed token for account; returns (token, expires_in)."""
        now = int(time.time())
        lifespan = account.token_lifespan
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": account.client_id,
            "azp": account.client_id,
            "typ": "Bearer",
            "iat": now,
            "exp": now + lifespan,
            "jti": secrets.token_hex(8),
            "scope": " ".join(scopes),
            "vaults": list(account.vault_ids),
        }
        token = jwt.encode(claims, self._private, algorithm="RS256", headers={"kid": self.kid})
        return token, lifespan

    def verify(self, token: str) -> TokenClaims:
        """Check signature, expiry and shape; raise InvalidToken otherwise."""
        try:
            claims = jwt.decode(
                token,
                self._public,
                algorithms=["RS256"],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "azp", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("access token has expired; request a new one") from None
        except jwt.PyJWTError:
            raise InvalidToken("access token is not valid") from None
        vaults = claims.get("vaults")
        scope = claims.get("scope")
        azp = claims.get("azp")
        if not isinstance(vaults, list) or not isinstance(scope, str) or not isinstance(azp, str):
            raise InvalidToken("access token is not valid")
        return TokenClaims(
            client_id=azp,
            vault_ids=frozenset(str(v) for v in vaults),
            scopes=frozenset(scope.split()),
            expires_at=int(claims["exp"]),
        )

    def jwks(self) -> dict[str, Any]:
        """The public key as a JWK set (like Keycloak's /certs)."""
        numbers = self._public.public_numbers()
        return {
            "keys": [
                {
                    "kid": self.kid,
                    "kty": "RSA",
                    "alg": "RS256",
                    "use": "sig",
                    "n": _b64url_uint(numbers.n),
                    "e": _b64url_uint(numbers.e),
                }
            ]
        }


def oauth_error(
    status: int, error: str, description: str, headers: dict[str, str] | None = None
) -> Response:
    """Keycloak's error body: {"error", "error_description"}."""
    base = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    base.update(headers or {})
    return JSONBody(
        {"error": error, "error_description": description}, status_code=status, headers=base
    )


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    """client_id/secret from `Authorization: Basic` (RFC 6749 2.3.1 form-encoding undone)."""
    if not header:
        return None
    scheme, _, param = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(param.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return ("", "")
    user, sep, password = decoded.partition(":")
    if not sep:
        return ("", "")
    return unquote(user.replace("+", " ")), unquote(password.replace("+", " "))


class TokenEndpoint:
    """POST /auth/realms/vgs/protocol/openid-connect/token (grant client_credentials).

    A failed request is logged and audited under the client id when it names an account,
    else under ``unknown:<digest>`` (a swapped id and secret must not write the secret down).
    """

    def __init__(self, service: VaultService, issuer: TokenIssuer, refs: LogRefs) -> None:
        self._service = service
        self._issuer = issuer
        self._refs = refs

    def _failed_actor(self, client_id: str) -> str:
        known = (
            can_be_identifier(client_id)
            and self._service.get_service_account(client_id) is not None
        )
        return self._refs.actor(client_id, known=known)

    async def handle(self, request: Request) -> Response:
        state = request.scope["vs"]
        if request.method != "POST":
            return oauth_error(405, "invalid_request", "HTTP method not allowed; use POST")
        media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media != "application/x-www-form-urlencoded":
            return oauth_error(
                400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded"
            )
        try:
            raw = await read_body(
                request.receive, request.headers.get("content-length"), MAX_FORM_BYTES
            )
            form = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except Exception:
            return oauth_error(400, "invalid_request", "request body is not a valid form")

        def field(name: str) -> str | None:
            values = form.get(name)
            return values[0] if values else None

        grant_type = field("grant_type")
        if not grant_type:
            return oauth_error(400, "invalid_request", "Missing form parameter: grant_type")
        if grant_type != "client_credentials":
            return oauth_error(400, "unsupported_grant_type", "Unsupported grant_type")

        basic = _basic_credentials(request.headers.get("authorization"))
        client_id, client_secret = field("client_id"), field("client_secret")
        if basic is not None:
            if client_id and client_id != basic[0]:
                return oauth_error(
                    400, "invalid_request", "client_id in the form and in Basic auth differ"
                )
            client_id, client_secret = basic
        if not client_id:
            return oauth_error(400, "invalid_request", "Missing parameter: client_id")
        if not client_secret:
            return oauth_error(400, "invalid_request", "Missing parameter: client_secret")
        account = (
            await anyio.to_thread.run_sync(
                self._service.authenticate_client, client_id, client_secret
            )
            if can_be_identifier(client_id)
            else None
        )
        source = request.client.host if request.client else None
        if account is None or account.disabled:
            actor = await anyio.to_thread.run_sync(self._failed_actor, client_id)
            state.client_id = actor
            await self._audit(actor, None, "failure", source, state.trace_id, "invalid")
            headers = {"WWW-Authenticate": 'Basic realm="vgs"'} if basic is not None else None
            return oauth_error(
                401, "invalid_client", "Invalid client or Invalid client credentials", headers
            )

        state.client_id = account.client_id
        scopes = tuple(s for s in SCOPES if s in account.scopes) + tuple(
            s for s in account.scopes if s not in SCOPES
        )
        requested = field("scope")
        if requested:
            wanted = requested.split()
            unknown = [s for s in wanted if s not in scopes]
            if unknown:
                await self._audit(
                    account.client_id, None, "failure", source, state.trace_id, "invalid_scope"
                )
                return oauth_error(
                    400, "invalid_scope", "Invalid scopes: " + " ".join(unknown)[:200]
                )
            scopes = tuple(s for s in scopes if s in wanted)

        token, expires_in = self._issuer.issue(account, scopes)
        for vault_id in account.vault_ids or (None,):
            await self._audit(account.client_id, vault_id, "success", source, state.trace_id, None)
        return JSONBody(
            {
                "access_token": token,
                "expires_in": expires_in,
                "refresh_expires_in": 0,
                "token_type": "Bearer",
                "not-before-policy": 0,
                "scope": " ".join(scopes),
            },
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    async def _audit(
        self,
        actor: str,
        vault_id: str | None,
        outcome: str,
        source: str | None,
        trace_id: str,
        detail: str | None,
    ) -> None:
        event = AuditEvent(
            id=None,
            at=datetime.now(UTC),
            actor=actor,
            vault_id=vault_id,
            action="token.issue",
            alias=None,
            outcome=outcome,
            source=source,
            trace_id=trace_id,
            detail=detail,
        )
        await anyio.to_thread.run_sync(self._service.audit, event)
