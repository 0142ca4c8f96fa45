"""Property tests: Luhn, normalisation and masking hold for every generated number."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaultswitch.domain.cards import (
    MAX_PAN_LENGTH,
    MIN_PAN_LENGTH,
    CardNumber,
    luhn_check_digit,
    luhn_valid,
    mask_digits,
)
from vaultswitch.domain.errors import InvalidCardData

partials = st.text(alphabet="0123456789", min_size=MIN_PAN_LENGTH - 1, max_size=MAX_PAN_LENGTH - 1)


def _with_check_digit(partial: str) -> str:
    return partial + luhn_check_digit(partial)


valid_pans = partials.map(_with_check_digit).filter(lambda d: set(d) != {"0"})


@given(partials)
def test_generated_check_digit_is_always_valid(partial: str) -> None:
    digit = luhn_check_digit(partial)
    assert luhn_valid(partial + digit)
    others = [d for d in "0123456789" if d != digit]
    assert not any(luhn_valid(partial + d) for d in others)


@given(valid_pans, st.data())
def test_any_single_digit_change_is_detected(pan: str, data: st.DataObject) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(pan) - 1))
    new = data.draw(st.sampled_from([d for d in "0123456789" if d != pan[index]]))
    changed = pan[:index] + new + pan[index + 1 :]
    assert not luhn_valid(changed)
    with pytest.raises(InvalidCardData):
        CardNumber(changed)


@given(valid_pans, st.data())
def test_spaces_and_dashes_anywhere_give_the_same_digits(pan: str, data: st.DataObject) -> None:
    pieces = []
    for char in pan:
        pieces.append(data.draw(st.text(alphabet=" -", max_size=2)))
        pieces.append(char)
    pieces.append(data.draw(st.text(alphabet=" -", max_size=2)))
    decorated = "".join(pieces)
    assert CardNumber(decorated).reveal() == pan
    assert CardNumber(decorated) == CardNumber(pan)


@given(st.text(alphabet="0123456789", min_size=1, max_size=MAX_PAN_LENGTH))
def test_mask_hides_enough(digits: str) -> None:
    masked = mask_digits(digits)
    assert len(masked) == len(digits)
    visible = [i for i, ch in enumerate(masked) if ch != "*"]
    hidden = len(digits) - len(visible)
    # at most the first 6 and the last 4 are visible ...
    assert all(i < 6 or i >= len(digits) - 4 for i in visible)
    assert len(visible) <= 10
    # ... and every visible character is the real digit at that position
    assert all(masked[i] == digits[i] for i in visible)
    # ... with at least 6 hidden once the number is longer than its last four
    if len(digits) > 4:
        assert hidden >= min(6, len(digits) - 4)
    else:
        assert hidden == len(digits)


@given(valid_pans)
def test_card_number_shows_only_its_mask(pan: str) -> None:
    number = CardNumber(pan)
    for shown in (repr(number), str(number), f"{number}", f"{number:>30}", "%s" % (number,)):  # noqa: UP031
        assert pan not in shown
    assert number.masked.endswith(pan[-4:])
