"""The in-memory record of authorizations and idempotency keys (a sandbox keeps no files).

Everything lives in one process's memory, so the processor runs as a single process
and forgets everything when it stops. The oldest records are dropped beyond
``max_records``. Only the card's brand, last four digits and expiry are kept.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vaultswitch.processor.errors import ApiError
from vaultswitch.processor.outcomes import AuthorizationStatus, DeclineCode


@dataclass(frozen=True, slots=True)
class Authorization:
    id: str
    account: str
    status: AuthorizationStatus
    decline_code: DeclineCode | None
    message: str | None
    amount: int
    currency: str
    reference: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    created: datetime

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "object": "authorization",
            "status": self.status.value,
            "amount": self.amount,
            "currency": self.currency,
            "reference": self.reference,
            "card": {
                "brand": self.brand,
                "last4": self.last4,
                "exp_month": self.exp_month,
                "exp_year": self.exp_year,
            },
            "created": self.created.isoformat().replace("+00:00", "Z"),
        }
        if self.decline_code is not None:
            body["decline_code"] = self.decline_code.value
            body["message"] = self.message
        return body


#: Letters only: a run of 12+ digits in an id could pass the Luhn check, and the log
#: scrubber would then mask it as if it were a card number.
_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz"


def random_id(prefix: str, length: int = 24) -> str:
    """``prefix`` + ``length`` random lower-case letters (24 letters: about 112 bits)."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def new_authorization_id() -> str:
    return random_id("auth_")


@dataclass(slots=True)
class _KeyEntry:
    fingerprint: bytes
    result: asyncio.Future[Authorization]


def idempotency_conflict() -> ApiError:
    return ApiError(
        422,
        "idempotency_key_reused",
        "this Idempotency-Key was already used with a different request body",
        field="Idempotency-Key",
        hint="Send a retry with exactly the same body, or use a new key for a new request.",
    )


class Ledger:
    """Authorizations by id, and idempotency keys per account (API key)."""

    def __init__(self, max_records: int) -> None:
        self.max_records = max_records
        self._by_id: OrderedDict[str, Authorization] = OrderedDict()
        self._keys: OrderedDict[tuple[str, str], _KeyEntry] = OrderedDict()

    def get(self, account: str, authorization_id: str) -> Authorization | None:
        found = self._by_id.get(authorization_id)
        return found if found is not None and found.account == account else None

    def find(self, account: str, reference: str | None, limit: int) -> list[Authorization]:
        """Newest first."""
        out: list[Authorization] = []
        for auth in reversed(self._by_id.values()):
            if auth.account == account and (reference is None or auth.reference == reference):
                out.append(auth)
                if len(out) >= limit:
                    break
        return out

    def add(self, authorization: Authorization) -> None:
        self._by_id[authorization.id] = authorization
        while len(self._by_id) > self.max_records:
            self._by_id.popitem(last=False)

    async def once(
        self,
        account: str,
        key: str,
        fingerprint: bytes,
        create: Callable[[], Awaitable[Authorization]],
    ) -> tuple[Authorization, bool]:
        """The authorization for (account, key): created by the first request, awaited by
        concurrent retries, replayed afterwards. Returns it and whether it was a replay.
        The same key with another fingerprint raises 422."""
        slot = (account, key)
        while (entry := self._keys.get(slot)) is not None:
            if entry.fingerprint != fingerprint:
                raise idempotency_conflict()
            try:
                return await asyncio.shield(entry.result), True
            except asyncio.CancelledError:
                if not entry.result.cancelled():
                    raise  # this request itself is being cancelled
                # the first request was cancelled before authorizing: take its place
        # registered before the first await: concurrent retries find it
        entry = _KeyEntry(fingerprint, asyncio.get_running_loop().create_future())
        self._keys[slot] = entry
        while len(self._keys) > self.max_records:
            self._keys.popitem(last=False)
        try:
            authorization = await create()
        except BaseException as exc:
            # nothing was authorized: forget the key so a retry can try again
            if self._keys.get(slot) is entry:
                del self._keys[slot]
            if isinstance(exc, Exception):
                entry.result.set_exception(exc)
                entry.result.exception()  # retrieved here: no "never retrieved" warning
            else:
                entry.result.cancel()
            raise
        entry.result.set_result(authorization)
        return authorization, False
