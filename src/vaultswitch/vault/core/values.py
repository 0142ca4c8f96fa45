"""Small value helpers of the vault service: new ids and the stored JSON text forms."""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Sequence
from functools import lru_cache

from vaultswitch.vault.core import formats


def new_record_id() -> str:
    """32 hex digits: 48-bit millisecond clock then 80 random bits (UUIDv7-like).

    Time-ordered ids append to the records primary key and to the aliases
    (record_id, format) index instead of touching a random page of each per insert.
    """
    return (
        (time.time_ns() // 1_000_000 & 0xFFFFFFFFFFFF).to_bytes(6, "big") + os.urandom(10)
    ).hex()


def random_base58(n: int) -> str:
    return "".join(secrets.choice(formats.BASE58) for _ in range(n))


_COMPACT = json.JSONEncoder(separators=(",", ":")).encode  # = json.dumps(..., separators=)


def compact_json(items: Sequence[str]) -> str:
    return _COMPACT(list(items))


@lru_cache(maxsize=1024)
def classifiers_json(tags: tuple[str, ...]) -> str:
    """Classifiers as stored (compact JSON text; few distinct values: cached)."""
    return compact_json(tags)


@lru_cache(maxsize=1024)
def classifiers_of(stored: str) -> tuple[str, ...]:
    """A record's stored classifiers (JSON text) as a tuple (few distinct values: cached)."""
    return tuple(json.loads(stored))
