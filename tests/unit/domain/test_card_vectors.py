"""Card validation against the shared vectors, plus expiry, CVC, holder name, network token."""

from __future__ import annotations

import json
from datetime import date

import pytest

from vaultswitch.domain.cards import (
    Card,
    CardBrand,
    CardExpiry,
    CardNumber,
    NetworkToken,
    detect_brand,
    luhn_check_digit,
    luhn_valid,
    mask_digits,
    parse_cvc,
    parse_holder_name,
)
from vaultswitch.domain.errors import InvalidCardData
from vaultswitch.domain.secret import Secret

from .cards_data import CARDS_JSON, INVALID, MASKING, NORMALIZE, SHARED_CARDS_JSON, VALID


def test_vector_copy_matches_shared_file() -> None:
    if not SHARED_CARDS_JSON.is_file():
        pytest.skip(
            "this test checks that tests/data/cards.json is an exact copy of the project's "
            f"shared test cards, which are not beside this clone ({SHARED_CARDS_JSON} is "
            "missing); it runs in CI, where shared/ sits next to the repository"
        )
    assert json.loads(CARDS_JSON.read_text()) == json.loads(SHARED_CARDS_JSON.read_text())


def test_vectors_are_not_empty() -> None:
    assert len(VALID) >= 20
    assert len(INVALID) >= 9
    assert {brand for brand, _ in VALID} == {
        b.value for b in CardBrand if b is not CardBrand.UNKNOWN
    }


@pytest.mark.parametrize(("brand", "number"), VALID, ids=[f"{b}-{n}" for b, n in VALID])
def test_valid_number_is_accepted_with_its_brand(brand: str, number: str) -> None:
    pan = CardNumber(number)
    assert pan.reveal() == number
    assert pan.brand == CardBrand(brand)
    assert detect_brand(number) == CardBrand(brand)
    assert luhn_valid(number)
    assert len(pan) == len(number)
    assert pan.first6 == number[:6]
    assert pan.last4 == number[-4:]


@pytest.mark.parametrize(("raw", "why"), INVALID, ids=[why for _, why in INVALID])
def test_invalid_number_is_rejected_naming_the_field(raw: str, why: str) -> None:
    with pytest.raises(InvalidCardData) as info:
        CardNumber(raw)
    assert info.value.field == "card_number"
    digits = "".join(ch for ch in raw if ch.isdigit())
    if len(digits) >= 6:
        assert digits not in str(info.value)
        assert digits not in info.value.message
        assert digits not in json.dumps(info.value.to_dict())


def test_invalid_number_uses_the_given_field_name() -> None:
    with pytest.raises(InvalidCardData) as info:
        CardNumber("4111111111111112", field="network_token")
    assert info.value.field == "network_token"


@pytest.mark.parametrize(("raw", "number"), NORMALIZE)
def test_normalisation_vectors(raw: str, number: str) -> None:
    assert CardNumber(raw).reveal() == number
    assert CardNumber(raw) == CardNumber(number)
    assert hash(CardNumber(raw)) == hash(CardNumber(number))


def test_masking_example() -> None:
    pan = CardNumber(MASKING["number"])
    assert pan.masked == MASKING["masked"]
    assert pan.first6 == MASKING["first6"]
    assert pan.last4 == MASKING["last4"]
    assert str(pan) == MASKING["masked"]
    assert repr(pan) == f"CardNumber('{MASKING['masked']}')"


@pytest.mark.parametrize(
    ("digits", "masked"),
    [
        ("378282246310005", "37828******0005"),  # 15 digits: 5 + 6 hidden + 4
        ("4222222222222", "422******2222"),  # 13 digits
        ("411111111111", "41******1111"),
        ("1234", "****"),
        ("12345", "*2345"),
        ("6799990100000000019", "679999*********0019"),
    ],
)
def test_mask_digits_short_and_long(digits: str, masked: str) -> None:
    assert mask_digits(digits) == masked


