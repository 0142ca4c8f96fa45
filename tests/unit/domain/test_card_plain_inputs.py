"""Cards and network tokens built directly with plain strings: validated and wrapped in
secrets, or refused with InvalidCardData naming the field (never an AttributeError later)."""

from __future__ import annotations

from typing import Any

import pytest

from vaultswitch.domain.cards import Card, CardExpiry, CardNumber, NetworkToken
from vaultswitch.domain.errors import InvalidCardData
from vaultswitch.domain.secret import Secret

PAN = "4111111111111111"
NT = "4895370000000000019"


def test_card_wraps_a_plain_number_and_cvc() -> None:
    card = Card(PAN, CardExpiry(12, 2030), "737", "Ada Lovelace")  # type: ignore[arg-type]
    assert type(card.number) is CardNumber
    assert type(card.cvc) is Secret
    assert card == Card.parse(PAN, "12", "2030", "737", "Ada Lovelace")
    assert PAN not in repr(card)
    assert "737" not in repr(card)
    assert Card(Secret(PAN), CardExpiry(1, 2031)).number.reveal() == PAN  # type: ignore[arg-type]
    assert Card(CardNumber(PAN), CardExpiry(1, 2031), "").cvc is None  # type: ignore[arg-type]


def test_network_token_wraps_a_plain_token_and_cryptogram() -> None:
    token = NetworkToken(NT, CardExpiry(12, 2031), " CRYPTO= ")  # type: ignore[arg-type]
    assert type(token.token) is CardNumber
    assert token.cryptogram == Secret("CRYPTO=")
    assert token == NetworkToken.parse(NT, "12", "2031", "CRYPTO=")


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Card("4111111111111112", CardExpiry(1, 2030)), "card_number"),
        (lambda: Card(4111111111111111, CardExpiry(1, 2030)), "card_number"),
        (lambda: Card(PAN, (1, 2030)), "card_exp_month"),
        (lambda: Card(PAN, CardExpiry(1, 2030), "12"), "card_cvc"),
        (lambda: Card(PAN, CardExpiry(1, 2030), 737), "card_cvc"),
        (lambda: Card(PAN, CardExpiry(1, 2030), None, 42), "card_holder_name"),
        (lambda: NetworkToken(b"4895370000000000019", CardExpiry(1, 2030)), "network_token"),
        (lambda: NetworkToken(NT, "12/31"), "network_token_exp_month"),
        (lambda: NetworkToken(NT, CardExpiry(1, 2030), 5), "cryptogram"),
        (lambda: NetworkToken(NT, CardExpiry(1, 2030), ""), "cryptogram"),
    ],
)
def test_a_wrong_field_is_named_and_not_echoed(build: Any, field: str) -> None:
    with pytest.raises(InvalidCardData) as info:
        build()
    assert info.value.field == field
    for value in ("4111111111111112", PAN, NT, "737"):
        assert value not in str(info.value)
