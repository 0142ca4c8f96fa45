"""httpx clients that send requests through a VGS outbound proxy (VGS's or ours).

A VGS connector account carries the outbound proxy as ``metadata.proxy_url``
(``http://USERNAME:PASSWORD@tntxxxxxxxx.sandbox.verygoodproxy.com:8080``, or ``https://...:8443``)
and ``metadata.certificate``: the CA the proxy signs its intercepted TLS with, as PEM or
base64 of PEM (or DER). A client of the proxy must trust that CA (the proxy reads its TLS
to reveal aliases) as well as the usual ones:

    client = proxy_client_from_metadata(account.metadata)
    client.post("https://api.processor.example/charges", json={"card": {"number": alias}})

The clients trust the proxy's CA plus the system CAs and certifi's bundle (httpx's default),
for the TLS through the proxy and to an ``https://`` proxy itself. The proxy URL holds the
access credentials: it is never shown in an error or a ``repr``.
"""

from __future__ import annotations

import base64
import binascii
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

_CERT_HINT = (
    "Set the connector account's metadata.certificate to the outbound proxy's CA certificate "
    "(PEM, -----BEGIN CERTIFICATE-----, or its base64); for vaultswitch's proxy it is what "
    "`vaultswitch proxy ca --data-dir DIR` prints"
)
_URL_HINT = (
    "Set metadata.proxy_url to the outbound proxy with the vault's access credentials: "
    "http://USERNAME:PASSWORD@HOST:PORT (VGS shows it on the vault's dashboard)"
)


class ProxyConfigError(ValueError):
    """The proxy settings cannot make a client; ``field`` names the setting, ``hint`` a fix."""

    def __init__(self, field: str, message: str, hint: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.hint = hint


def certificate_pem(certificate: str) -> str:
    """The certificate(s) as PEM text; from PEM, base64 of PEM, or base64 of DER."""
    raw = certificate.strip().encode("ascii", "replace")
    try:
        if raw.startswith(b"-----BEGIN"):
            certs = x509.load_pem_x509_certificates(raw)
        else:
            decoded = base64.b64decode(b"".join(raw.split()), validate=True)
            if decoded.lstrip().startswith(b"-----BEGIN"):
                certs = x509.load_pem_x509_certificates(decoded.strip())
            else:
                certs = [x509.load_der_x509_certificate(decoded)]
    except (binascii.Error, ValueError):
        raise ProxyConfigError(
            "metadata.certificate",
            "is not a certificate (PEM, or base64 of PEM or DER)",
            _CERT_HINT,
        ) from None
    return "".join(c.public_bytes(Encoding.PEM).decode("ascii") for c in certs)


def proxy_ssl_context(certificate: str | None) -> ssl.SSLContext:
    """TLS trust for clients of the proxy: its CA (when given), the system CAs, certifi's."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    try:
        import certifi

        context.load_verify_locations(cafile=certifi.where())
    except (ImportError, OSError):  # pragma: no cover - certifi comes with httpx
        pass
    if certificate:
        context.load_verify_locations(cadata=certificate_pem(certificate))
    return context


def check_proxy_url(proxy_url: str) -> str:
    """The proxy URL, checked: http(s)://[USER:PASS@]HOST[:PORT] (the credentials unshown)."""
    try:
        url = urlsplit(proxy_url.strip())
        url.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ProxyConfigError("metadata.proxy_url", "is not a valid URL", _URL_HINT) from None
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ProxyConfigError(
            "metadata.proxy_url", "must be an http:// or https:// URL with a host", _URL_HINT
        )
    return proxy_url.strip()


def _proxy(proxy_url: str, certificate: str | None) -> tuple[httpx.Proxy, ssl.SSLContext]:
    context = proxy_ssl_context(certificate)
    url = check_proxy_url(proxy_url)
    if url.lower().startswith("https:"):  # TLS to the proxy itself: the same trust
        return httpx.Proxy(url, ssl_context=context), context
    return httpx.Proxy(url), context


def proxy_client(proxy_url: str, certificate: str | None = None, **kwargs: Any) -> httpx.Client:
    """A sync httpx client whose requests go through the outbound proxy (other httpx.Client
    arguments pass through; ``verify`` and ``proxy`` are this function's)."""
    proxy, context = _proxy(proxy_url, certificate)
    return httpx.Client(proxy=proxy, verify=context, **kwargs)


def async_proxy_client(
    proxy_url: str, certificate: str | None = None, **kwargs: Any
) -> httpx.AsyncClient:
    """The async twin of :func:`proxy_client`."""
    proxy, context = _proxy(proxy_url, certificate)
    return httpx.AsyncClient(proxy=proxy, verify=context, **kwargs)


def _from_metadata(metadata: Mapping[str, Any]) -> tuple[str, str | None]:
    proxy_url = metadata.get("proxy_url")
    if not isinstance(proxy_url, str) or not proxy_url.strip():
        raise ProxyConfigError("metadata.proxy_url", "is not set", _URL_HINT)
    certificate = metadata.get("certificate")
    if certificate is not None and not isinstance(certificate, str):
        raise ProxyConfigError("metadata.certificate", "must be a string", _CERT_HINT)
    return proxy_url, certificate or None


def proxy_client_from_metadata(metadata: Mapping[str, Any], **kwargs: Any) -> httpx.Client:
    """:func:`proxy_client` from a VGS connector account's ``metadata`` (``proxy_url`` and
    ``certificate``)."""
    return proxy_client(*_from_metadata(metadata), **kwargs)


def async_proxy_client_from_metadata(
    metadata: Mapping[str, Any], **kwargs: Any
) -> httpx.AsyncClient:
    """:func:`async_proxy_client` from a VGS connector account's ``metadata``."""
    return async_proxy_client(*_from_metadata(metadata), **kwargs)


__all__ = [
    "ProxyConfigError",
    "async_proxy_client",
    "async_proxy_client_from_metadata",
    "certificate_pem",
    "check_proxy_url",
    "proxy_client",
    "proxy_client_from_metadata",
    "proxy_ssl_context",
]