def test_brand_unknown_and_prefix_edges() -> None:
    assert detect_brand("9999999999999995") is CardBrand.UNKNOWN
    assert detect_brand("2221000000000009") is CardBrand.MASTERCARD
    assert detect_brand("2721000000000004") is CardBrand.UNKNOWN
    assert detect_brand("3528000000000007") is CardBrand.JCB
    assert detect_brand("3") is CardBrand.UNKNOWN


def test_card_number_equality_is_by_digits_only() -> None:
    assert CardNumber("4111111111111111") != CardNumber("4242424242424242")
    assert CardNumber("4111111111111111").__eq__("4111111111111111") is NotImplemented
    assert CardNumber(Secret("4111 1111 1111 1111")).reveal() == "4111111111111111"


def test_card_number_rejects_non_strings() -> None:
    with pytest.raises(InvalidCardData, match="must be a string"):
        CardNumber(4111111111111111)  # type: ignore[arg-type]


# --- expiry --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("month", "year", "expected"),
    [
        ("01", "30", CardExpiry(1, 2030)),
        ("1", "2030", CardExpiry(1, 2030)),
        (12, 2099, CardExpiry(12, 2099)),
        (" 7 ", " 00 ", CardExpiry(7, 2000)),
        ("09", 25, CardExpiry(9, 2025)),
    ],
)
def test_expiry_parses_two_and_four_digit_years(
    month: str | int, year: str | int, expected: CardExpiry
) -> None:
    assert CardExpiry.parse(month, year) == expected


@pytest.mark.parametrize("month", ["0", "13", "00", "-1", "1a", "", "123", None, 1.5])
def test_expiry_month_bounds(month: object) -> None:
    with pytest.raises(InvalidCardData) as info:
        CardExpiry.parse(month, "2030")  # type: ignore[arg-type]
    assert info.value.field == "card_exp_month"


@pytest.mark.parametrize("year", ["1999", "2100", "203", "3", "20300", "", "2O30", None])
def test_expiry_year_bounds(year: object) -> None:
    with pytest.raises(InvalidCardData) as info:
        CardExpiry.parse("01", year)  # type: ignore[arg-type]
    assert info.value.field == "card_exp_year"


def test_expiry_field_prefix() -> None:
    with pytest.raises(InvalidCardData) as info:
        CardExpiry.parse("13", "30", prefix="network_token_exp")
    assert info.value.field == "network_token_exp_month"


@pytest.mark.parametrize(
    ("at", "expired"),
    [
        (date(2030, 2, 28), False),  # last day of the expiry month: still valid
        (date(2030, 2, 1), False),
        (date(2029, 12, 31), False),
        (date(2030, 3, 1), True),  # first day after
        (date(2031, 1, 1), True),
    ],
)
def test_is_expired_through_last_day_of_month(at: date, expired: bool) -> None:
    assert CardExpiry(2, 2030).is_expired(at) is expired


def test_is_expired_leap_year_and_december() -> None:
    assert CardExpiry(2, 2028).is_expired(date(2028, 2, 29)) is False
    assert CardExpiry(12, 2030).is_expired(date(2030, 12, 31)) is False
    assert CardExpiry(12, 2030).is_expired(date(2031, 1, 1)) is True


def test_expiry_strings() -> None:
    expiry = CardExpiry.parse("3", "30")
    assert (expiry.month_str, expiry.year_str) == ("03", "2030")


# --- CVC -----------------------------------------------------------------------------------


def test_cvc_three_digits_for_most_brands() -> None:
    assert parse_cvc("123", CardBrand.VISA).reveal() == "123"
    assert parse_cvc(" 123 ").reveal() == "123"
    assert parse_cvc(Secret("999"), CardBrand.MASTERCARD).reveal() == "999"


def test_cvc_four_digits_for_amex() -> None:
    assert parse_cvc("1234", CardBrand.AMEX).reveal() == "1234"
    with pytest.raises(InvalidCardData, match="4 digits for amex"):
        parse_cvc("123", CardBrand.AMEX)


