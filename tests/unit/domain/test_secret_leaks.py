"""A Secret or a CardNumber never shows its value except through reveal()."""

from __future__ import annotations

import copy
import json
import logging
import pickle
from typing import Any

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from vaultswitch.domain.cards import Card, CardNumber, NetworkToken
from vaultswitch.domain.errors import ALL_ERRORS, InvalidCardData
from vaultswitch.domain.secret import MASK, Secret, json_default, reveal_optional

PAN = "4111111111111111"
CVC = "737"
CLIENT_SECRET = "s3cr3t-VALUE-9f8e7d6c"


def _holders() -> list[Any]:
    return [Secret(PAN), CardNumber(PAN), Secret(CLIENT_SECRET)]


def _values() -> list[str]:
    return [PAN, CLIENT_SECRET, "111111"]


def _assert_clean(text: str) -> None:
    assert PAN not in text
    assert CLIENT_SECRET not in text
    assert CVC not in text or text.count(CVC) == 0


@pytest.mark.parametrize("holder", _holders(), ids=["secret-pan", "card-number", "secret"])
def test_repr_str_format(holder: Any) -> None:
    for shown in (
        repr(holder),
        str(holder),
        f"{holder}",
        f"{holder!r}",
        f"{holder:>40}",
        "%s" % (holder,),  # noqa: UP031
        "%r" % (holder,),  # noqa: UP031
        "{}".format(holder),  # noqa: UP032
        str([holder]),
        str({"k": holder}),
    ):
        _assert_clean(shown)


def test_secret_shows_mask_and_reveals_on_request() -> None:
    secret = Secret(CLIENT_SECRET)
    assert str(secret) == MASK
    assert repr(secret) == f"Secret('{MASK}')"
    assert secret.reveal() == CLIENT_SECRET
    assert Secret(secret).reveal() == CLIENT_SECRET
    assert secret == Secret(CLIENT_SECRET)
    assert secret != Secret("other")
    assert secret.__eq__(CLIENT_SECRET) is NotImplemented
    assert len(secret) == len(CLIENT_SECRET)
    assert bool(secret)
    assert not bool(Secret(""))
    assert hash(secret) == hash(Secret(CLIENT_SECRET))
    assert reveal_optional(None) is None
    assert reveal_optional(secret) == CLIENT_SECRET


def test_secret_is_immutable_and_typed() -> None:
    secret = Secret(PAN)
    with pytest.raises(AttributeError):
        secret._value = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Secret(4111)  # type: ignore[arg-type]


def test_card_and_token_reprs_are_clean() -> None:
    card = Card.parse(PAN, "03", "2030", CVC, "Jane Doe")
    token = NetworkToken.parse(PAN, "03", "2030", "CRYPTOGRAM-VALUE")
    for shown in (repr(card), str(card), repr(token), f"{token}"):
        _assert_clean(shown)
        assert "CRYPTOGRAM-VALUE" not in shown
    assert f"'{CVC}'" not in repr(card)


