"""Short keyed digests that stand in for an alias or an unknown id in logs and the audit log.

Log lines must not carry PAN-shaped strings (FPE aliases are Luhn-valid card-number look-alikes)
nor anything a caller may have pasted by mistake (a client secret sent as the client id), yet an
operator must be able to find every request that used an alias. A reference is a BLAKE2b MAC
under one server secret (sealed by the master key, shared by every process on the database):

- ``alias:<10 hex>`` for an alias (``vaultswitch vault alias-ref ALIAS`` prints it);
- ``unknown:<10 hex>`` for a client id or v1 username that names no account.

The same input always gives the same reference, so lines can be grepped and grouped; without
the key nobody can test guesses against a reference (an FPE alias keeps 10 of its 16 digits,
so an unkeyed hash would be trivial to invert).
"""

from __future__ import annotations

import hashlib

LOG_REF_KEY_NAME = "log-reference-key"
REF_BYTES = 5  # 10 hex digits: enough to grep for, far too short to stand for a value
ALIAS_PREFIX = "alias:"
UNKNOWN_PREFIX = "unknown:"


class LogRefs:
    """Computes references under one key (see the module docstring)."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        self._key = key

    def __repr__(self) -> str:
        return "LogRefs(key=***)"

    def _digest(self, domain: bytes, text: str) -> str:
        data = domain + b"\x00" + text.encode("utf-8", "surrogatepass")
        return hashlib.blake2b(data, key=self._key, digest_size=REF_BYTES).hexdigest()

    def alias(self, alias: str) -> str:
        """``alias:<10 hex>`` for an alias (or for whatever stood where an alias goes)."""
        return ALIAS_PREFIX + self._digest(b"alias", alias)

    def unknown(self, given_id: str) -> str:
        """``unknown:<10 hex>`` for a client id or username that names no account."""
        return UNKNOWN_PREFIX + self._digest(b"unknown-id", given_id)

    def actor(self, given_id: str, *, known: bool) -> str:
        """How a caller's claimed id is recorded: as is when it names an account, else digested."""
        return given_id if known else self.unknown(given_id)
