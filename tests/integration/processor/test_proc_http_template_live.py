"""The shipped sandbox template of the http_template connector, sent through httpx to the
live sandbox processor: it approves and declines like the sandbox connector does."""

from __future__ import annotations

import uuid

import httpx
import pytest
from proc_support import Processor

from vaultswitch.connectors.base import HeaderKey
from vaultswitch.domain.cards import Card
from vaultswitch.domain.secret import Secret
from vaultswitch.orchestrator.processors.base import AuthorizeData, AuthorizeStatus
from vaultswitch.orchestrator.processors.errors import ProcessorAuthenticationFailed
from vaultswitch.orchestrator.processors.registry import get_processor_connector
from vaultswitch.orchestrator.processors.transport import HttpxSend, authorize


def _data(number: str, **card: str) -> AuthorizeData:
    return AuthorizeData(
        amount=4200,
        currency="usd",
        reference=f'pay_"{uuid.uuid4().hex}&=+',
        card=Card.parse(number, 12, 2099, "123", **card),
        idempotency_key=str(uuid.uuid4()),
    )


@pytest.mark.parametrize(
    ("number", "status", "code"),
    [
        ("4242424242424242", AuthorizeStatus.SUCCEEDED, None),
        ("4000000000000002", AuthorizeStatus.FAILED, "card_declined"),
    ],
)
def test_the_sandbox_template_pays_at_the_sandbox_processor(
    processor: Processor, number: str, status: AuthorizeStatus, code: str | None
) -> None:
    connector = get_processor_connector(
        "http_template", {"template": "sandbox", "base_url": processor.url}
    )
    data = _data(number, holder_name='Zoë "Q" O\\Brien')
    with httpx.Client(timeout=10) as client:
        send = HttpxSend(client)
        result = authorize(connector, HeaderKey(Secret(processor.api_key)), data, send)
        # the same idempotency key gets the first answer, not a second authorization
        again = authorize(connector, HeaderKey(Secret(processor.api_key)), data, send)
    assert result.status is status
    assert result.error_code == code
    assert again == result
    [stored] = processor.authorizations(data.reference)
    assert stored["id"] == result.connector_transaction_id
    assert stored["amount"] == 4200
    assert stored["currency"] == "USD"
    assert stored["reference"] == data.reference
    assert stored["card"]["last4"] == number[-4:]


def test_a_card_without_cvc_or_holder_sends_nulls_the_processor_accepts(
    processor: Processor,
) -> None:
    connector = get_processor_connector(
        "http_template", {"template": "sandbox", "base_url": processor.url}
    )
    data = AuthorizeData(
        amount=100,
        currency="EUR",
        reference=f"pay_{uuid.uuid4().hex}",
        card=Card.parse("4242424242424242", 1, 2099),
    )
    with httpx.Client(timeout=10) as client:
        result = authorize(connector, HeaderKey(Secret(processor.api_key)), data, HttpxSend(client))
    assert result.status is AuthorizeStatus.SUCCEEDED


def test_a_wrong_api_key_is_an_authentication_error(processor: Processor) -> None:
    connector = get_processor_connector(
        "http_template", {"template": "sandbox", "base_url": processor.url}
    )
    with httpx.Client(timeout=10) as client, pytest.raises(ProcessorAuthenticationFailed) as raised:
        authorize(
            connector,
            HeaderKey(Secret("sk_not_an_accepted_key")),
            _data("4242424242424242"),
            HttpxSend(client),
        )
    assert raised.value.upstream_status == 401
    assert raised.value.upstream_code == "invalid_api_key"
