"""The local certificate authority of the outbound proxy's TLS interception.

One CA per installation: ``proxy-ca.pem`` (the certificate clients trust; ``vaultswitch
proxy ca`` prints it) and ``proxy-ca-key.pem`` (its private key) in the data directory, both
mode 0600, created on first use under a file lock (two proxies starting together make one
CA). For each host a client ``CONNECT``s to, a leaf certificate is minted on the fly, signed
by the CA, and kept (as a ready server ``ssl.SSLContext``) in a bounded LRU cache.

Keys are ECDSA P-256: minting a leaf takes well under a millisecond. Every leaf of a process
shares one key pair (each is still its own certificate, valid only for its host).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import ipaddress
import os
import secrets
import ssl
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT_FILE = "proxy-ca.pem"
CA_KEY_FILE = "proxy-ca-key.pem"
_LOCK_FILE = ".proxy-ca.lock"
CA_NAME = "vaultswitch local proxy CA"
CA_YEARS = 10
LEAF_DAYS = 397  # what browsers accept for a TLS server certificate
_BACKDATE = dt.timedelta(days=1)  # clocks of clients may be a little behind


class CAError(Exception):
    """The CA files cannot be read or created; ``hint`` says what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True, slots=True)
class CAFiles:
    cert: Path
    key: Path

    @classmethod
    def in_dir(cls, data_dir: Path) -> CAFiles:
        return cls(data_dir / CA_CERT_FILE, data_dir / CA_KEY_FILE)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _new_ca() -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) of a new self-signed CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "vaultswitch"),
        ]
    )
    now = _now()
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + dt.timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    with open(data_dir / _LOCK_FILE, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def load_or_create(data_dir: Path) -> tuple[bytes, bytes]:
    """The installation's CA (certificate PEM, key PEM), created on first use."""
    files = CAFiles.in_dir(data_dir)
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with _locked(data_dir):
            if not files.cert.exists() or not files.key.exists():
                cert_pem, key_pem = _new_ca()
                _write_private(files.key, key_pem)
                _write_private(files.cert, cert_pem)
                return cert_pem, key_pem
            return files.cert.read_bytes(), files.key.read_bytes()
    except OSError as exc:
        raise CAError(
            f"cannot read or create the proxy CA in {data_dir} ({exc.strerror or exc})",
            "check that the data directory (--data-dir / VAULTSWITCH_DATA_DIR) exists and "
            "is writable by this user",
        ) from None


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


class LocalCA:
    """The CA of one installation; :meth:`server_context` gives a TLS context per host."""

    def __init__(self, cert_pem: bytes, key_pem: bytes, *, cache_size: int = 1024) -> None:
        self.cert_pem = cert_pem
        self._cert = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise CAError(
                "the proxy CA key is not an ECDSA key",
                f"delete {CA_CERT_FILE} and {CA_KEY_FILE} in the data directory to make a "
                "new CA (clients must then trust the new one)",
            )
        self._key = key
        self._leaf_key = ec.generate_private_key(ec.SECP256R1())
        self._leaf_key_pem = self._leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self._cache: OrderedDict[str, ssl.SSLContext] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._ski = x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key())

    @classmethod
    def open(cls, data_dir: Path, *, cache_size: int = 1024) -> LocalCA:
        cert_pem, key_pem = load_or_create(data_dir)
        try:
            return cls(cert_pem, key_pem, cache_size=cache_size)
        except ValueError:
            raise CAError(
                f"the proxy CA files in {data_dir} are not a PEM certificate and key",
                f"delete {CA_CERT_FILE} and {CA_KEY_FILE} there to make a new CA "
                "(clients must then trust the new one)",
            ) from None

    @property
    def certificate(self) -> x509.Certificate:
        return self._cert

    def mint(self, host: str) -> bytes:
        """A PEM certificate for ``host`` (a name or an IP address), signed by the CA."""
        now = _now()
        not_after = min(now + dt.timedelta(days=LEAF_DAYS), self._cert.not_valid_after_utc)
        public = self._leaf_key.public_key()
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host[:64])]))
            .issuer_name(self._cert.subject)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([_san(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(self._ski, critical=False)
            .sign(self._key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM)

    def server_context(self, host: str) -> ssl.SSLContext:
        """A server TLS context presenting a certificate for ``host`` (cached, LRU)."""
        name = host.lower()
        with self._lock:
            found = self._cache.get(name)
            if found is not None:
                self._cache.move_to_end(name)
                return found
        context = self._context_for(self.mint(name))
        with self._lock:
            self._cache[name] = context
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return context

    def cached_hosts(self) -> list[str]:
        """The hosts with a context in the cache, least recently used first."""
        with self._lock:
            return list(self._cache)

    def _context_for(self, leaf_pem: bytes) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(["http/1.1"])
        # ssl loads a certificate chain from files only: a private temporary file, removed
        # as soon as it is read
        fd, name = tempfile.mkstemp(prefix="vaultswitch-leaf-", suffix=".pem")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(leaf_pem + self.cert_pem + self._leaf_key_pem)
            context.load_cert_chain(name)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
        return context
