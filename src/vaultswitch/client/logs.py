"""Logging helpers for the client: its logger, URL trimming for log lines, the redacting processor.

The client logs through :func:`vaultswitch.logs.get_logger` (``vaultswitch.client``): silent
until the application configures logging, then through structlog (when the application
configured it) or the standard :mod:`logging` module.

Log lines carry flow, connector, method, URL (scheme, host and path only), status,
duration, attempt and trace id. Bodies, headers, tokens and credentials are never passed
to the logger; the shared scrubber (``redact_client_event`` is
:func:`vaultswitch.domain.redaction.redact_event`) masks them anyway if someone does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from vaultswitch.domain.redaction import redact_event
from vaultswitch.logs import LibraryLogger, get_logger

LOGGER_NAME = "vaultswitch.client"


def new_logger() -> LibraryLogger:
    """The client's logger (each client gets its own when it is created)."""
    return get_logger(LOGGER_NAME)


def bind_logger(logger: Any) -> Any:
    """Resolve a lazy structlog proxy once, so each log call skips the proxy."""
    bind = getattr(logger, "bind", None)
    return bind() if callable(bind) else logger


def debug_check(logger: Any) -> Callable[[], bool]:
    """A cheap callable saying whether ``logger`` emits debug lines now (True when it
    cannot tell), asked per flow so that logging configured later takes effect."""
    checks = (getattr(logger, name, None) for name in ("is_enabled_for", "isEnabledFor"))
    method: Callable[[int], Any] | None = next((c for c in checks if callable(c)), None)
    if method is None:
        return lambda: True
    ask: Callable[[int], Any] = method

    def enabled() -> bool:
        try:
            return bool(ask(logging.DEBUG))
        except Exception:  # a logger that cannot answer: assume it logs
            return True

    return enabled


def debug_enabled(logger: Any) -> bool:
    """Whether ``logger`` would emit debug lines now (True when it cannot tell)."""
    return debug_check(logger)()


#: The client's processor is the shared one: every process that calls
#: :func:`vaultswitch.logs.configure_logging` gets the same protection.
redact_client_event = redact_event


@lru_cache(maxsize=2048)
def url_for_log(url: str) -> str:
    """``scheme://host[:port]/path``: no user info, no query string, no fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<invalid url>"
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return f"{parts.scheme}://{netloc}{parts.path}"


@lru_cache(maxsize=2048)
def host_of(url: str) -> str:
    """``host[:port]`` of a URL (never its user info), for error hints."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "<no host>"
        port = parts.port
    except ValueError:
        return "<invalid url>"
    return host if port is None else f"{host}:{port}"
