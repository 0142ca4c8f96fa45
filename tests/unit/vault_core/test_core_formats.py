"""Alias formats: shapes, Luhn, never equal to the input, input validation."""

from __future__ import annotations

import re

import pytest

from vaultswitch.vault.core import formats
from vaultswitch.vault.core.errors import BadRequest
from vaultswitch.vault.core.formats import generate_alias, luhn_valid, validate_value_for_format

PAN16 = "4111111111111111"
B58 = "[1-9A-HJ-NP-Za-km-z]"
SAMPLES: dict[str, list[str]] = {
    "UUID": ["x", PAN16, "ünïcødé value"],
    "RAW_UUID": ["x", PAN16],
    "VGS_FIXED_LEN_GENERIC": ["x", PAN16],
    "GENERIC_T_FOUR": ["abcd", PAN16, "account 12AB"],
    "NUM_LENGTH_PRESERVING": ["1234", PAN16, "9" * 64],
    "FPE_SIX_T_FOUR": ["411111111111", PAN16, "6799990100000000019", "4111111111111112"],
    "FPE_T_FOUR": ["411111111111", PAN16, "6799990100000000019"],
    "PFPT": ["411111111111", PAN16, "6799990100000000019"],
    "NON_LUHN_FPE_ALPHANUMERIC": ["411111111111", PAN16, "6799990100000000019"],
    "ALPHANUMERIC_SIX_T_FOUR": ["abcdef1234", PAN16, "A" * 38],
    "FPE_SSN_T_FOUR": ["123-45-6789", "123456789"],
    "ALPHANUMERIC_SSN_T_FOUR": ["123-45-6789", "123456789"],
    "FPE_ACC_NUM_T_FOUR": ["12345", "000123456789"],
    "FPE_ALPHANUMERIC_ACC_NUM_T_FOUR": ["ab345", "GB29NWBK60161331926819"],
    "ALPHANUMERIC_LENGTH_PRESERVING": ["abcd", "Zz09" * 16],
    "ALPHANUMERIC_LENGTH_PRESERVING_T_FOUR": ["abcde", "Zz09" * 16],
    "ALPHANUMERIC_LENGTH_PRESERVING_SIX_T_FOUR": ["abcdefghijk", PAN16],
}
INVALID: dict[str, list[str]] = {
    "GENERIC_T_FOUR": ["abc", "abc-!"],
    "NUM_LENGTH_PRESERVING": ["123", "12a4", "1" * 65],
    "FPE_SIX_T_FOUR": ["41111111111", "41111111111111111111", "4111-1111-1111-1111"],
    "FPE_T_FOUR": ["12345678901", "abcdabcdabcd"],
    "PFPT": ["12345678901"],
    "NON_LUHN_FPE_ALPHANUMERIC": ["12345678901", "4111 1111 1111 1111"],
    "ALPHANUMERIC_SIX_T_FOUR": ["abcdef123", "abc-ef1234"],
    "FPE_SSN_T_FOUR": ["12-345-6789", "12345678", "abc-de-fghi"],
    "FPE_ACC_NUM_T_FOUR": ["1234", "12a45"],
    "FPE_ALPHANUMERIC_ACC_NUM_T_FOUR": ["ab34", "ab-345"],
    "ALPHANUMERIC_LENGTH_PRESERVING": ["abc", "ab cd"],
}


def test_every_documented_format_is_known() -> None:
    documented = {
        "UUID", "RAW_UUID", "NUM_LENGTH_PRESERVING", "GENERIC_T_FOUR", "VGS_FIXED_LEN_GENERIC",
        "FPE_SIX_T_FOUR", "FPE_T_FOUR", "PFPT", "NON_LUHN_FPE_ALPHANUMERIC",
        "ALPHANUMERIC_SIX_T_FOUR", "FPE_SSN_T_FOUR", "FPE_ACC_NUM_T_FOUR",
        "FPE_ALPHANUMERIC_ACC_NUM_T_FOUR", "CUSTOM", "JS",
    }  # fmt: skip
    assert documented <= formats.FORMATS
    assert set(SAMPLES) == formats.SUPPORTED_FORMATS


@pytest.mark.parametrize(("fmt", "value"), [(f, v) for f, vs in SAMPLES.items() for v in vs])
def test_alias_shape_and_never_equal(fmt: str, value: str) -> None:
    for _ in range(200):
        alias = generate_alias(fmt, value, "sandbox")
        assert alias != value
        assert formats.is_alias_shaped(alias)
        _check_shape(fmt, value, alias)