def test_logging_with_secret_args_and_extra(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("vaultswitch.test.leaks")
    with caplog.at_level(logging.DEBUG, logger="vaultswitch.test.leaks"):
        for holder in _holders():
            logger.info("value %s and %r", holder, holder, extra={"card": holder})
            logger.warning("dict %s", {"pan": holder})
            logger.info(holder)
    assert caplog.records
    for record in caplog.records:
        _assert_clean(record.getMessage())
        _assert_clean(str(getattr(record, "card", "")))
    formatter = logging.Formatter("%(message)s %(card)s")
    for record in caplog.records:
        if hasattr(record, "card"):
            _assert_clean(formatter.format(record))
    _assert_clean(caplog.text)


def test_structlog_render(capsys: pytest.CaptureFixture[str]) -> None:
    structlog.configure(
        processors=[structlog.processors.JSONRenderer(default=json_default)],
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=False,
    )
    try:
        structlog.get_logger("t").info("vaulted", secret=Secret(CLIENT_SECRET), pan=Secret(PAN))
        structlog.configure(
            processors=[structlog.dev.ConsoleRenderer(colors=False)],
            logger_factory=structlog.PrintLoggerFactory(),
        )
        structlog.get_logger("t").info("vaulted", number=CardNumber(PAN))
    finally:
        structlog.reset_defaults()
    out = capsys.readouterr().out
    assert "vaulted" in out
    _assert_clean(out)


@pytest.mark.parametrize("holder", _holders(), ids=["secret-pan", "card-number", "secret"])
def test_pickling_is_refused(holder: Any) -> None:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(holder, protocol=protocol)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps({"nested": [holder]})


def test_card_pickling_is_refused() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(Card.parse(PAN, "03", "2030"))


def test_json_default() -> None:
    text = json.dumps({"a": Secret(PAN), "b": [Secret(CLIENT_SECRET)]}, default=json_default)
    assert json.loads(text) == {"a": MASK, "b": [MASK]}
    with pytest.raises(TypeError, match="CardNumber"):
        json.dumps({"n": CardNumber(PAN)}, default=json_default)
    with pytest.raises(TypeError, match="not JSON serializable"):
        json.dumps(object(), default=json_default)
    with pytest.raises(TypeError):
        json.dumps(Secret(PAN))


class _Model(BaseModel):
    pan: Secret
    secret: Secret | None = None


def test_pydantic_dumps_are_masked() -> None:
    model = _Model(pan=PAN, secret=Secret(CLIENT_SECRET))  # type: ignore[arg-type]
    assert model.pan.reveal() == PAN
    for shown in (
        repr(model),
        str(model),
        json.dumps(model.model_dump(), default=json_default),
        model.model_dump_json(),
        str(model.model_dump(mode="json")),
        str(model.model_dump(mode="python")),
    ):
        _assert_clean(shown)
    assert model.model_dump(mode="json") == {"pan": MASK, "secret": MASK}


def test_pydantic_rejects_non_strings() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as info:
        _Model(pan=4111111111111111)  # type: ignore[arg-type]
    _assert_clean(str(info.value))
    _assert_clean(info.value.json())
    _assert_clean(repr(info.value.errors()))
    assert "must be a string, not int" in str(info.value)
    with pytest.raises(ValidationError) as info:
        _Model.model_validate_json('{"pan": 4111111111111111}')
    _assert_clean(str(info.value))


def test_pydantic_validation_error_does_not_echo_secret_input() -> None:
    class Strict(BaseModel):
        pan: Secret
        n: int

    from pydantic import ValidationError

    with pytest.raises(ValidationError) as info:
        Strict(pan=PAN, n="x")  # type: ignore[arg-type]
    _assert_clean(str(info.value))


@pytest.mark.parametrize("holder", _holders(), ids=["secret-pan", "card-number", "secret"])
def test_copy_and_deepcopy(holder: Any) -> None:
    shallow = copy.copy(holder)
    deep = copy.deepcopy(holder)
    assert shallow == holder
    assert deep == holder
    assert deep.reveal() == holder.reveal()
    _assert_clean(repr(deep))
    card = Card.parse(PAN, "03", "2030", CVC)
    assert copy.deepcopy(card) == card


def test_invalid_card_data_messages_never_contain_input() -> None:
    bad_inputs = [
        ("4111111111111112", "card_number"),
        ("41111111111111111111", "card_number"),
        ("4111-1111-1111-111a", "card_number"),
    ]
    for raw, field in bad_inputs:
        with pytest.raises(InvalidCardData) as info:
            CardNumber(raw)
        error = info.value
        digits = "".join(c for c in raw if c.isdigit())
        for shown in (
            str(error),
            repr(error),
            error.message,
            error.hint,
            json.dumps(error.to_dict()),
        ):
            assert digits not in shown
            assert raw not in shown
        assert error.field == field
    with pytest.raises(InvalidCardData) as info:
        Card.parse(PAN, "03", "2030", "12345")
    assert "12345" not in str(info.value)
    assert PAN not in str(info.value)


@given(st.text(min_size=6, max_size=40).filter(lambda s: s.strip() == s and "*" not in s))
def test_any_secret_value_stays_hidden(value: str) -> None:
    secret = Secret(value)
    for shown in (repr(secret), str(secret), f"{secret}", "%s" % (secret,)):  # noqa: UP031
        assert value not in shown
    assert json.dumps(secret, default=json_default) == json.dumps(MASK)


def test_every_error_type_has_code_status_and_hint() -> None:
    codes = set()
    for error_type in ALL_ERRORS:
        error = error_type()
        assert error.code
        assert error.hint
        assert error.message
        assert 400 <= error.status <= 599
        assert error.to_dict()["code"] == error.code
        codes.add(error.code)
    assert len(codes) == len(ALL_ERRORS)
