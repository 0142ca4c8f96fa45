"""Identifiers in Hyperswitch's shapes.

Global ids (customers, payment methods, payments, ...) are ``{cell}_{prefix}_{32 hex}``
with a time-ordered (UUIDv7 layout) hex part, as Hyperswitch's ``GlobalId::generate``;
merchant-scoped ids are ``{prefix}_{32 hex}``. API keys are ``snd_<64 random
alphanumerics>``; their first 12 characters are kept as the display prefix.
"""

from __future__ import annotations

import os
import re
import secrets
import string
import time
import uuid

_ALPHANUM = string.ascii_letters + string.digits
API_KEY_PREFIX_LEN = 12
API_KEY_ENV = "snd"


def uuid7_hex() -> str:
    """32 hex characters: 48-bit Unix ms timestamp, version 7, variant, random bits."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value).hex


def global_id(cell: str, entity: str) -> str:
    """E.g. ``cell1_cus_0192f1c3...`` (entities: cus, pm, pay, pms, ...)."""
    return f"{cell}_{entity}_{uuid7_hex()}"


def prefixed_id(prefix: str) -> str:
    """E.g. ``pro_0192f1c3...`` (pro: profile, mca: connector account, key: API key)."""
    return f"{prefix}_{uuid7_hex()}"


def merchant_id(merchant_name: str) -> str:
    """Hyperswitch-style: the lower-cased name without spaces, then a random suffix."""
    slug = re.sub(r"[^a-z0-9_]", "", merchant_name.lower().replace(" ", ""))[:32]
    return f"{slug or 'merchant'}_{secrets.token_hex(8)}"


def organization_id() -> str:
    return prefixed_id("org")


def publishable_key() -> str:
    return f"pk_{API_KEY_ENV}_{uuid.uuid4().hex}"


def api_key() -> str:
    """A new secret merchant API key (shown once, stored hashed)."""
    return f"{API_KEY_ENV}_" + "".join(secrets.choice(_ALPHANUM) for _ in range(64))


def api_key_display_prefix(key: str) -> str:
    return key[:API_KEY_PREFIX_LEN]
