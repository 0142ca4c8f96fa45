"""Record ids: 12 hex digits of the millisecond clock, then 80 random bits in hex."""

from __future__ import annotations

import re
import time

from vaultswitch.vault.core import formats
from vaultswitch.vault.core.values import new_record_id

_HEX32 = re.compile(r"[0-9a-f]{32}")


def test_record_id_is_clock_then_random_hex() -> None:
    before = time.time_ns() // 1_000_000
    ids = [new_record_id() for _ in range(1000)]
    after = time.time_ns() // 1_000_000
    assert all(_HEX32.fullmatch(i) for i in ids)
    assert all(before <= int(i[:12], 16) <= after for i in ids)
    assert len(set(ids)) == len(ids)
    assert len({i[12:] for i in ids}) == len(ids)  # the random part differs, not only the clock


def test_uuid_aliases_are_22_base58_digits_of_a_128_bit_number() -> None:
    for _ in range(200):
        digits = formats.base58_uuid()
        assert len(digits) == 22
        assert set(digits) <= set(formats.BASE58)
        number = 0
        for ch in digits:
            number = number * 58 + formats.BASE58.index(ch)
        assert number < 2**128
