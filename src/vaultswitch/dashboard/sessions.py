"""Control-center sessions: an encrypted, expiring cookie (no server-side table).

The cookie holds a :class:`Session` sealed with AES-256-GCM under a key derived from the
orchestrator's master key (``keyring.derive("dashboard-session")``), so it can be neither
read nor forged in the browser, and every orchestrator worker can open it. What it holds:
the CSRF token, and for a signed-in browser who it is (a merchant API key's id and its
merchant, or a fingerprint of the admin key), when it signed in and when it was last used.

A session ends when it has been idle for :data:`IDLE_SECONDS` (each page renews the cookie),
:data:`LIFETIME_SECONDS` after sign-in whatever happens, on sign out (the cookie is
deleted), and at once when its API key is revoked or expires or the admin key changes
(every request checks them). The cookie is ``HttpOnly``, ``SameSite=Strict``, scoped to
``/dashboard/``, and ``Secure`` when the page is served over TLS.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass, replace
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

COOKIE_NAME = "vs_dashboard"
COOKIE_PATH = "/dashboard/"
IDLE_SECONDS = 30 * 60
LIFETIME_SECONDS = 12 * 60 * 60
_AAD = b"vaultswitch dashboard session v1"
_NONCE_BYTES = 12
_MAX_COOKIE_CHARS = 4000

Kind = Literal["anonymous", "merchant", "admin"]


@dataclass(frozen=True, slots=True)
class Session:
    """What the cookie holds. ``anonymous``: only the CSRF token of the sign-in form."""

    csrf: str
    kind: Kind = "anonymous"
    merchant_id: str | None = None  # merchant sessions; admin sessions acting for a merchant
    key_id: str | None = None  # merchant sessions: the API key signed in with
    admin_check: str | None = None  # admin sessions: fingerprint of the admin key
    signed_in_at: int = 0
    seen_at: int = 0

    def __repr__(self) -> str:
        return f"Session(kind={self.kind!r}, merchant_id={self.merchant_id!r})"

    @property
    def signed_in(self) -> bool:
        return self.kind != "anonymous"

    def touched(self, now: int) -> Session:
        return replace(self, seen_at=now)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def anonymous(now: int) -> Session:
    return Session(csrf=new_csrf_token(), signed_in_at=now, seen_at=now)


def now_seconds() -> int:
    return int(time.time())


def admin_fingerprint(key: bytes, admin_api_key: str) -> str:
    """Which admin key a session signed in with (a keyed digest: the key is not in it)."""
    return hmac.new(key, admin_api_key.encode(), hashlib.sha256).hexdigest()[:32]


class SessionCodec:
    """Seals sessions into cookie values and opens them, refusing expired ones."""

    def __init__(
        self,
        key: bytes,
        *,
        idle_seconds: int = IDLE_SECONDS,
        lifetime_seconds: int = LIFETIME_SECONDS,
    ) -> None:
        self._aead = AESGCM(key)
        self._fingerprint_key = hashlib.sha256(b"admin fingerprint|" + key).digest()
        self.idle_seconds = idle_seconds
        self.lifetime_seconds = lifetime_seconds

    def __repr__(self) -> str:
        return "SessionCodec()"

    def admin_check(self, admin_api_key: str) -> str:
        return admin_fingerprint(self._fingerprint_key, admin_api_key)

    def encode(self, session: Session) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        plain = json.dumps(asdict(session), separators=(",", ":")).encode()
        sealed = nonce + self._aead.encrypt(nonce, plain, _AAD)
        return base64.urlsafe_b64encode(sealed).decode().rstrip("=")

    def decode(self, value: str | None, now: int) -> Session | None:
        """The session in a cookie value; None when missing, forged, damaged or expired."""
        if not value or len(value) > _MAX_COOKIE_CHARS:
            return None
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _AAD)
            data = json.loads(plain)
            session = Session(**data)
        except (binascii.Error, ValueError, TypeError, InvalidTag):
            return None
        if not isinstance(session.csrf, str) or not session.csrf:
            return None
        if now - session.seen_at > self.idle_seconds:
            return None
        if now - session.signed_in_at > self.lifetime_seconds:
            return None
        if session.seen_at > now + 60:  # from the future: not ours
            return None
        return session
