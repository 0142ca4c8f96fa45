"""Server log lines teed into files under the session's base temp dir, where
:mod:`card_leaks` scans them for card numbers after the run.

- :func:`tee_structlog` for servers run in-process (LiveServer): while it is open, every
  structlog line of the process goes to a log file as well. When structlog is not
  configured yet it is configured as a server configures it (scrubbed JSON lines,
  :func:`vaultswitch.logs.configure_logging`, level debug) into the file alone; when a test
  configured it already, its lines still go where the test sends them, and to the file.
  Lines of a test that reconfigures structlog after the server started go only where that
  test says (such tests scan those lines themselves).
- :func:`tee_lines` for subprocesses: copies a pipe's lines into a log file (and keeps
  them for the test), so that a full pipe never blocks the server.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import structlog

from card_leaks import server_log_path

_sinks: list[_Sink] = []
_sinks_lock = threading.Lock()


class _Sink:
    """An append-only text file shared by threads. It stays open for the whole session:
    a logger cached while a tee was open may still write to it later."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()
        with _sinks_lock:
            _sinks.append(self)

    def write(self, text: str) -> int:
        with self._lock:
            written = self._file.write(text)
            self._file.flush()
        return written

    def flush(self) -> None:
        with self._lock:
            self._file.flush()


def flush_all() -> None:
    with _sinks_lock:
        sinks = list(_sinks)
    for sink in sinks:
        sink.flush()


class _TeeLogger:
    """Passes every call to the logger a test configured, and writes the line to a sink."""

    def __init__(self, inner: Any, sink: _Sink) -> None:
        self._inner = inner
        self._sink = sink

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._inner, name)
        if not callable(method) or name.startswith("_"):
            return method  # type: ignore[no-any-return]

        def call(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            if args:
                self._sink.write(f"{args[0]}\n")
            return result

        return call


@contextmanager
def tee_structlog(name: str) -> Iterator[Path | None]:
    """While open, the process's structlog lines also go to a new server log file."""
    path = server_log_path(name)
    if path is None:  # not in a test session (a script importing the helpers)
        yield None
        return
    sink = _Sink(path)
    was_configured = structlog.is_configured()
    previous = structlog.get_config()
    if was_configured:
        inner_factory = previous["logger_factory"]
        structlog.configure(
            logger_factory=lambda *args: _TeeLogger(inner_factory(*args), sink),
            cache_logger_on_first_use=False,
        )
    else:
        from vaultswitch.logs import configure_logging

        noisy = {n: logging.getLogger(n).level for n in ("httpx", "httpcore")}
        configure_logging("debug", stream=sink)  # type: ignore[arg-type]
        for logger_name, level in noisy.items():
            logging.getLogger(logger_name).setLevel(level)
        # no logger keeps this set-up once the server is gone
        structlog.configure(cache_logger_on_first_use=False)
    ours = structlog.get_config()["logger_factory"]
    try:
        yield path
    finally:
        # put back what was there, unless the test configured structlog itself meanwhile
        if structlog.is_configured() and structlog.get_config()["logger_factory"] is ours:
            if was_configured:
                structlog.configure(
                    logger_factory=previous["logger_factory"],
                    cache_logger_on_first_use=previous["cache_logger_on_first_use"],
                )
            else:
                structlog.reset_defaults()


def tee_lines(
    stream: IO[str], name: str, keep: list[str] | None = None, already: Sequence[str] = ()
) -> threading.Thread:
    """Copy ``stream``'s lines into a new server log file (and ``keep``) until it ends;
    ``already``: lines read from it before, written to the file first."""
    path = server_log_path(name)
    sink = _Sink(path) if path is not None else None
    if sink is not None:
        for line in already:
            sink.write(line)

    def pump() -> None:
        for line in stream:
            if keep is not None:
                keep.append(line)
            if sink is not None:
                sink.write(line)

    thread = threading.Thread(target=pump, name=f"tee-{name}", daemon=True)
    thread.start()
    return thread