def _check_shape(fmt: str, value: str, alias: str) -> None:
    if fmt == "UUID":
        assert re.fullmatch(f"tok_sandbox_{B58}{{22}}", alias)
    elif fmt == "RAW_UUID":
        assert re.fullmatch(
            r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", alias
        )
    elif fmt == "VGS_FIXED_LEN_GENERIC":
        assert re.fullmatch("vgssbx00[0-9A-Za-z]{21}", alias)
    elif fmt == "GENERIC_T_FOUR":
        assert re.fullmatch(f"tok_sandbox_{B58}{{22}}_" + re.escape(value[-4:]), alias)
    elif fmt == "NUM_LENGTH_PRESERVING":
        assert alias.isdigit()
        assert len(alias) == len(value)
    elif fmt == "FPE_SIX_T_FOUR":
        assert alias.isdigit()
        assert len(alias) == len(value)
        assert alias[:6] == value[:6]
        assert alias[-4:] == value[-4:]
        assert luhn_valid(alias)
    elif fmt == "FPE_T_FOUR":
        assert alias.isdigit()
        assert len(alias) == len(value)
        assert alias[-4:] == value[-4:]
        assert alias[0] != "0"
        assert luhn_valid(alias)
    elif fmt == "PFPT":
        assert re.fullmatch(r"99\d{17}", alias)
        assert alias[-4:] == value[-4:]
        assert luhn_valid(alias)
    elif fmt == "NON_LUHN_FPE_ALPHANUMERIC":
        assert alias.isdigit()
        assert len(alias) == len(value)
        assert alias[:6] == value[:6]
        assert alias[-4:] == value[-4:]
        assert not luhn_valid(alias)
    elif fmt == "ALPHANUMERIC_SIX_T_FOUR":
        assert re.fullmatch(r"[0-9A-Za-z]{19}", alias)
        assert alias[:6] == value[:6]
        assert alias[-4:] == value[-4:]
    elif fmt == "FPE_SSN_T_FOUR":
        assert re.fullmatch(r"\d{3}-\d{2}-" + value[-4:], alias)
    elif fmt == "ALPHANUMERIC_SSN_T_FOUR":
        assert re.fullmatch(r"[0-9A-Za-z]{3}-[0-9A-Za-z]{2}-" + value[-4:], alias)
    elif fmt == "FPE_ACC_NUM_T_FOUR":
        assert alias.isdigit()
        assert len(alias) == len(value)
        assert alias[-4:] == value[-4:]
    elif fmt in ("FPE_ALPHANUMERIC_ACC_NUM_T_FOUR", "ALPHANUMERIC_LENGTH_PRESERVING_T_FOUR"):
        assert alias.isalnum()
        assert len(alias) == len(value)
        assert alias[-4:] == value[-4:]
    elif fmt == "ALPHANUMERIC_LENGTH_PRESERVING":
        assert alias.isalnum()
        assert len(alias) == len(value)
    elif fmt == "ALPHANUMERIC_LENGTH_PRESERVING_SIX_T_FOUR":
        assert alias.isalnum()
        assert len(alias) == len(value)
        assert alias[:6] == value[:6]
        assert alias[-4:] == value[-4:]
    else:  # pragma: no cover
        pytest.fail(f"no shape check for {fmt}")


def test_live_prefix() -> None:
    assert generate_alias("UUID", "x", "live").startswith("tok_live_")
    assert generate_alias("GENERIC_T_FOUR", "abcd", "live").startswith("tok_live_")
    assert generate_alias("VGS_FIXED_LEN_GENERIC", "x", "live").startswith("vgsliv00")


def test_smallest_card_domain_still_differs_from_input() -> None:
    # 12 digits with 6+4 kept leaves one free digit after the Luhn fix: still never equal.
    value = "411111111117"
    assert luhn_valid(value)
    seen = {generate_alias("FPE_SIX_T_FOUR", value, "sandbox") for _ in range(300)}
    assert value not in seen
    assert len(seen) > 1


@pytest.mark.parametrize(("fmt", "value"), [(f, v) for f, vs in INVALID.items() for v in vs])
def test_invalid_values_are_rejected_naming_field_and_format(fmt: str, value: str) -> None:
    with pytest.raises(BadRequest) as info:
        validate_value_for_format(fmt, value, "data[3].value")
    assert info.value.status == 400
    assert info.value.code == "INVALID_VALUE"
    assert info.value.detail.startswith(f"data[3].value: {fmt} needs ")
    assert value not in info.value.detail or len(value) < 4


def test_fpe_six_t_four_message() -> None:
    with pytest.raises(BadRequest) as info:
        validate_value_for_format("FPE_SIX_T_FOUR", "123", "data[0].value")
    assert info.value.detail == "data[0].value: FPE_SIX_T_FOUR needs 12-19 digits"


def test_empty_value_rejected() -> None:
    with pytest.raises(BadRequest) as info:
        validate_value_for_format("UUID", "", "data[0].value")
    assert info.value.code == "INVALID_VALUE"


@pytest.mark.parametrize("fmt", ["CUSTOM", "JS"])
def test_custom_and_js_not_supported(fmt: str) -> None:
    with pytest.raises(BadRequest) as info:
        generate_alias(fmt, "x", "sandbox")
    assert "format not supported by this vault" in info.value.detail
    assert info.value.code == "UNSUPPORTED_FORMAT"


def test_unknown_format() -> None:
    with pytest.raises(BadRequest) as info:
        formats.check_format("NOPE", "data[1].format")
    assert info.value.code == "INVALID_FORMAT"
    assert info.value.detail.startswith("data[1].format: unknown alias format")


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")


@pytest.mark.parametrize(
    ("text", "shaped"),
    [
        ("tok_sandbox_bhtsCwFUzoJMw9rWUfEV5e", True),
        ("123-45-6789", True),
        ("", False),
        ("a b", False),
        ("tok/../x", False),
        ("x" * 129, False),
    ],
)
def test_is_alias_shaped(text: str, shaped: bool) -> None:
    assert formats.is_alias_shaped(text) is shaped
