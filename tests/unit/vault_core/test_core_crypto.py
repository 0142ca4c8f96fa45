"""Envelope encryption, AAD binding, master key handling, secret hashing."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from vaultswitch.vault.core import crypto
from vaultswitch.vault.core.errors import DecryptionFailed, InvalidMasterKey, MasterKeyMismatch


def test_seal_open_round_trip() -> None:
    key = crypto.DataKey(crypto.generate_key(), 1)
    aad = crypto.value_aad("tntabc", "rec1")
    blob = key.seal(b"4111111111111111", aad)
    assert b"4111111111111111" not in blob
    assert key.open(blob, aad) == b"4111111111111111"


@pytest.mark.parametrize(
    "other_aad",
    [
        crypto.value_aad("tntabc", "rec2"),
        crypto.value_aad("tntxyz", "rec1"),
        crypto.volatile_aad("tntabc", "rec1"),
    ],
)
def test_ciphertext_bound_to_vault_and_record(other_aad: bytes) -> None:
    key = crypto.DataKey(crypto.generate_key(), 1)
    blob = key.seal(b"secret", crypto.value_aad("tntabc", "rec1"))
    with pytest.raises(DecryptionFailed):
        key.open(blob, other_aad)


def test_wrong_data_key_and_tampering_fail() -> None:
    aad = crypto.value_aad("v", "r")
    blob = crypto.DataKey(crypto.generate_key(), 1).seal(b"x", aad)
    with pytest.raises(DecryptionFailed):
        crypto.DataKey(crypto.generate_key(), 1).open(blob, aad)
    key = crypto.DataKey(crypto.generate_key(), 1)
    blob = bytearray(key.seal(b"x", aad))
    blob[-1] ^= 1
    with pytest.raises(DecryptionFailed):
        key.open(bytes(blob), aad)


def test_master_wrap_and_wrong_master_gives_clear_error() -> None:
    master = crypto.MasterKey(crypto.generate_key())
    dk = crypto.generate_key()
    wrapped = master.wrap(dk, crypto.data_key_aad("v", 1))
    assert master.unwrap(wrapped, crypto.data_key_aad("v", 1)) == dk
    other = crypto.MasterKey(crypto.generate_key())
    with pytest.raises(MasterKeyMismatch) as info:
        other.unwrap(wrapped, crypto.data_key_aad("v", 1), expected_id=master.key_id)
    assert master.key_id in info.value.detail
    with pytest.raises(MasterKeyMismatch):
        master.unwrap(wrapped, crypto.data_key_aad("v", 2))
    check = master.check_value()
    master.verify(check, master.key_id)
    with pytest.raises(MasterKeyMismatch):
        other.verify(check, master.key_id)


def test_master_key_text_round_trip_and_errors() -> None:
    key = crypto.generate_key()
    assert crypto.decode_master_key(crypto.encode_master_key(key)) == key
    assert crypto.decode_master_key(crypto.encode_master_key(key).rstrip("=") + "\n") == key
    for bad in ["", "short", "!!!!" * 11, crypto.encode_master_key(b"x" * 31)]:
        with pytest.raises(InvalidMasterKey) as info:
            crypto.decode_master_key(bad)
        assert bad.strip() == "" or bad not in info.value.detail


def test_key_file_created_0600_once(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "master.key"
    first = crypto.load_or_create_master_key(None, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert crypto.load_or_create_master_key(None, path) == first
    assert crypto.write_master_key_file(path, crypto.generate_key()) is False
    assert crypto.load_or_create_master_key(None, path) == first
    new = crypto.generate_key()
    assert crypto.write_master_key_file(path, new, overwrite=True)
    assert crypto.load_or_create_master_key(None, path) == new
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["master.key"]


def test_explicit_key_wins_over_file(tmp_path: Path) -> None:
    key = crypto.generate_key()
    got = crypto.load_or_create_master_key(crypto.encode_master_key(key), tmp_path / "k")
    assert got == key
    assert not (tmp_path / "k").exists()


def test_fingerprint_is_keyed() -> None:
    k1, k2 = crypto.generate_key(), crypto.generate_key()
    assert crypto.fingerprint(k1, "4111") == crypto.fingerprint(k1, "4111")
    assert crypto.fingerprint(k1, "4111") != crypto.fingerprint(k2, "4111")
    import hashlib

    assert crypto.fingerprint(k1, "4111") != hashlib.sha256(b"4111").digest()


def test_secret_hash_verify() -> None:
    pepper = crypto.generate_key()
    stored = crypto.hash_secret(pepper, "s3cret")
    assert crypto.verify_secret(pepper, "s3cret", stored)
    assert not crypto.verify_secret(pepper, "s3cret!", stored)
    assert not crypto.verify_secret(crypto.generate_key(), "s3cret", stored)
