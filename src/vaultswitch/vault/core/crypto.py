"""Keys and encryption at rest.

Key hierarchy: master key (env or 0600 key file) wraps, per vault, one AES-256-GCM
data key per version and one HMAC-SHA256 fingerprint key. Every sealed blob
carries associated data that binds it to where it belongs (vault + record, vault +
alias, or secret name), so a ciphertext copied elsewhere fails to open.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vaultswitch.vault.core.errors import DecryptionFailed, InvalidMasterKey, MasterKeyMismatch

log = structlog.get_logger(__name__)

KEY_BYTES = 32
NONCE_BYTES = 12
BLOB_VERSION = b"\x01"
CHECK_PLAINTEXT = b"vaultswitch master key check v1"


def generate_key() -> bytes:
    """32 random bytes (a master, data, fingerprint or pepper key)."""
    return secrets.token_bytes(KEY_BYTES)


def encode_master_key(key: bytes) -> str:
    """urlsafe-base64 text form of a master key (what env/key file hold)."""
    return base64.urlsafe_b64encode(key).decode("ascii")


def decode_master_key(text: str) -> bytes:
    """Parse urlsafe-base64 of 32 bytes; raise InvalidMasterKey otherwise (never echoing it)."""
    raw = text.strip()
    try:
        key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise InvalidMasterKey(
            "the master key must be urlsafe-base64 of 32 bytes "
            "(generate one with: python -c 'import base64,os;"
            "print(base64.urlsafe_b64encode(os.urandom(32)).decode())')"
        )
    return key


def master_key_id(key: bytes) -> str:
    """Short public id of a master key (HMAC of a constant, reveals nothing about the key)."""
    return hmac.new(key, b"vaultswitch master key id", hashlib.sha256).hexdigest()[:16]


def write_master_key_file(path: Path, key: bytes, *, overwrite: bool = False) -> bool:
    """Write `key` to `path` with mode 0600, atomically.

    Without `overwrite`, returns False (and leaves the file) when it already exists.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # a new data dir is private
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(encode_master_key(key) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def load_or_create_master_key(key_text: str | None, key_file: Path) -> bytes:
    """The configured master key, else the key file (created 0600 on first start)."""
    if key_text:
        return decode_master_key(key_text)
    if not key_file.exists() and write_master_key_file(key_file, generate_key()):
        log.info("vault.master_key_created", path=str(key_file))
    mode = key_file.stat().st_mode & 0o777
    if mode & 0o077:
        log.warning("vault.master_key_file_permissions", path=str(key_file), mode=oct(mode))
    return decode_master_key(key_file.read_text(encoding="ascii"))


def _seal(aead: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return BLOB_VERSION + nonce + aead.encrypt(nonce, plaintext, aad)


def _open(aead: AESGCM, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != BLOB_VERSION:
        raise InvalidTag
    return aead.decrypt(blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :], aad)


class MasterKey:
    """Wraps and unwraps keys and server secrets."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise InvalidMasterKey("the master key must be 32 bytes")
        self._aead = AESGCM(key)
        self.key_id = master_key_id(key)

    def __repr__(self) -> str:
        return f"MasterKey(id={self.key_id})"

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        return _seal(self._aead, plaintext, b"vaultswitch:wrap:" + aad)

    def unwrap(self, blob: bytes, aad: bytes, expected_id: str | None = None) -> bytes:
        """Open a wrapped blob; a failure means the wrong master key (clear error)."""
        try:
            return _open(self._aead, blob, b"vaultswitch:wrap:" + aad)
        except InvalidTag:
            hint = f" (database expects key id {expected_id})" if expected_id else ""
            raise MasterKeyMismatch(
                f"the master key (id {self.key_id}) does not open this vault database's keys"
                f"{hint}; set VAULTSWITCH_MASTER_KEY or the key file to the key the database "
                "is under now (after a rotation: the newest key rotate-master-key wrote)"
            ) from None

    def check_value(self) -> bytes:
        """A sealed constant stored in the database to recognise this key later."""
        return self.wrap(CHECK_PLAINTEXT, b"check")

    def verify(self, check: bytes, expected_id: str | None) -> None:
        """Raise MasterKeyMismatch unless `check` was made by this key."""
        if self.unwrap(check, b"check", expected_id) != CHECK_PLAINTEXT:
            raise MasterKeyMismatch("master key check value is corrupt")


class DataKey:
    """One AES-256-GCM data key version of a vault."""

    __slots__ = ("_aead", "version")

    def __init__(self, key: bytes, version: int) -> None:
        self._aead = AESGCM(key)
        self.version = version

    def __repr__(self) -> str:
        return f"DataKey(version={self.version})"

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        return _seal(self._aead, plaintext, aad)

    def open(self, blob: bytes, aad: bytes) -> bytes:
        try:
            return _open(self._aead, blob, aad)
        except InvalidTag:
            raise DecryptionFailed(
                "a stored value failed its integrity check (wrong key or moved ciphertext)"
            ) from None


def data_key_aad(vault_id: str, version: int) -> bytes:
    return f"data-key|{vault_id}|{version}".encode()


def fingerprint_key_aad(vault_id: str) -> bytes:
    return f"fingerprint-key|{vault_id}".encode()


def server_secret_aad(name: str) -> bytes:
    return f"server-secret|{name}".encode()


def value_aad(vault_id: str, record_id: str) -> bytes:
    """Associated data binding a persistent value to its vault and record."""
    return f"vaultswitch:value:v1|{vault_id}|{record_id}".encode()


def volatile_aad(vault_id: str, alias: str) -> bytes:
    """Associated data binding a VOLATILE value to its vault and alias."""
    return f"vaultswitch:volatile:v1|{vault_id}|{alias}".encode()


def fingerprint(key: bytes, value: str) -> bytes:
    """Keyed fingerprint of a value: HMAC-SHA256 under the vault's fingerprint key."""
    return hmac.digest(key, value.encode("utf-8"), "sha256")


def hash_secret(pepper: bytes, secret: str) -> bytes:
    """HMAC-SHA256 of a high-entropy secret under the server pepper."""
    return hmac.new(pepper, secret.encode("utf-8"), hashlib.sha256).digest()


def verify_secret(pepper: bytes, secret: str, stored: bytes) -> bool:
    """Constant-time comparison of a presented secret with its stored hash."""
    return hmac.compare_digest(hash_secret(pepper, secret), stored)
