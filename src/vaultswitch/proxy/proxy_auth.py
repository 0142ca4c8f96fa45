"""``Proxy-Authorization: Basic`` with a vault's v1 access credentials (as VGS's proxy).

A proxy URL ``http://USERNAME:PASSWORD@HOST:PORT`` makes clients send
``Proxy-Authorization: Basic base64(USERNAME:PASSWORD)``; the credentials are checked by the
vault core (constant-time, the password is stored hashed) and name the vault whose routes
apply. Missing or wrong credentials get 407 with ``Proxy-Authenticate``.
"""

from __future__ import annotations

import base64
import binascii

from vaultswitch.proxy.errors import ProxyError

REALM = b'Basic realm="vaultswitch outbound proxy", charset="UTF-8"'
_HINT = (
    "put the vault's access credentials in the proxy URL: http://USERNAME:PASSWORD@HOST:PORT "
    "(create them with `vaultswitch vault access-credentials create --vault VAULT_ID`)"
)


def proxy_auth_required(detail: str) -> ProxyError:
    return ProxyError(
        407,
        "PROXY_AUTHENTICATION_REQUIRED",
        detail,
        _HINT,
        headers=[(b"proxy-authenticate", REALM)],
    )


def basic_credentials(value: bytes | None) -> tuple[str, str]:
    """(username, password) of a ``Basic`` Proxy-Authorization value; 407 ProxyError if not."""
    if value is None:
        raise proxy_auth_required("the request has no Proxy-Authorization header")
    scheme, _, token = value.strip().partition(b" ")
    if scheme.lower() != b"basic" or not token.strip():
        raise proxy_auth_required("Proxy-Authorization must use the Basic scheme")
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise proxy_auth_required(
            "Proxy-Authorization is not valid base64 of USER:PASSWORD"
        ) from None
    username, sep, password = decoded.partition(":")
    if not sep or not username or not password:
        raise proxy_auth_required("Proxy-Authorization must hold USERNAME:PASSWORD")
    if len(username) > 64 or len(password) > 256 or "\x00" in decoded:
        raise proxy_auth_required("the proxy credentials are not valid access credentials")
    return username, password


def wrong_credentials() -> ProxyError:
    return proxy_auth_required("the proxy credentials are not valid access credentials")
