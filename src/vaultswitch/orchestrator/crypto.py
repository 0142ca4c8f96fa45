"""Keys and encryption at rest for the orchestrator.

One master key (setting or a 0600 key file) is the root. Purpose keys are derived from
it with HKDF-SHA256 (``derive``): one AES-256-GCM key seals connector credentials and
customer PII, one HMAC-SHA256 key hashes API keys, one seals access tokens in Redis.
Every sealed blob is bound to where it belongs by associated data (e.g. the connector
account id), so a ciphertext copied to another row does not open.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vaultswitch.orchestrator.log import logger

KEY_BYTES = 32
NONCE_BYTES = 12
BLOB_VERSION = b"\x01"
_DERIVED_MAX = 4096


class KeyringError(Exception):
    """The master key is malformed, or a blob does not open with it."""


def generate_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii")


def decode_key(text: str) -> bytes:
    """urlsafe-base64 of 32 bytes, or KeyringError (never echoing the text)."""
    raw = text.strip()
    try:
        key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise KeyringError(
            "the orchestrator master key must be urlsafe-base64 of 32 bytes (generate one with: "
            "python -c 'import base64,os;print(base64.urlsafe_b64encode(os.urandom(32)).decode())')"
        )
    return key


def write_private_file(path: Path, text: str) -> bool:
    """Create `path` with mode 0600 holding `text`; False (file untouched) if it exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(text + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # atomic create-if-absent, safe between processes
        except FileExistsError:
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)


def read_private_file(path: Path) -> str:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        logger().warning("orchestrator.key_file_permissions", path=str(path), mode=oct(mode))
    return path.read_text(encoding="ascii").strip()


def load_or_create_master_key(key_text: str | None, key_file: Path) -> bytes:
    """The configured key, else the key file (created 0600 on first start)."""
    if key_text:
        return decode_key(key_text)
    if not key_file.exists() and write_private_file(key_file, encode_key(generate_key())):
        logger().info("orchestrator.master_key_created", path=str(key_file))
    return decode_key(read_private_file(key_file))


class Keyring:
    """Purpose keys derived from the master key, and sealing with associated data."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != KEY_BYTES:
            raise KeyringError("the orchestrator master key must be 32 bytes")
        self._master = master_key
        # purpose -> key: requests derive per-merchant keys (fingerprints, idempotency) again
        # and again, and HKDF costs ~20 µs; bounded, cleared when full
        self._derived: dict[str, bytes] = {}
        self._aead = AESGCM(self.derive("seal"))
        self._api_key_mac = self.derive("api-key-hash")

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key for one purpose (HKDF-SHA256; same master → same key everywhere)."""
        key = self._derived.get(purpose)
        if key is None:
            key = HKDF(
                algorithm=hashes.SHA256(),
                length=KEY_BYTES,
                salt=b"vaultswitch orchestrator v1",
                info=purpose.encode(),
            ).derive(self._master)
            if len(self._derived) >= _DERIVED_MAX:
                self._derived.clear()
            self._derived[purpose] = key
        return key

    def seal(self, plaintext: bytes, aad: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return BLOB_VERSION + nonce + self._aead.encrypt(nonce, plaintext, aad.encode())

    def open(self, blob: bytes, aad: str) -> bytes:
        if len(blob) <= 1 + NONCE_BYTES or blob[:1] != BLOB_VERSION:
            raise KeyringError("sealed value has an unknown format")
        nonce = blob[1 : 1 + NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, blob[1 + NONCE_BYTES :], aad.encode())
        except InvalidTag as exc:
            raise KeyringError(
                "a sealed value does not open with this master key (wrong key, or the value "
                "was copied from another row)"
            ) from exc

    def seal_json(self, value: Any, aad: str) -> bytes:
        return self.seal(json.dumps(value, separators=(",", ":")).encode(), aad)

    def open_json(self, blob: bytes, aad: str) -> Any:
        return json.loads(self.open(blob, aad))

    def seal_text(self, value: str | None, aad: str) -> bytes | None:
        return None if value is None else self.seal(value.encode(), aad)

    def open_text(self, blob: bytes | None, aad: str) -> str | None:
        return None if blob is None else self.open(bytes(blob), aad).decode()

    def hash_api_key(self, plaintext: str) -> str:
        """HMAC-SHA256 (hex) of an API key under the derived API-key hashing key."""
        return hmac.new(self._api_key_mac, plaintext.encode(), hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return "Keyring(<sealed>)"
