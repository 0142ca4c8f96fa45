"""A card number outside the card fields is found wherever it hides; card fields and
aliases pass."""

from __future__ import annotations

import pytest

from vaultswitch.domain.redaction import contains_card_number
from vaultswitch.orchestrator.request_guard import misplaced_card_number


@pytest.mark.parametrize(
    "text",
    ["4111111111111111", "card 4111 1111 1111 1111 here", "4111-1111-1111-1111", "378282246310005"],
)
def test_card_numbers_are_found(text: str) -> None:
    assert contains_card_number(text)


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111112",
        "order 12345",
        "2026-12-01",
        "+49 30 1234567",
        "",
        "1" * 25,
        "pro_01a2337f4111111111111111",  # inside a hex id: a word, not a card number
        "cell1_pm_4111111111111111ab",
    ],
)
def test_other_text_is_not(text: str) -> None:
    assert not contains_card_number(text)


def test_generated_ids_never_look_like_card_numbers() -> None:
    """uuid7-hex ids have digit runs that pass Luhn now and then; they must pass."""
    import uuid

    for _ in range(20000):
        assert not contains_card_number(f"pro_{uuid.uuid4().hex}")


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"metadata": {"note": "4242424242424242"}}, "metadata.note"),
        ({"merchant_reference_id": "ref-4242 4242 4242 4242"}, "merchant_reference_id"),
        ({"metadata": {"cards": [{"n": 4242424242424242}]}}, "metadata.cards[].n"),
        ({"metadata": {"4242424242424242": "x"}}, "metadata.4242424242424242 (a key)"),
        (
            {
                "payment_method_data": {
                    "card": {"card_number": "4111111111111111", "nick_name": "4242424242424242"}
                }
            },
            "payment_method_data.card.nick_name",
        ),
        ({"description": "5555555555554444"}, "description"),
    ],
)
def test_misplaced_numbers_name_their_field(document: object, field: str) -> None:
    assert misplaced_card_number(document) == field


def test_card_fields_and_aliases_pass() -> None:
    assert (
        misplaced_card_number(
            {
                "payment_method_data": {
                    "card": {"card_number": "4111111111111111", "card_exp_month": "12"},
                    "proxy_card": {"card_number": "4111113456781111"},
                },
                "rows": [{"alias": "4111119876541111", "card_number": "4111119876541111"}],
                "connector_account_details": {"api_key": "4111111111111111"},
                "amount_details": {"order_amount": 1000},
            }
        )
        is None
    )
