"""The orchestrator's logger.

``logger()`` returns a new structlog proxy per call instead of a module-level one: a
cached proxy keeps writing where logging was configured when it was first used, and
processes (and tests) that configure logging again must see their lines.
"""

from __future__ import annotations

from typing import Any

import structlog

LOGGER_NAME = "vaultswitch.orchestrator"


def logger() -> Any:
    return structlog.get_logger(LOGGER_NAME)
