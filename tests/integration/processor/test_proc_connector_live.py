"""The sandbox processor connector through httpx against the live sandbox processor."""

from __future__ import annotations

import asyncio
import socket
import uuid

import httpx
import pytest
from proc_support import APPROVED, OUTCOMES, Processor, serve_processor

from vaultswitch.connectors.base import HeaderKey
from vaultswitch.domain.cards import Card
from vaultswitch.domain.secret import Secret
from vaultswitch.orchestrator.processors.base import AuthorizeData, AuthorizeStatus
from vaultswitch.orchestrator.processors.errors import (
    MalformedProcessorResponse,
    ProcessorAuthenticationFailed,
    ProcessorRejectedRequest,
    ProcessorTransactionNotFound,
    ProcessorUnavailable,
)
from vaultswitch.orchestrator.processors.registry import get_processor_connector
from vaultswitch.orchestrator.processors.transport import (
    AsyncHttpxSend,
    HttpxSend,
    authorize,
    authorize_async,
    sync,
)


def _data(number: str = APPROVED, **overrides: object) -> AuthorizeData:
    values: dict[str, object] = {
        "amount": 4200,
        "currency": "USD",
        "reference": f"pay_{uuid.uuid4().hex}",
        "card": Card.parse(number, 12, 2099, "123"),
        "idempotency_key": str(uuid.uuid4()),
    }
    values.update(overrides)
    return AuthorizeData(**values)  # type: ignore[arg-type]


def _creds(processor: Processor, key: str | None = None) -> HeaderKey:
    return HeaderKey(Secret(key or processor.api_key))


@pytest.mark.parametrize(("number", "expected"), sorted(OUTCOMES.items()))
def test_every_outcome_card_through_the_connector(
    processor: Processor, number: str, expected: str
) -> None:
    connector = get_processor_connector("sandbox", {"base_url": processor.url})
    data = _data(number)
    with httpx.Client(timeout=10) as client:
        send = HttpxSend(client)
        result = authorize(connector, _creds(processor), data, send)
        again = sync(connector, _creds(processor), result.connector_transaction_id or "", send)
    if expected == "succeeded":
        assert result.status is AuthorizeStatus.SUCCEEDED
        assert result.error_code is None
    else:
        assert result.status is AuthorizeStatus.FAILED
        assert result.error_code == expected
        assert result.error_message
    assert again == result
    [stored] = processor.authorizations(data.reference)
    assert stored["id"] == result.connector_transaction_id
    assert stored["amount"] == 4200


def test_the_async_send_gives_the_same_results(processor: Processor) -> None:
    connector = get_processor_connector("sandbox", {"base_url": processor.url})

    async def run() -> list[AuthorizeStatus]:
        async with httpx.AsyncClient(timeout=10) as client:
            send = AsyncHttpxSend(client)
            results = await asyncio.gather(
                *(authorize_async(connector, _creds(processor), _data(n), send) for n in OUTCOMES)
            )
        return [r.status for r in results]

    statuses = asyncio.run(run())
    expected = [
        AuthorizeStatus.SUCCEEDED if outcome == "succeeded" else AuthorizeStatus.FAILED
        for outcome in OUTCOMES.values()
    ]
    assert statuses == expected


def test_a_wrong_key_is_a_424(processor: Processor) -> None:
    connector = get_processor_connector("sandbox", {"base_url": processor.url})
    with httpx.Client() as client, pytest.raises(ProcessorAuthenticationFailed) as raised:
        authorize(connector, _creds(processor, "sk_not_the_key"), _data(), HttpxSend(client))
    assert raised.value.status == 424
    assert raised.value.upstream_code == "invalid_api_key"
    assert raised.value.trace_id is not None
    assert raised.value.trace_id.startswith("req_")


def test_a_value_the_processor_refuses_is_named(processor: Processor) -> None:
    connector = get_processor_connector("sandbox", {"base_url": processor.url})
    with httpx.Client() as client, pytest.raises(ProcessorRejectedRequest) as raised:
        authorize(connector, _creds(processor), _data(currency="ZZZ"), HttpxSend(client))
    assert (raised.value.status, raised.value.field) == (422, "currency")


def test_an_unknown_transaction_is_not_found(processor: Processor) -> None:
    connector = get_processor_connector("sandbox", {"base_url": processor.url})
    with httpx.Client() as client, pytest.raises(ProcessorTransactionNotFound):
        sync(connector, _creds(processor), "auth_000000000000000000000000", HttpxSend(client))


def test_a_base_url_that_is_not_the_processor_is_a_502(processor: Processor) -> None:
    connector = get_processor_connector("sandbox", {"base_url": processor.url + "/health"})
    with httpx.Client() as client, pytest.raises(MalformedProcessorResponse) as raised:
        authorize(connector, _creds(processor), _data(), HttpxSend(client))
    assert raised.value.status == 502
    assert "metadata.base_url" in raised.value.hint


def test_an_unreachable_processor_is_a_503_and_nothing_was_sent() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and is closed now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    connector = get_processor_connector("sandbox", {"base_url": f"http://127.0.0.1:{port}"})
    creds = HeaderKey(Secret("sk_test_processor_key_one"))
    with httpx.Client() as client, pytest.raises(ProcessorUnavailable) as raised:
        authorize(connector, creds, _data(), HttpxSend(client))
    assert raised.value.status == 503
    assert "nothing was sent" in raised.value.message
    assert f"127.0.0.1:{port}" in raised.value.message
    assert "vaultswitch processor serve" in raised.value.hint


def test_a_timeout_then_a_retry_with_the_same_key_authorizes_once() -> None:
    with serve_processor(latency_ms=1500) as slow:
        connector = get_processor_connector("sandbox", {"base_url": slow.url})
        data = _data()
        impatient = httpx.Client(timeout=httpx.Timeout(10, read=0.2))
        with impatient, pytest.raises(ProcessorUnavailable) as raised:
            authorize(connector, _creds(slow), data, HttpxSend(impatient))
        assert "ReadTimeout" in raised.value.message
        with httpx.Client(timeout=30) as patient:
            first = authorize(connector, _creds(slow), data, HttpxSend(patient))
            second = authorize(connector, _creds(slow), data, HttpxSend(patient))
        assert first == second
        assert first.status is AuthorizeStatus.SUCCEEDED
        assert [a["id"] for a in slow.authorizations(data.reference)] == [
            first.connector_transaction_id
        ]


def test_without_an_idempotency_key_a_timeout_warns_that_it_may_have_happened() -> None:
    with serve_processor(latency_ms=1500) as slow:
        connector = get_processor_connector("sandbox", {"base_url": slow.url})
        data = _data(idempotency_key=None)
        impatient = httpx.Client(timeout=httpx.Timeout(10, read=0.2))
        with impatient, pytest.raises(ProcessorUnavailable) as raised:
            authorize(connector, _creds(slow), data, HttpxSend(impatient))
    assert "may have been processed" in raised.value.message
    assert "Idempotency-Key" in raised.value.hint
