"""Logging for every vaultswitch process and for vaultswitch used as a library.

Servers and the CLI call :func:`configure_logging`: scrubbed structlog lines (JSON by
default) with request ids, one event per line.

Library code (the client, connectors) logs through :func:`get_logger`, which stays silent
until the application configures logging. Each call goes where the application's set-up says
at that moment:

- the application configured structlog (for a vaultswitch server: :func:`configure_logging`):
  through structlog, exactly like every other line of the process;
- otherwise through the standard :mod:`logging` module, logger ``vaultswitch.<part>``, as a
  scrubbed ``event key=value ...`` message (the scrubbed fields also ride along on the record
  as ``record.vaultswitch_event``). The ``vaultswitch`` logger has a
  :class:`logging.NullHandler`, so nothing is printed until the application adds a handler
  (``logging.basicConfig(level=logging.DEBUG)`` shows everything).
"""

from __future__ import annotations

import json as jsonlib
import logging
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import structlog

from vaultswitch.domain.redaction import redact_event

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}

#: The stdlib logger every library logger sits under.
LIBRARY_LOGGER = "vaultswitch"
#: The attribute of a stdlib LogRecord that carries the scrubbed event fields.
EVENT_ATTRIBUTE = "vaultswitch_event"

_library = logging.getLogger(LIBRARY_LOGGER)
if not any(isinstance(h, logging.NullHandler) for h in _library.handlers):
    _library.addHandler(logging.NullHandler())  # no "last resort" output before set-up


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
        # not cached: a module-level logger must follow a later set-up (a CLI command or a
        # test that configures logging again); measured: ~3 µs more per line (of ~30)
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=numeric, stream=out, format="%(levelname)s %(name)s %(message)s")
    for noisy in ("httpx", "httpcore"):  # they log full URLs per request
        logging.getLogger(noisy).setLevel(max(numeric, logging.WARNING))


# --- library loggers -------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, str):
        plain = value and not any(c.isspace() or c in '"=\\' for c in value)
        return value if plain else jsonlib.dumps(value, ensure_ascii=False)
    if isinstance(value, bool) or value is None:
        return jsonlib.dumps(value)
    if isinstance(value, int | float):
        return repr(value)
    return jsonlib.dumps(str(value), ensure_ascii=False)


def render_message(event: Mapping[str, Any]) -> str:
    """``event key=value ...``: the event name first, then the fields in call order."""
    parts = [str(event.get("event", ""))]
    parts.extend(f"{key}={_text(value)}" for key, value in event.items() if key != "event")
    return " ".join(parts)


def _to_stdlib(_logger: object, _method: str, event: Any) -> Any:
    """Last processor of the stdlib route: the message, and the fields as a record attribute."""
    return (render_message(event),), {"extra": {EVENT_ATTRIBUTE: dict(event)}}


class LibraryLogger:
    """A structlog-style logger (``debug``/``info``/``warning``/``error``, keyword fields)
    for library code; see the module docstring for where its lines go."""

    __slots__ = ("_context", "_name", "_stdlib", "_structlog")

    def __init__(self, name: str, context: Mapping[str, Any] | None = None) -> None:
        if name != LIBRARY_LOGGER and not name.startswith(LIBRARY_LOGGER + "."):
            raise ValueError(f"library logger names start with {LIBRARY_LOGGER}.: {name!r}")
        self._name = name
        self._context = dict(context or {})
        stdlib = logging.getLogger(name)
        self._stdlib: Any = structlog.stdlib.BoundLogger(
            stdlib,
            [
                structlog.stdlib.filter_by_level,  # before any work: most lines are not wanted
                structlog.contextvars.merge_contextvars,
                redact_event,
                _to_stdlib,
            ],
            dict(self._context),
        )
        self._structlog: Any = structlog.get_logger(name, **self._context)

    @property
    def name(self) -> str:
        return self._name

    def _route(self) -> Any:
        return self._structlog if structlog.is_configured() else self._stdlib

    def bind(self, **values: Any) -> LibraryLogger:
        """This logger with more context fields (itself when there are none)."""
        if not values:
            return self
        return LibraryLogger(self._name, {**self._context, **values})

    def is_enabled_for(self, level: int) -> bool:
        """Whether a line at ``level`` would be emitted now (True when it cannot tell)."""
        if not structlog.is_configured():
            return logging.getLogger(self._name).isEnabledFor(level)
        target = self._structlog
        for name in ("is_enabled_for", "isEnabledFor"):
            try:
                check = getattr(target, name)
            except AttributeError:
                continue
            try:
                return bool(check(level))
            except Exception:  # a logger that cannot answer: assume it logs
                return True
        return True

    def debug(self, event: str, **fields: Any) -> None:
        self._route().debug(event, **fields)

    def info(self, event: str, **fields: Any) -> None:
        self._route().info(event, **fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._route().warning(event, **fields)

    def error(self, event: str, **fields: Any) -> None:
        self._route().error(event, **fields)

    def __repr__(self) -> str:
        return f"LibraryLogger({self._name!r})"


def get_logger(name: str) -> LibraryLogger:
    """The logger library code uses (``name`` under ``vaultswitch.``): silent until the
    application configures structlog or the standard :mod:`logging` module."""
    return LibraryLogger(name)
