"""structlog set-up shared by every vaultswitch process: JSON lines, request ids, redaction."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog

from vaultswitch.domain.redaction import redact_event

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}


def configure_logging(
    level: str = "info", *, json: bool = True, stream: TextIO | None = None
) -> None:
    """Configure structlog (and stdlib logging) to write one scrubbed event per line."""
    numeric = _LEVELS.get(level.lower(), logging.INFO)
    out = stream or sys.stderr
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.WriteLoggerFactory(file=out),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=numeric, stream=out, format="%(levelname)s %(name)s %(message)s")
    for noisy in ("httpx", "httpcore"):  # they log full URLs per request
        logging.getLogger(noisy).setLevel(max(numeric, logging.WARNING))
