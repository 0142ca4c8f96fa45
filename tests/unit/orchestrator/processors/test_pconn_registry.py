"""The processor registry and the interface defaults."""

from __future__ import annotations

import pytest

from vaultswitch.connectors.base import HeaderKey, HttpResponse
from vaultswitch.domain.cards import Card
from vaultswitch.domain.errors import FlowNotSupported, InvalidRequest
from vaultswitch.domain.secret import Secret
from vaultswitch.orchestrator.processors.base import (
    AuthorizeData,
    ProcessorConnector,
    ProcessorFlow,
)
from vaultswitch.orchestrator.processors.errors import PROCESSOR_ERRORS
from vaultswitch.orchestrator.processors.registry import get_processor_connector, processor_names
from vaultswitch.orchestrator.processors.sandbox import SandboxProcessorConnector


def test_sandbox_is_registered_and_configured_from_metadata() -> None:
    assert processor_names() == ["http_template", "sandbox"]
    connector = get_processor_connector(" Sandbox ", {"base_url": "http://127.0.0.1:1234"})
    assert isinstance(connector, SandboxProcessorConnector)
    assert connector.config.base_url == "http://127.0.0.1:1234/"
    assert connector.supports(ProcessorFlow.AUTHORIZE)
    assert connector.supports(ProcessorFlow.SYNC)
    assert "base_url" in repr(connector)


def test_an_unknown_processor_lists_the_known_ones() -> None:
    with pytest.raises(InvalidRequest) as raised:
        get_processor_connector("stripe")
    assert raised.value.field == "connector_name"
    assert "sandbox" in raised.value.message


def test_bad_metadata_is_named() -> None:
    with pytest.raises(InvalidRequest) as raised:
        get_processor_connector("sandbox", {"base_url": "not a url"})
    assert raised.value.field == "metadata.base_url"


def test_flows_a_connector_does_not_implement_say_so() -> None:
    base = ProcessorConnector()
    creds = HeaderKey(Secret("k" * 10))
    data = AuthorizeData(10, "USD", "pay_1", Card.parse("4242424242424242", 1, 2030))
    with pytest.raises(FlowNotSupported):
        base.build_authorize(creds, data)
    with pytest.raises(FlowNotSupported):
        base.parse_sync(HttpResponse(200))
    assert not base.supports(ProcessorFlow.AUTHORIZE)


def test_every_processor_error_has_a_code_status_message_and_hint() -> None:
    codes = [cls.code for cls in PROCESSOR_ERRORS]
    assert len(set(codes)) == len(codes)
    for cls in PROCESSOR_ERRORS:
        assert cls.code.startswith(("processor_", "malformed_processor"))
        assert 400 <= cls.status < 600
        assert cls.default_message.strip()
        assert cls.default_hint.strip()
