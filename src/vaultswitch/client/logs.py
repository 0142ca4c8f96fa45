"""Logging helpers for the client: URL trimming for log lines and a redacting processor.

Log lines carry flow, connector, method, URL (scheme, host and path only), status,
duration, attempt and trace id. Bodies, headers, tokens and credentials are never passed
to the logger; the shared scrubber (``redact_client_event`` is
:func:`vaultswitch.domain.redaction.redact_event`) masks them anyway if someone does.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import structlog

from vaultswitch.domain.redaction import redact_event

LOGGER_NAME = "vaultswitch.client"


def new_logger() -> Any:
    """The client's structlog logger (each client binds its own when it is created)."""
    return structlog.get_logger(LOGGER_NAME)


def bind_logger(logger: Any) -> Any:
    """Resolve a lazy structlog proxy once, so each log call skips the proxy."""
    bind = getattr(logger, "bind", None)
    return bind() if callable(bind) else logger


def debug_enabled(logger: Any) -> bool:
    """Whether ``logger`` would emit debug lines (True when it cannot tell)."""
    for name in ("is_enabled_for", "isEnabledFor"):
        check = getattr(logger, name, None)
        if callable(check):
            try:
                return bool(check(logging.DEBUG))
            except Exception:  # a logger that cannot answer: assume it logs
                return True
    return True


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
