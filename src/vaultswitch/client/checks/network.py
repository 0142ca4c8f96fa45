"""The blocking network probes under ``doctor``'s DNS, TCP and TLS checks.

Plain functions over sockets, run by the check drivers through
:class:`~vaultswitch.client.checks.steps.Blocking` (inline by the sync driver, in a worker
thread by the async one). Each either returns what it found or raises the ``OSError`` /
``ssl.SSLError`` of the failure, for the check to explain.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography import x509

#: ``socket.getaddrinfo``'s signature; injectable so tests need no DNS server.
Resolver = Callable[..., Sequence[tuple[Any, ...]]]

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a URL leads: scheme, host and port (the scheme's default when not given)."""

    scheme: str
    host: str
    port: int

    @property
    def tls(self) -> bool:
        return self.scheme == "https"

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def is_ip(self) -> bool:
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True


def endpoint_of(url: str) -> Endpoint | None:
    """The endpoint of an ``http(s)://`` URL, or None when it names none. Credentials in
    the URL are dropped: an Endpoint never holds them."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return Endpoint(scheme, parts.hostname, port if port is not None else _DEFAULT_PORTS[scheme])


def resolve(host: str, port: int, resolver: Resolver = socket.getaddrinfo) -> tuple[str, ...]:
    """The addresses ``host`` resolves to for TCP, in the resolver's order, without repeats.
    Raises ``socket.gaierror`` when it does not resolve."""
    infos = resolver(host, port, type=socket.SOCK_STREAM)
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, "no address for the host")
    return addresses


def connect(address: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to one address (the caller closes it)."""
    return socket.create_connection((address, port), timeout=timeout)


def connect_any(addresses: Sequence[str], port: int, timeout: float) -> str:
    """Open (and close) a TCP connection to the first address that accepts one; return it.
    Raises the error of the last address when none does."""
    error: OSError = OSError("no address to connect to")
    for address in addresses:
        try:
            connect(address, port, timeout).close()
        except OSError as exc:
            error = exc
            continue
        return address
    raise error


def tcp_failure(exc: OSError) -> str:
    """What a failed TCP connection ran into, in a few words."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused: nothing listens on that port"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out: nothing answered (a firewall may drop the packets)"
    reason = exc.strerror or type(exc).__name__
    return reason[0].lower() + reason[1:] if reason else type(exc).__name__


def ssl_context(verify: bool | str, trust_env: bool = True) -> ssl.SSLContext:
    """The TLS context httpx builds for the same ``verify`` / ``trust_env``: a CA bundle path,
    the default trust store (certifi, or SSL_CERT_FILE / SSL_CERT_DIR), or no verification."""
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return httpx.create_ssl_context(verify=verify, trust_env=trust_env)


@dataclass(frozen=True, slots=True)
class TlsSession:
    """What a handshake showed: protocol version, and the certificate when it was verified."""

    version: str
    verified: bool
    subject: str | None = None
    not_after: dt.datetime | None = None


def _name_of(cert: dict[str, Any], key: str) -> str | None:
    for rdn in cert.get(key, ()):
        for name, value in rdn:
            if name == "commonName":
                return str(value)
    return None


def tls_handshake(
    address: str, port: int, server_hostname: str, context: ssl.SSLContext, timeout: float
) -> TlsSession:
    """Connect to ``address`` and complete a TLS handshake for ``server_hostname`` (SNI and
    certificate name check). Raises ``ssl.SSLError`` (``SSLCertVerificationError`` for an
    untrusted or mismatched certificate) or ``OSError``."""
    with (
        connect(address, port, timeout) as sock,
        context.wrap_socket(sock, server_hostname=server_hostname) as tls,
    ):
        version = tls.version() or "TLS"
        cert = tls.getpeercert()
    if not cert:
        return TlsSession(version, verified=False)
    not_after = cert.get("notAfter")
    expires = (
        dt.datetime.fromtimestamp(ssl.cert_time_to_seconds(not_after), dt.UTC)
        if isinstance(not_after, str)
        else None
    )
    return TlsSession(version, True, _name_of(cert, "subject"), expires)


def tls_failure(exc: Exception) -> str:
    """What a failed handshake ran into, in a few words (OpenSSL's own reason)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate not accepted: {exc.verify_message or exc.reason or 'verify failed'}"
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or type(exc).__name__
        if "WRONG_VERSION_NUMBER" in reason or "RECORD_LAYER_FAILURE" in reason:
            return f"no TLS on that port ({reason}): it may speak plain HTTP"
        return f"TLS handshake failed ({reason})"
    if isinstance(exc, OSError):
        return tcp_failure(exc)
    return type(exc).__name__


# --- certificates --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaCertificate:
    """The parts of an X.509 certificate the proxy check reports."""

    subject: str
    not_after: dt.datetime
    is_ca: bool  # BasicConstraints ca (a v1 certificate, which has none, counts as one)


def load_certificate(text: str) -> CaCertificate:
    """Parse a certificate given as PEM, or as base64 of PEM or DER (Hyperswitch's
    ``certificate`` metadata takes either). ValueError when it is none of them."""
    raw = text.strip().encode()
    cert: x509.Certificate | None = None
    if raw.startswith(b"-----BEGIN"):
        cert = x509.load_pem_x509_certificate(raw)
    else:
        try:
            decoded = base64.b64decode(b"".join(raw.split()), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("neither PEM nor base64") from None
        if decoded.lstrip().startswith(b"-----BEGIN"):
            cert = x509.load_pem_x509_certificate(decoded.strip())
        else:
            cert = x509.load_der_x509_certificate(decoded)
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
        is_ca = constraints.value.ca
    except x509.ExtensionNotFound:
        # an X.509 v3 CA must say so (RFC 5280); a v1 certificate cannot
        is_ca = cert.version is x509.Version.v1
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    subject = str(names[0].value) if names else cert.subject.rfc4514_string() or "(no subject)"
    return CaCertificate(subject, cert.not_valid_after_utc, is_ca)
