"""Alias formats (VGS `format` values): input rules and random alias generation.

Format-preserving formats are random stored tokens, not FPE: the vault keeps the
alias -> record mapping, so tokens need no key and can be Luhn-fixed. A generated
alias is never equal to the input value.
"""

from __future__ import annotations

import os
import re
import secrets
import uuid
from collections.abc import Callable

from vaultswitch.domain.digits import luhn_valid as luhn_valid
from vaultswitch.vault.core.errors import BadRequest

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
DIGITS = "0123456789"

UNSUPPORTED_FORMATS = frozenset({"CUSTOM", "JS"})

_MAX_PRESERVING_LEN = 64
_DIGITS_RE = re.compile(r"[0-9]+")
_ALNUM_RE = re.compile(r"[A-Za-z0-9]+")
_SSN_RE = re.compile(r"([0-9]{3})-?([0-9]{2})-?([0-9]{4})")
_ALIAS_RE = re.compile(r"[A-Za-z0-9_-]{1,128}")

PREFIXES = {"sandbox": "tok_sandbox_", "live": "tok_live_"}
FIXED_LEN_PREFIXES = {"sandbox": "vgssbx00", "live": "vgsliv00"}


def _random(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


_BASE58_PAIRS = tuple(a + b for a in BASE58 for b in BASE58)  # digit pairs: base 58**2
_B58_2 = 58**2
_B58_4 = 58**4
_B58_8 = 58**8


def base58_uuid() -> str:
    """22 base58 characters encoding 128 random bits (left-padded with '1')."""
    return base58_128(int.from_bytes(os.urandom(16), "big"))


def base58_128(number: int) -> str:
    """A number below 2**128 (< 58**22) as 22 base58 digits.

    Two divisions of the 128-bit number split it into parts below 58**8 (two
    machine-word-sized ints); those are cut into digit pairs with small-int
    arithmetic, which is cheaper than eleven divisions of the big number.
    """
    pairs = _BASE58_PAIRS
    rest, low = divmod(number, _B58_8)
    high, mid = divmod(rest, _B58_8)  # high < 58**6
    h1, h0 = divmod(high, _B58_4)
    m1, m0 = divmod(mid, _B58_4)
    l1, l0 = divmod(low, _B58_4)
    h01, h00 = divmod(h0, _B58_2)
    m11, m10 = divmod(m1, _B58_2)
    m01, m00 = divmod(m0, _B58_2)
    l11, l10 = divmod(l1, _B58_2)
    l01, l00 = divmod(l0, _B58_2)
    return "".join(
        (
            pairs[h1],
            pairs[h01],
            pairs[h00],
            pairs[m11],
            pairs[m10],
            pairs[m01],
            pairs[m00],
            pairs[l11],
            pairs[l10],
            pairs[l01],
            pairs[l00],
        )
    )


def _fix_luhn(digits: list[str], free: int, want_valid: bool) -> None:
    """Set digit `free` so the whole number is (or is not) Luhn-valid."""
    for d in secrets.SystemRandom().sample(DIGITS, 10):
        digits[free] = d
        if luhn_valid("".join(digits)) == want_valid:
            return


def _card_like(value: str, keep_head: int, want_valid: bool) -> str:
    """Random digits keeping `keep_head` leading and 4 trailing digits, Luhn fixed.

    With keep_head=0 the first digit is a random non-zero digit.
    """
    if keep_head:
        head, keep = value[:keep_head], keep_head
    else:
        head, keep = secrets.choice("123456789"), 1
    middle = len(value) - keep - 4
    digits = list(head + _random(DIGITS, middle) + value[-4:])
    # The free digit is inside the random middle, so head and tail stay intact.
    _fix_luhn(digits, keep + secrets.randbelow(middle), want_valid)
    return "".join(digits)


class _Spec:
    def __init__(
        self,
        rule: str,
        check: Callable[[str], bool],
        make: Callable[[str, str], str],
    ) -> None:
        self.rule = rule
        self.check = check
        self.make = make


def _digits_between(lo: int, hi: int) -> Callable[[str], bool]:
    return lambda v: lo <= len(v) <= hi and _DIGITS_RE.fullmatch(v) is not None


def _alnum_between(lo: int, hi: int) -> Callable[[str], bool]:
    return lambda v: lo <= len(v) <= hi and _ALNUM_RE.fullmatch(v) is not None


def _any(_: str) -> bool:
    return True


def _last_four_alnum(v: str) -> bool:
    return len(v) >= 4 and _ALNUM_RE.fullmatch(v[-4:]) is not None


def _six_four_alnum(v: str) -> bool:
    return len(v) >= 10 and _ALNUM_RE.fullmatch(v[:6] + v[-4:]) is not None


def _ssn(v: str) -> bool:
    return _SSN_RE.fullmatch(v) is not None


def _ssn_last4(v: str) -> str:
    m = _SSN_RE.fullmatch(v)
    assert m is not None
    return m.group(3)


_SPECS: dict[str, _Spec] = {
    "UUID": _Spec("any non-empty value", _any, lambda v, env: PREFIXES[env] + base58_uuid()),
    "RAW_UUID": _Spec("any non-empty value", _any, lambda v, env: str(uuid.uuid4())),
    "VGS_FIXED_LEN_GENERIC": _Spec(
        "any non-empty value",
        _any,
        lambda v, env: FIXED_LEN_PREFIXES[env] + _random(BASE62, 21),
    ),
    "GENERIC_T_FOUR": _Spec(
        "at least 4 characters, the last 4 ASCII letters or digits",
        _last_four_alnum,
        lambda v, env: f"{PREFIXES[env]}{base58_uuid()}_{v[-4:]}",
    ),
    "NUM_LENGTH_PRESERVING": _Spec(
        f"4-{_MAX_PRESERVING_LEN} digits",
        _digits_between(4, _MAX_PRESERVING_LEN),
        lambda v, env: _random(DIGITS, len(v)),
    ),
    "FPE_SIX_T_FOUR": _Spec(
        "12-19 digits",
        _digits_between(12, 19),
        lambda v, env: _card_like(v, 6, want_valid=True),
    ),
    "FPE_T_FOUR": _Spec(
        "12-19 digits",
        _digits_between(12, 19),
        lambda v, env: _card_like(v, 0, want_valid=True),
    ),
    "PFPT": _Spec(
        "12-19 digits",
        _digits_between(12, 19),
        lambda v, env: _pfpt(v),
    ),
    "NON_LUHN_FPE_ALPHANUMERIC": _Spec(
        "12-19 digits",
        _digits_between(12, 19),
        lambda v, env: _card_like(v, 6, want_valid=False),
    ),
    "ALPHANUMERIC_SIX_T_FOUR": _Spec(
        "at least 10 characters, the first 6 and last 4 ASCII letters or digits",
        _six_four_alnum,
        lambda v, env: v[:6] + _random(BASE62, 9) + v[-4:],
    ),
    "FPE_SSN_T_FOUR": _Spec(
        "an SSN: 9 digits as NNN-NN-NNNN or NNNNNNNNN",
        _ssn,
        lambda v, env: f"{_random(DIGITS, 3)}-{_random(DIGITS, 2)}-{_ssn_last4(v)}",
    ),
    "ALPHANUMERIC_SSN_T_FOUR": _Spec(
        "an SSN: 9 digits as NNN-NN-NNNN or NNNNNNNNN",
        _ssn,
        lambda v, env: f"{_random(BASE62, 3)}-{_random(BASE62, 2)}-{_ssn_last4(v)}",
    ),
    "FPE_ACC_NUM_T_FOUR": _Spec(
        f"5-{_MAX_PRESERVING_LEN} digits",
        _digits_between(5, _MAX_PRESERVING_LEN),
        lambda v, env: _random(DIGITS, len(v) - 4) + v[-4:],
    ),
    "FPE_ALPHANUMERIC_ACC_NUM_T_FOUR": _Spec(
        f"5-{_MAX_PRESERVING_LEN} ASCII letters or digits",
        _alnum_between(5, _MAX_PRESERVING_LEN),
        lambda v, env: _random(BASE62, len(v) - 4) + v[-4:],
    ),
    "ALPHANUMERIC_LENGTH_PRESERVING": _Spec(
        f"4-{_MAX_PRESERVING_LEN} ASCII letters or digits",
        _alnum_between(4, _MAX_PRESERVING_LEN),
        lambda v, env: _random(BASE62, len(v)),
    ),
    "ALPHANUMERIC_LENGTH_PRESERVING_T_FOUR": _Spec(
        f"5-{_MAX_PRESERVING_LEN} ASCII letters or digits",
        _alnum_between(5, _MAX_PRESERVING_LEN),
        lambda v, env: _random(BASE62, len(v) - 4) + v[-4:],
    ),
    "ALPHANUMERIC_LENGTH_PRESERVING_SIX_T_FOUR": _Spec(
        f"11-{_MAX_PRESERVING_LEN} ASCII letters or digits",
        _alnum_between(11, _MAX_PRESERVING_LEN),
        lambda v, env: v[:6] + _random(BASE62, len(v) - 10) + v[-4:],
    ),
}


def _pfpt(value: str) -> str:
    """19 digits: `99` + 13 random digits + the last 4 of the input, Luhn-valid."""
    digits = list("99" + _random(DIGITS, 13) + value[-4:])
    _fix_luhn(digits, 2 + secrets.randbelow(13), want_valid=True)
    return "".join(digits)


SUPPORTED_FORMATS: frozenset[str] = frozenset(_SPECS)
FORMATS: frozenset[str] = SUPPORTED_FORMATS | UNSUPPORTED_FORMATS
DEFAULT_FORMAT = "UUID"


def format_rule(fmt: str) -> str:
    """Human-readable input rule of a supported format."""
    return _SPECS[fmt].rule


def check_format(fmt: str, field: str = "format") -> None:
    """Raise BadRequest unless `fmt` is a format this vault can generate."""
    if fmt in UNSUPPORTED_FORMATS:
        raise BadRequest(
            f"{field}: {fmt} format not supported by this vault", code="UNSUPPORTED_FORMAT"
        )
    if fmt not in _SPECS:
        raise BadRequest(
            f"{field}: unknown alias format {fmt[:64]!r}; use one of "
            + ", ".join(sorted(SUPPORTED_FORMATS)),
            code="INVALID_FORMAT",
        )


def validate_value_for_format(fmt: str, value: str, field: str = "value") -> None:
    """Raise BadRequest (naming `field` and the format) if `value` does not fit `fmt`."""
    check_format(fmt)
    if not value:
        raise BadRequest(f"{field}: value must not be empty", code="INVALID_VALUE")
    spec = _SPECS[fmt]
    if not spec.check(value):
        raise BadRequest(f"{field}: {fmt} needs {spec.rule}", code="INVALID_VALUE")


def value_fits(fmt: str, value: str) -> bool:
    """True if `fmt` is a supported format and `value` (non-empty) meets its input rule."""
    spec = _SPECS.get(fmt)
    return spec is not None and bool(value) and spec.check(value)


def generate_alias(fmt: str, value: str, environment: str) -> str:
    """A new random alias of `fmt` for `value` (validated first), never equal to it."""
    validate_value_for_format(fmt, value)
    return new_alias(fmt, value, environment)


def new_alias(fmt: str, value: str, environment: str) -> str:
    """A new random alias of `fmt` for a `value` already validated for it, never equal to it."""
    spec = _SPECS[fmt]
    env = environment if environment in PREFIXES else "sandbox"
    while True:
        alias = spec.make(value, env)
        if alias != value:
            return alias


def is_alias_shaped(s: str) -> bool:
    """True if `s` could be an alias of some format (1-128 of A-Z a-z 0-9 _ -)."""
    return _ALIAS_RE.fullmatch(s) is not None
