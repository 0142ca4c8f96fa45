"""Errors the proxies answer themselves, in the VGS error shape with a hint.

``{"errors": [{"status", "title", "code", "detail", "hint"}], "request_id"}``: the shape of
the vault API's errors plus a ``hint`` that says how to fix it. A ``detail`` never holds a
card number (it is scrubbed), a credential or a body.
"""

from __future__ import annotations

import json
from http import HTTPStatus

import h11

from vaultswitch.domain.redaction import scrub_text

_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class ProxyError(Exception):
    """An answer of the proxy itself (no upstream response is forwarded)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        hint: str,
        *,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.hint = hint
        self.headers = list(headers or [])

    def __str__(self) -> str:
        return f"[{self.code}] {self.detail}"

    def __repr__(self) -> str:
        return f"ProxyError(status={self.status}, code={self.code!r})"

    def body(self, request_id: str) -> bytes:
        try:
            title = HTTPStatus(self.status).phrase
        except ValueError:
            title = "Error"
        return _ENCODE(
            {
                "errors": [
                    {
                        "status": self.status,
                        "title": title,
                        "code": self.code,
                        "detail": scrub_text(self.detail),
                        "hint": self.hint,
                    }
                ],
                "request_id": request_id,
            }
        ).encode("utf-8")

    def events(
        self, request_id: str, *, close: bool = False
    ) -> tuple[h11.Response, h11.Data, h11.EndOfMessage]:
        """The response events (head, body, end) of this error."""
        body = self.body(request_id)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"vgs-request-id", request_id.encode()),
            *self.headers,
        ]
        if close:
            headers.append((b"connection", b"close"))
        return (
            h11.Response(status_code=self.status, headers=headers),
            h11.Data(data=body),
            h11.EndOfMessage(),
        )


PROXY_BAD_REQUEST = "PROXY_BAD_REQUEST"


def bad_request(detail: str, hint: str, code: str = PROXY_BAD_REQUEST) -> ProxyError:
    return ProxyError(400, code, detail, hint)


def upstream_unreachable(where: str, reason: str) -> ProxyError:
    return ProxyError(
        502,
        "UPSTREAM_UNREACHABLE",
        f"could not connect to {where}: {reason}",
        "check that the destination host and port are right and that it is up",
    )


def upstream_tls(where: str, reason: str) -> ProxyError:
    return ProxyError(
        502,
        "UPSTREAM_TLS_ERROR",
        f"TLS with {where} failed: {reason}",
        "if the destination's certificate is signed by a private CA, set "
        "VAULTSWITCH_PROXY_UPSTREAM_CA_FILE to a PEM file with that CA",
    )


def upstream_timeout(where: str, seconds: float) -> ProxyError:
    return ProxyError(
        504,
        "UPSTREAM_TIMEOUT",
        f"{where} sent nothing for {seconds:g} s",
        "raise the limit with VAULTSWITCH_PROXY_UPSTREAM_TIMEOUT (seconds) or "
        "--upstream-timeout, or find out why the destination is slow",
    )


def upstream_protocol(where: str) -> ProxyError:
    return ProxyError(
        502,
        "UPSTREAM_PROTOCOL_ERROR",
        f"{where} did not answer with a valid HTTP/1.1 response",
        "check that the destination speaks HTTP/1.1 on that port (https:// for TLS ports)",
    )


def body_too_large(what: str, limit: int) -> ProxyError:
    return ProxyError(
        413 if what == "request" else 502,
        "BODY_TOO_LARGE",
        f"the {what} body is larger than {limit} bytes, the most a route entry is applied to",
        "send a smaller body, or raise VAULTSWITCH_PROXY_MAX_BODY_BYTES (bytes)",
    )
