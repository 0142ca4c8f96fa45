"""Library loggers: through the standard logging module (scrubbed, silent without a handler)
until the application configures structlog; then through structlog."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from vaultswitch.domain.secret import MASK, Secret
from vaultswitch.logs import (
    EVENT_ATTRIBUTE,
    LIBRARY_LOGGER,
    configure_logging,
    get_logger,
    render_message,
)

PAN = "4111111111111111"


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def records() -> Iterator[Records]:
    """structlog unconfigured; a handler on the library's stdlib logger at DEBUG."""
    structlog.reset_defaults()
    handler = Records()
    logger = logging.getLogger(LIBRARY_LOGGER)
    saved = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(saved)
    structlog.reset_defaults()


def test_the_library_logger_has_a_null_handler() -> None:
    handlers = logging.getLogger(LIBRARY_LOGGER).handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)


def test_unconfigured_lines_go_to_stdlib_scrubbed(records: Records) -> None:
    log = get_logger("vaultswitch.test")
    log.info("card.seen", card_number=PAN, detail=f"pan {PAN}", token=Secret("tok-123"), n=3)
    (record,) = records.records
    assert record.name == "vaultswitch.test"
    assert record.levelno == logging.INFO
    message = record.getMessage()
    assert message.startswith("card.seen ")
    assert f"card_number={MASK}" in message
    assert PAN not in message
    assert "tok-123" not in message
    assert "n=3" in message
    fields = getattr(record, EVENT_ATTRIBUTE)
    assert fields["card_number"] == MASK
    assert fields["token"] == MASK
    assert PAN not in json.dumps(fields)


def test_levels_follow_the_stdlib_logger(records: Records) -> None:
    log = get_logger("vaultswitch.test")
    logging.getLogger(LIBRARY_LOGGER).setLevel(logging.WARNING)
    assert not log.is_enabled_for(logging.DEBUG)
    assert log.is_enabled_for(logging.WARNING)
    log.debug("dropped")
    log.info("dropped")
    log.warning("kept", status=503)
    log.error("kept too")
    assert [r.getMessage() for r in records.records] == ["kept status=503", "kept too"]


def test_bound_context_and_contextvars_are_carried(records: Records) -> None:
    log = get_logger("vaultswitch.test").bind(connector="vgs")
    with structlog.contextvars.bound_contextvars(request_id="req-1"):
        log.info("x")
    assert records.records[0].getMessage() == "x connector=vgs request_id=req-1"
    assert get_logger("vaultswitch.test").bind() is not None


def test_configured_structlog_takes_the_lines(records: Records) -> None:
    log = get_logger("vaultswitch.test")  # created before the application's set-up
    stream = io.StringIO()
    configure_logging("info", stream=stream)
    try:
        log.info("vault.token.fetched", card_number=PAN, expires_in=300)
        log.debug("not at info")
        assert not log.is_enabled_for(logging.DEBUG)
    finally:
        structlog.reset_defaults()
    (line,) = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["event"] == "vault.token.fetched"
    assert line["level"] == "info"
    assert line["card_number"] == MASK
    assert records.records == []


def test_render_message_quotes_only_what_needs_it() -> None:
    text = render_message(
        {"event": "e", "a": "plain", "b": "two words", "c": None, "d": True, "e": 1.5, "f": 'q"'}
    )
    assert text == 'e a=plain b="two words" c=null d=true e=1.5 f="q\\""'


def test_library_logger_names_live_under_vaultswitch() -> None:
    with pytest.raises(ValueError, match="vaultswitch"):
        get_logger("myapp.client")
