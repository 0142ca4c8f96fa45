"""Who is calling: FastAPI dependencies for Hyperswitch v2's auth headers.

- ``Admin``: ``Authorization: admin-api-key=<key>`` (no merchant).
- ``AdminMerchant``: the admin key plus ``X-Merchant-Id`` → a :class:`Caller` for that
  merchant (its default profile, or ``X-Profile-Id`` when sent).
- ``Merchant``: ``Authorization: api-key=<key>`` (or v1's ``api-key: <key>`` header) →
  the key's merchant; ``X-Profile-Id`` selects one of its profiles, default: the
  merchant's default profile.
- ``MerchantOrAdmin``: either of the two above.

A handler declares what it needs and gets a :class:`Caller`::

    @router.get("/v2/customers/{customer_id}")
    async def retrieve(customer_id: str, ctx: Ctx, caller: Merchant) -> ...:
        ...  # caller.merchant.id, caller.profile (a Profile record)

An unknown profile id and one of another merchant both answer 404.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request
from sqlalchemy.engine import Connection

from .context import AppContext, app_context
from .db import utcnow
from .errors import ApiError, missing_header, not_found, unauthorized
from .repos import api_keys as api_keys_repo
from .repos import merchants as merchants_repo
from .repos import profiles as profiles_repo
from .repos.merchants import Merchant as MerchantRecord
from .repos.profiles import Profile

ADMIN_PREFIX = "admin-api-key="
API_KEY_PREFIX = "api-key="
MERCHANT_HEADER = "X-Merchant-Id"
PROFILE_HEADER = "X-Profile-Id"


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated request for one merchant and one of its profiles."""

    merchant: MerchantRecord
    profile: Profile
    via: Literal["admin", "api_key"]
    key_id: str | None = None

    @property
    def merchant_id(self) -> str:
        return self.merchant.id

    @property
    def profile_id(self) -> str:
        return self.profile.id


def _auth_part(request: Request, prefix: str) -> str | None:
    """The value of the comma-separated ``Authorization`` part starting with ``prefix``."""
    header = request.headers.get("authorization")
    if not header:
        return None
    for part in header.split(","):
        part = part.strip()
        if part.startswith(prefix):
            return part[len(prefix) :].strip()
    return None


def _is_admin_request(request: Request) -> bool:
    return _auth_part(request, ADMIN_PREFIX) is not None


def _check_admin(request: Request, ctx: AppContext) -> None:
    given = _auth_part(request, ADMIN_PREFIX)
    if given is None:
        raise unauthorized(
            "Admin API key not provided",
            "Send `Authorization: admin-api-key=<key>`; `vaultswitch up` prints the key and "
            "writes it to up.json, `vaultswitch orchestrator serve` keeps it in "
            "<data dir>/admin.key.",
        )
    if not hmac.compare_digest(given.encode(), ctx.admin_api_key.reveal().encode()):
        raise unauthorized(
            "Invalid admin API key",
            "Use the admin key of this orchestrator (VAULTSWITCH_ORCHESTRATOR_ADMIN_API_KEY or "
            "<data dir>/admin.key).",
        )


def _header_id(request: Request, name: str) -> str | None:
    value = request.headers.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _select_profile(conn: Connection, merchant: MerchantRecord, wanted: str | None) -> Profile:
    profile = profiles_repo.get(conn, merchant.id, wanted or merchant.default_profile_id)
    if profile is None:
        raise not_found("Profile", f"Check the {PROFILE_HEADER} header: no such profile.")
    return profile


async def require_admin(request: Request) -> None:
    _check_admin(request, app_context(request))


async def admin_merchant(request: Request) -> Caller:
    ctx = app_context(request)
    _check_admin(request, ctx)
    merchant_id = _header_id(request, MERCHANT_HEADER)
    if merchant_id is None:
        raise missing_header(
            MERCHANT_HEADER,
            f"Admin requests on a merchant's objects name it with `{MERCHANT_HEADER}: <merchant "
            "id>` (the id POST /v2/merchant-accounts answered).",
        )
    wanted_profile = _header_id(request, PROFILE_HEADER)

    def load(conn: Connection) -> Caller:
        merchant = merchants_repo.get(conn, merchant_id)
        if merchant is None:
            raise not_found("Merchant account", f"Check the {MERCHANT_HEADER} header.")
        return Caller(merchant, _select_profile(conn, merchant, wanted_profile), "admin")

    return await ctx.db.read(load)


def _merchant_key(request: Request) -> str | None:
    key = _auth_part(request, API_KEY_PREFIX)
    if key is None:
        v1 = request.headers.get("api-key")
        key = v1.strip() if v1 else None
    return key or None


async def merchant_api_key(request: Request) -> Caller:
    ctx = app_context(request)
    plaintext = _merchant_key(request)
    if plaintext is None:
        raise unauthorized(
            "API key not provided",
            "Send `Authorization: api-key=<key>` (or the v1 header `api-key: <key>`) with a key "
            "from POST /v2/api-keys.",
        )
    key_hash = ctx.keyring.hash_api_key(plaintext)
    wanted_profile = _header_id(request, PROFILE_HEADER)

    def load(conn: Connection) -> Caller:
        key = api_keys_repo.find_by_hash(conn, key_hash)
        if key is None or key.revoked_at is not None:
            raise unauthorized(
                "API key not provided or invalid API key used",
                "Check the key (it is shown once, when POST /v2/api-keys creates it); revoked "
                "keys stop working at once.",
            )
        if not key.usable(utcnow()):
            raise unauthorized(
                "API key has expired",
                'Create a new key with POST /v2/api-keys (expiration: "never" or a later date).',
            )
        merchant = merchants_repo.get(conn, key.merchant_id)
        if merchant is None:  # pragma: no cover - keys are deleted with their merchant
            raise unauthorized()
        return Caller(
            merchant, _select_profile(conn, merchant, wanted_profile), "api_key", key.key_id
        )

    return await ctx.db.read(load)


async def merchant_or_admin(request: Request) -> Caller:
    if _is_admin_request(request):
        return await admin_merchant(request)
    return await merchant_api_key(request)


Admin = Annotated[None, Depends(require_admin)]
AdminMerchant = Annotated[Caller, Depends(admin_merchant)]
Merchant = Annotated[Caller, Depends(merchant_api_key)]
MerchantOrAdmin = Annotated[Caller, Depends(merchant_or_admin)]

__all__ = [
    "Admin",
    "AdminMerchant",
    "ApiError",
    "Caller",
    "Merchant",
    "MerchantOrAdmin",
]
