"""Why a message could not be filtered: a typed error the proxies turn into an HTTP answer.

A :class:`FilterError` names the *place* (``body $.card.number``, ``form field card_number``,
``header X-Card``) and what is wrong there, never the value: a field an ENRICH entry reads
may hold a real card number a client sent by mistake, so no selected text is ever quoted.

Its ``status`` depends on the phase of the entry that failed: a request the proxy cannot
filter is the client's to fix (4xx); a response it cannot filter is the upstream's (502).

:func:`catalogue` lists every code with what it means and its usual fix (for
``vaultswitch explain`` and docs/troubleshooting.md).
"""

from __future__ import annotations

from typing import ClassVar, Literal

Phase = Literal["REQUEST", "RESPONSE"]
UPSTREAM_FAILED = 502
BACKEND_FAILED = "BACKEND_FAILED"


class FilterError(Exception):
    """A message an entry could not be applied to; ``code`` is stable, ``hint`` says a fix."""

    code: ClassVar[str]
    request_status: ClassVar[int] = 400
    meaning: ClassVar[str]
    default_hint: ClassVar[str]

    def __init__(self, detail: str, hint: str | None = None, phase: Phase = "REQUEST") -> None:
        self.detail = detail
        self.hint = hint if hint is not None else self.default_hint
        self.phase: Phase = phase
        super().__init__(detail)

    @property
    def status(self) -> int:
        """The HTTP status the proxy answers with (a failed response phase: 502)."""
        return self.request_status if self.phase == "REQUEST" else UPSTREAM_FAILED

    def __str__(self) -> str:
        return f"[{self.code}] {self.detail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, detail={self.detail!r})"


class AliasNotFound(FilterError):
    """Strict mode: an ENRICH entry selected aliases the vault does not hold."""

    code = "ALIAS_NOT_FOUND"
    meaning = (
        "Proxy, strict mode: a route's ENRICH entry found no stored value for what a field "
        "holds (an unknown alias, an alias of the other storage, or not an alias at all); the "
        "detail names the places, never their text."
    )
    default_hint = (
        "Send aliases this vault holds, in the storage the entry reveals from (its "
        "token_manager); outside strict mode unknown aliases pass through unchanged."
    )


class ValueNotRedactable(FilterError):
    """A REDACT entry selected a value its alias format cannot take (or not valid text)."""

    code = "INVALID_VALUE"
    meaning = (
        "Proxy: a route's REDACT entry selected a value its alias format does not take "
        "(e.g. FPE_SIX_T_FOUR needs 12-19 digits) or that is not UTF-8 text; the detail "
        "names the place."
    )
    default_hint = (
        "Send a value the entry's alias format takes, or give the entry a "
        "public_token_generator that takes any value (UUID)."
    )


class InvalidJsonBody(FilterError):
    """A JSON body (by Content-Type) that REDACT entries must read is not valid JSON."""

    code = "INVALID_JSON"
    meaning = (
        "Proxy: the body says it is JSON (Content-Type) and a REDACT entry must read it, but "
        "it is not valid UTF-8 JSON, so its card fields could not be found."
    )
    default_hint = "Send a valid JSON body, or a Content-Type that is not JSON."


class UnsupportedContentEncoding(FilterError):
    """A body entry applies to a body compressed in a way the filters cannot read."""

    code = "UNSUPPORTED_CONTENT_ENCODING"
    request_status = 415
    meaning = (
        "Proxy: a route entry must read a body compressed with a coding the filters cannot "
        "read (only gzip, x-gzip and deflate are read)."
    )
    default_hint = "Send the body uncompressed or as gzip or deflate."


class InvalidContentEncoding(FilterError):
    """A gzip / deflate body that does not decompress."""

    code = "INVALID_CONTENT_ENCODING"
    meaning = (
        "Proxy: a body a route entry must read does not decompress as its Content-Encoding says."
    )
    default_hint = "Send the body as the Content-Encoding header says, or uncompressed."


class BodyTooLarge(FilterError):
    """A body (once decompressed) larger than the filters' limit."""

    code = "BODY_TOO_LARGE"
    request_status = 413
    meaning = "Proxy: a compressed body a route entry must read is too large once decompressed."
    default_hint = "Send a smaller body."


class TooManyValues(FilterError):
    """More selected values in one message than the filters' limit."""

    code = "TOO_MANY_VALUES"
    request_status = 413
    meaning = "Proxy: a route's entries select more values in one message than the limit."
    default_hint = "Send fewer card fields in one message."


class InvalidHeaderValue(FilterError):
    """A revealed value that cannot be sent in a header (line breaks, NUL, outer spaces)."""

    code = "INVALID_HEADER_VALUE"
    meaning = (
        "Proxy: a value an ENRICH entry revealed into a header holds a line break or a NUL, "
        "or would leave white space at either end of the header, so it cannot be sent."
    )
    default_hint = "Store header values without line breaks or outer white space."


FILTER_ERRORS: tuple[type[FilterError], ...] = (
    AliasNotFound,
    ValueNotRedactable,
    InvalidJsonBody,
    InvalidHeaderValue,
    InvalidContentEncoding,
    TooManyValues,
    BodyTooLarge,
    UnsupportedContentEncoding,
)


def catalogue() -> tuple[tuple[str, int, str, str], ...]:
    """``(code, status, meaning, hint)`` of every error of the filters (request status; a
    response that cannot be filtered is answered with 502)."""
    rows = tuple((e.code, e.request_status, e.meaning, e.default_hint) for e in FILTER_ERRORS)
    return (
        *rows,
        (
            BACKEND_FAILED,
            UPSTREAM_FAILED,
            "Proxy: the alias backend answered fewer aliases than values it was sent, or no "
            "alias of the entry's format: a fault of the backend, not of the request.",
            "Retry; if it persists, look up the request id in the proxy's log: the vault's core "
            "answered something the proxy did not expect.",
        ),
    )
