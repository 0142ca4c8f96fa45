"""Log references: short, stable, keyed, and never the input itself."""

from __future__ import annotations

import re

from vaultswitch.vault.core.log_refs import LogRefs

KEY = bytes(range(32))


def test_references_are_short_stable_and_keyed() -> None:
    refs = LogRefs(KEY)
    alias = "4111119876541111"  # an FPE alias: Luhn-valid, shaped like a card number
    ref = refs.alias(alias)
    assert re.fullmatch(r"alias:[0-9a-f]{10}", ref)
    assert refs.alias(alias) == ref
    assert LogRefs(KEY).alias(alias) == ref  # the same key gives the same reference
    assert LogRefs(bytes(32)).alias(alias) != ref  # another key, another reference
    assert refs.alias(alias + "2") != ref
    assert alias not in ref


def test_unknown_ids_and_actors() -> None:
    refs = LogRefs(KEY)
    secret = "pasted-secret-value"
    unknown = refs.unknown(secret)
    assert re.fullmatch(r"unknown:[0-9a-f]{10}", unknown)
    assert unknown[8:] != refs.alias(secret)[6:]  # separate domains under one key
    assert refs.actor(secret, known=False) == unknown
    assert refs.actor("ACknownclient", known=True) == "ACknownclient"
    assert re.fullmatch(r"unknown:[0-9a-f]{10}", refs.unknown("\ud800\x00"))  # any text


def test_repr_hides_the_key() -> None:
    assert KEY.hex() not in repr(LogRefs(KEY))
    assert str(KEY) not in repr(LogRefs(KEY))
