"""What the sandbox processor answers for a card: the outcome table and the expiry rule.

The table follows the widely used test-card convention (the same numbers as the
``sandbox_processor_outcomes`` of the project's test data). It lives here, in code:
the processor never reads test files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from types import MappingProxyType

from vaultswitch.domain.cards import Card


class AuthorizationStatus(StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"


class DeclineCode(StrEnum):
    CARD_DECLINED = "card_declined"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    INCORRECT_CVC = "incorrect_cvc"
    EXPIRED_CARD = "expired_card"
    PROCESSING_ERROR = "processing_error"


#: Card numbers with a fixed outcome; every other valid, unexpired card is approved.
OUTCOME_CARDS: Mapping[str, AuthorizationStatus | DeclineCode] = MappingProxyType(
    {
        "4242424242424242": AuthorizationStatus.SUCCEEDED,
        "4000000000000002": DeclineCode.CARD_DECLINED,
        "4000000000009995": DeclineCode.INSUFFICIENT_FUNDS,
        "4000000000000127": DeclineCode.INCORRECT_CVC,
        "4000000000000069": DeclineCode.EXPIRED_CARD,
        "4000000000000119": DeclineCode.PROCESSING_ERROR,
    }
)

DECLINE_MESSAGES: Mapping[DeclineCode, str] = MappingProxyType(
    {
        DeclineCode.CARD_DECLINED: "The card was declined.",
        DeclineCode.INSUFFICIENT_FUNDS: "The card has insufficient funds to complete the purchase.",
        DeclineCode.INCORRECT_CVC: "The card's security code is incorrect.",
        DeclineCode.EXPIRED_CARD: "The card has expired.",
        DeclineCode.PROCESSING_ERROR: (
            "An error occurred while processing the card; the same card may succeed if tried again."
        ),
    }
)


@dataclass(frozen=True, slots=True)
class Outcome:
    status: AuthorizationStatus
    decline_code: DeclineCode | None = None

    @property
    def message(self) -> str | None:
        return None if self.decline_code is None else DECLINE_MESSAGES[self.decline_code]


APPROVED = Outcome(AuthorizationStatus.SUCCEEDED)


def decide(card: Card, today: date) -> Outcome:
    """The outcome for a validated card: its table entry, else expired_card when the expiry
    month is over (as an issuer would decline it), else approved."""
    fixed = OUTCOME_CARDS.get(card.number.reveal())
    if isinstance(fixed, DeclineCode):
        return Outcome(AuthorizationStatus.DECLINED, fixed)
    if card.expiry.is_expired(today):
        return Outcome(AuthorizationStatus.DECLINED, DeclineCode.EXPIRED_CARD)
    return APPROVED
