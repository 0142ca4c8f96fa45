"""What an access token says about itself: its scopes and when it was issued.

VGS tokens are JWTs; their payload is read here *without verifying the signature* (only
the auth host could, and a doctor need not: it only reports what the token claims). A
token that is not a JWT simply has no claims.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: The scope each vault flow needs (VGS Vault API v2).
FLOW_SCOPES: tuple[tuple[str, str], ...] = (
    ("insert", "aliases:write"),
    ("retrieve", "aliases:read"),
    ("delete", "aliases:delete"),
)
FLOW_LABELS = {
    "insert": "insert (saving cards)",
    "retrieve": "retrieve (reveal for payments)",
    "delete": "delete",
}


def jwt_payload(token: str) -> dict[str, Any] | None:
    """The claims of a JWT (header.payload.signature, base64url), unverified; None when
    ``token`` is not one."""
    parts = token.strip().split(".")
    if len(parts) != 3 or not parts[1]:
        return None
    segment = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        payload = json.loads(base64.urlsafe_b64decode(segment.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeError):
        return None
    return payload if isinstance(payload, dict) else None


def _scope_words(value: Any) -> frozenset[str] | None:
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    return None


def granted_scopes(
    grant_scope: str | None, claims: Mapping[str, Any] | None
) -> frozenset[str] | None:
    """The token's scopes: the ``scope`` of the token answer, else the JWT's ``scope``
    (space-separated) or ``scp`` (a list) claim; None when neither says."""
    if grant_scope is not None and grant_scope.strip():
        return frozenset(grant_scope.split())
    if claims is None:
        return None
    for key in ("scope", "scp"):
        words = _scope_words(claims.get(key))
        if words is not None:
            return words
    return None


def _has(scopes: frozenset[str], needed: str) -> bool:
    """``needed`` is granted, itself or through a ``prefix:*`` wildcard."""
    resource = needed.split(":", 1)[0]
    return needed in scopes or f"{resource}:*" in scopes


def failing_flows(scopes: Iterable[str]) -> list[tuple[str, str]]:
    """(flow, missing scope) for every flow the scopes do not allow, in flow order."""
    granted = frozenset(scopes)
    return [(flow, scope) for flow, scope in FLOW_SCOPES if not _has(granted, scope)]


@dataclass(frozen=True, slots=True)
class Skew:
    """How far this machine's clock is from the issuer's: positive when it is ahead."""

    seconds: float

    @property
    def direction(self) -> str:
        return "ahead of" if self.seconds > 0 else "behind"


def issued_at(claims: Mapping[str, Any] | None) -> float | None:
    """The ``iat`` claim (seconds since the epoch), or None when absent or not a number."""
    if claims is None:
        return None
    value = claims.get("iat")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def clock_skew(iat: float, received_at: float) -> Skew:
    """The skew shown by a token received at local time ``received_at`` and issued at
    ``iat``. ``iat`` has one-second resolution and the token took a moment to arrive, so a
    skew of a second or two is noise."""
    return Skew(received_at - iat)
