"""Request ids never hold a run the log scrubber would mask, so logs and headers agree."""

from __future__ import annotations

import re

from vaultswitch.domain.redaction import scrub_text
from vaultswitch.domain.request_ids import log_safe_hex


def test_ids_survive_the_scrubber_and_are_random_hex() -> None:
    seen = set()
    for _ in range(20000):
        value = log_safe_hex()
        assert re.fullmatch(r"[0-9a-f]{32}", value)
        assert re.search(r"[0-9]{12}", value) is None
        assert scrub_text(f"trace_id={value}") == f"trace_id={value}"
        seen.add(value)
    assert len(seen) == 20000