@pytest.mark.parametrize("cvc", ["12", "1234", "12a", "", " ", "\uff11\uff12\uff13", "1 2"])
def test_cvc_invalid(cvc: str) -> None:
    with pytest.raises(InvalidCardData) as info:
        parse_cvc(cvc, CardBrand.VISA)
    assert info.value.field == "card_cvc"
    if cvc.strip():
        assert cvc not in info.value.message


def test_cvc_non_string() -> None:
    with pytest.raises(InvalidCardData, match="string of digits"):
        parse_cvc(123)  # type: ignore[arg-type]


def test_cvc_is_a_secret() -> None:
    cvc = parse_cvc("123")
    assert isinstance(cvc, Secret)
    assert "123" not in repr(cvc)


# --- holder name ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Jane   Doe ", "Jane Doe"),
        ("Jane\tDoe", "Jane Doe"),
        ("José Müller-Łukasz", "José Müller-Łukasz"),
        (None, None),
        ("   ", None),
        ("", None),
        ("x" * 64, "x" * 64),
    ],
)
def test_holder_name_trimmed(raw: str | None, expected: str | None) -> None:
    assert parse_holder_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("x" * 65, "at most 64"),
        ("Jane\x00Doe", "control characters"),
        ("Jane\x1bDoe", "control characters"),
        ("Jane\u200bDoe", "control characters"),
    ],
)
def test_holder_name_invalid(raw: str, why: str) -> None:
    with pytest.raises(InvalidCardData, match=why) as info:
        parse_holder_name(raw)
    assert info.value.field == "card_holder_name"


def test_holder_name_non_string() -> None:
    with pytest.raises(InvalidCardData, match="must be a string"):
        parse_holder_name(42)  # type: ignore[arg-type]


# --- Card and NetworkToken -----------------------------------------------------------------


def test_card_parse_whole() -> None:
    card = Card.parse("4111 1111 1111 1111", "3", "30", "123", " Jane  Doe ")
    assert card.number.reveal() == "4111111111111111"
    assert card.expiry == CardExpiry(3, 2030)
    assert card.cvc is not None
    assert card.cvc.reveal() == "123"
    assert card.holder_name == "Jane Doe"
    assert card.brand is CardBrand.VISA
    assert card.without_cvc().cvc is None
    assert card.without_cvc().number == card.number


def test_card_parse_empty_cvc_is_none() -> None:
    assert Card.parse("4111111111111111", "03", "2030", "").cvc is None
    assert Card.parse("378282246310005", "03", "2030", "1234").cvc == Secret("1234")


def test_card_parse_names_first_wrong_field() -> None:
    with pytest.raises(InvalidCardData) as info:
        Card.parse("4111111111111111", "13", "1999", "1")
    assert info.value.field == "card_exp_month"
    with pytest.raises(InvalidCardData) as info:
        Card.parse("378282246310005", "03", "2030", "123")
    assert info.value.field == "card_cvc"


def test_network_token_parse() -> None:
    digits = "489537000000000001" + luhn_check_digit("489537000000000001")
    token = NetworkToken.parse(digits, "12", "2031", " AbC= ")
    assert token.token.reveal() == digits
    assert token.cryptogram == Secret("AbC=")
    assert token.expiry == CardExpiry(12, 2031)
    assert NetworkToken.parse("4111111111111111", "1", "31").cryptogram is None


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("4111111111111112", "12", "2031"), "network_token"),
        (("4111111111111111", "13", "2031"), "network_token_exp_month"),
        (("4111111111111111", "12", "1"), "network_token_exp_year"),
        (("4111111111111111", "12", "2031", ""), "cryptogram"),
        (("4111111111111111", "12", "2031", "x" * 129), "cryptogram"),
        (("4111111111111111", "12", "2031", 5), "cryptogram"),
    ],
)
def test_network_token_invalid(args: tuple[object, ...], field: str) -> None:
    with pytest.raises(InvalidCardData) as info:
        NetworkToken.parse(*args)  # type: ignore[arg-type]
    assert info.value.field == field
