"""Logging helpers for the client: URL trimming for log lines and a redacting processor.

Log lines carry flow, connector, method, URL (scheme, host and path only), status,
duration, attempt and trace id. Bodies, headers, tokens and credentials are never passed
to the logger; :func:`redact_client_event` masks them anyway if someone does by mistake.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import structlog

from vaultswitch.domain.redaction import redact_event
from vaultswitch.domain.secret import MASK

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


#: Event keys whose values are always masked by :func:`redact_client_event` (lower-case).
CLIENT_SENSITIVE_KEYS = frozenset(
    {
        "headers",
        "request_headers",
        "response_headers",
        "body",
        "content",
        "request_body",
        "response_body",
        "data",
        "credentials",
        "bearer",
        "cookie",
        "set-cookie",
        "proxy",
        "proxy_url",
    }
)


def redact_client_event(logger: object, method: str, event: MutableMapping[str, Any]) -> Any:
    """structlog processor: mask client-sensitive keys, then apply the shared scrubbing."""
    for key in event:
        if key.lower() in CLIENT_SENSITIVE_KEYS and event[key] is not None:
            event[key] = MASK
    return redact_event(logger, method, event)


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
