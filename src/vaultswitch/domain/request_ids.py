"""Request and trace ids that survive the log scrubber unchanged.

The scrubber masks every Luhn-valid run of 12-19 digits, and a random hex id holds one now
and then (about 1 in 100 for 32 hex digits), so its log line would show a different id than
the response header. These ids are redrawn until they hold no run of 12 digits.
"""

from __future__ import annotations

import os
import re

_LONG_DIGIT_RUN = re.compile(r"[0-9]{12}")


def log_safe_hex(nbytes: int = 16) -> str:
    """``2 * nbytes`` random hex digits with no run of 12 decimal digits."""
    while True:
        value = os.urandom(nbytes).hex()
        if _LONG_DIGIT_RUN.search(value) is None:
            return value
